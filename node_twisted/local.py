"""A rootless node beside a local master (``make run``): its ``slapos.cfg``.

``python -m node_twisted.local DIR MASTER_URL BUILDOUT`` writes ``DIR/slapos.cfg`` unless it
exists: computer ``COMP-0`` with :data:`PARTITIONS` partitions on 127.0.2.x under ``DIR/inst``,
releases under ``DIR/soft``, built with ``BUILDOUT``. ``slapgate master --node DIR/slapos.cfg``
then runs the agent in the master's process. An existing file is kept as it is (its partitions
and any edit), except that its ``master_url`` follows the master: ``make run LISTEN=...`` on
another port moves the node with it, and says so.
"""

import os
import re
import sys

COMPUTER = "COMP-0"
PARTITIONS = 10
_MASTER_URL = re.compile(r"^master_url\s*[=:]\s*(.*)$", re.MULTILINE)


def configuration(directory, master_url, buildout):
    """The text of the local node's ``slapos.cfg``."""
    directory = os.path.abspath(directory)
    return (
        "[slapos]\n"
        "computer_id = %(computer)s\n"
        "master_url = %(master_url)s\n"
        "software_root = %(dir)s/soft\n"
        "instance_root = %(dir)s/inst\n"
        "buildout = %(buildout)s\n"
        "cycle_interval = 10\n"
        "root_check = False\n\n"
        "[slapformat]\n"
        "partition_amount = %(partitions)d\n"
        "ipv4_local_network = 127.0.2.0/24\n"
        "computer_xml = %(dir)s/computer.xml\n"
        "alter_user = false\n"
        "alter_network = false\n"
        "create_tap = false\n"
        % {"computer": COMPUTER, "master_url": master_url, "dir": directory,
           "buildout": os.path.abspath(buildout), "partitions": PARTITIONS})


def write_or_follow(directory, master_url, buildout):
    """Write ``directory/slapos.cfg`` unless it exists, else point its ``master_url`` at
    ``master_url``; (its path, the master_url it had when that changed, else None)."""
    path = os.path.join(directory, "slapos.cfg")
    if not os.path.exists(path):
        os.makedirs(directory, exist_ok=True)
        with open(path, "w") as handle:
            handle.write(configuration(directory, master_url, buildout))
        return path, None
    with open(path) as handle:
        text = handle.read()
    found = _MASTER_URL.search(text)
    if found is not None and found.group(1).strip() == master_url:
        return path, None
    if found is None:
        text = text.replace("[slapos]\n", "[slapos]\nmaster_url = %s\n" % master_url, 1)
    else:
        text = text[:found.start()] + "master_url = %s" % master_url + text[found.end():]
    with open(path, "w") as handle:
        handle.write(text)
    return path, (found.group(1).strip() if found is not None else "")


def main(argv):
    """The command: prints the configuration's path, and a line when its master moved."""
    if len(argv) != 3:
        sys.exit("usage: python -m node_twisted.local DIR MASTER_URL BUILDOUT")
    path, was = write_or_follow(*argv)
    if was is not None:
        print("%s: master_url is now %s (was %s)" % (path, argv[1], was or "not set"))
    print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
