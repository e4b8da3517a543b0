"""Root mode of ``format``: the software user and one user per partition (spec section 5.7).

Users are made with ``groupadd``/``useradd``/``usermod`` run through the reactor. The software user
(``[slapformat] software_user``, ``slapsoft``) owns ``software_root``; each partition user owns its
partition and belongs to the software user's group, so it can read what releases built (slapgrid
builds with umask 027).
"""

import grp
import os
import pwd

from twisted.internet import defer

from node_twisted import processes


class UserError(Exception):
    """A user or group could not be created."""


def _exists(name, database):
    try:
        database(name)
    except KeyError:
        return False
    return True


@defer.inlineCallbacks
def _run(reactor, argv):
    result = yield processes.run(reactor, argv, "/", processes.clean_environment("/"),
                                 timeout=60)
    if not result.ok:
        raise UserError("%s failed (%s): %s" % (" ".join(argv), result.exit_code,
                                                result.tail(500)))


@defer.inlineCallbacks
def ensure_user(reactor, name, home, groups=()):
    """Create user ``name`` (with its own group, home ``home``) unless it exists; add ``groups``.

    Returns its (uid, gid).
    """
    if not _exists(name, pwd.getpwnam):
        yield _run(reactor, ["useradd", "--system", "--user-group", "--no-create-home",
                             "--home-dir", home, "--shell", "/bin/sh", name])
    for group in groups:
        if name not in grp.getgrnam(group).gr_mem:
            yield _run(reactor, ["usermod", "--append", "--groups", group, name])
    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


@defer.inlineCallbacks
def ensure_layout_users(reactor, configuration):
    """Create the software user and the partition users of a layout; chown their directories."""
    if os.getuid() != 0:
        raise UserError("alter_user = true needs root; set it to false for a rootless node")
    software_user = configuration["software_user"]
    uid, gid = yield ensure_user(reactor, software_user, configuration["software_root"])
    os.makedirs(configuration["software_root"], mode=0o755, exist_ok=True)
    os.chown(configuration["software_root"], uid, gid)
    for partition in configuration["partition_list"]:
        name = partition["user"]["name"]
        uid, gid = yield ensure_user(reactor, name, partition["path"], [software_user])
        os.makedirs(partition["path"], mode=0o750, exist_ok=True)
        os.chown(partition["path"], uid, gid)
