"""Files the node agent keeps up to date: written only when their text changes, never half."""

import os
import stat


def read_text(path):
    """The text of the file at ``path``, or None when it cannot be read."""
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def remove(path):
    """Remove the file at ``path`` if it is there."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def write_if_changed(path, text, mode=0o600, uid=None, gid=None):
    """Replace the file at ``path`` by ``text`` (mode ``mode``, owned by uid/gid when given)
    unless it already holds it (then only its mode and owner are put right); whether it was
    written. A new file is renamed into place, so a reader never sees half a key."""
    if read_text(path) == text:
        info = os.stat(path)
        if stat.S_IMODE(info.st_mode) != mode:
            os.chmod(path, mode)
        if uid is not None and (info.st_uid, info.st_gid) != (uid, gid):
            os.chown(path, uid, gid)
        return False
    temporary = "%s.%d.tmp" % (path, os.getpid())
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        if uid is not None:
            os.chown(temporary, uid, gid)
        os.rename(temporary, path)
    except BaseException:
        remove(temporary)
        raise
    return True
