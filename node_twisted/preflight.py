"""What ``slapgate node`` needs before its first cycle, checked at start.

A node that lacks one of them refuses to start and says what is missing, rather than failing
every build cycle after cycle: the programs it will run (``buildout``, ``supervisord``), the
directories it works in (there, or creatable, and writable by the user running it; in root mode
owned by whom the builds run as), and root for ``alter_user``.
"""

import os
import shutil
import sys


def _program(key, path):
    """A problem with the program ``key`` names, or None."""
    if os.sep in path:
        if not os.path.exists(path):
            return "[slapos] %s = %s: no such file" % (key, path)
        if os.path.isdir(path) or not os.access(path, os.X_OK):
            return "[slapos] %s = %s: not an executable file" % (key, path)
        return None
    if shutil.which(path) is None:
        return ("[slapos] %s: %r is neither beside this Python (%s) nor on PATH (%s); install "
                "it or set %s to its path" % (key, path, os.path.dirname(sys.executable),
                                               os.environ.get("PATH", ""), key))
    return None


def _directory(key, path):
    """A problem with the directory ``path`` (made by the agent when missing), or None."""
    if os.path.lexists(path) and not os.path.isdir(path):
        return "[slapos] %s = %s: not a directory" % (key, path)
    existing = path
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return "[slapos] %s = %s: cannot be created, %s is not a directory" % (key, path,
                                                                                existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        info = os.stat(existing)
        verb = "is" if existing == path else "cannot be created: %s is" % existing
        return ("[slapos] %s = %s: %s not writable by uid %d (owner uid %d, mode 0%o)"
                % (key, path, verb, os.getuid(), info.st_uid, info.st_mode & 0o7777))
    return None


def problems(config):
    """What stops the node of ``config`` (a NodeConfig) from working: a list of sentences, empty
    when nothing does."""
    found = [_program("buildout", config.buildout)]
    if not config.forbid_supervisord_automatic_launch:
        found.append(_program("supervisord", config.supervisord))
    directories = [("software_root", config.software_root),
                   ("instance_root", config.instance_root)]
    if config.certificate_repository_path:
        directories.append(("certificate_repository_path", config.certificate_repository_path))
    found += [_directory(key, path) for key, path in directories]
    if config.format.alter_user and os.getuid() != 0:
        found.append("[slapformat] alter_user = true creates a user per partition: run the node "
                     "as root, or set alter_user = false")
    if os.getuid() == 0 and os.path.isdir(config.software_root):
        owner = os.stat(config.software_root).st_uid
        if owner != 0 and not _owns_its_parts(config.software_root, owner):
            found.append("[slapos] software_root = %s belongs to uid %d, who builds the releases "
                         "in root mode, but holds entries of other users: give them to uid %d"
                         % (config.software_root, owner, owner))
    return [problem for problem in found if problem]


def _owns_its_parts(root, owner):
    """Whether every release directory directly in ``root`` belongs to ``owner``."""
    try:
        names = os.listdir(root)
    except OSError:
        return False
    return all(os.lstat(os.path.join(root, name)).st_uid == owner for name in names)
