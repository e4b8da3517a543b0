"""Debian's SyncEvolution 2.0.0 as the tests' SyncML client: headless, no D-Bus, file stores.

:class:`SyncEvolution` configures one client (a peer ``ci`` whose ``addressbook`` is a directory
of vCard files, one per item, the file name being the device's item id) and runs syncs against
a master's ``/syncml``; every process is started with ``reactor.spawnProcess`` (through
``twisted.internet.utils``). The Debian build needs ``curl_callbacks.c`` preloaded (see there).
"""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from twisted.internet import defer, utils

HERE = Path(__file__).resolve().parent
SHIM_SOURCE = HERE / "curl_callbacks.c"


def available():
    """Why SyncEvolution cannot run here, or None when it can."""
    for program in ("syncevolution", "gcc"):
        if shutil.which(program) is None:
            return "%s is not installed (make system-packages installs it)" % program
    return None


@defer.inlineCallbacks
def shim():
    """The path of the preloaded shim, built with gcc once per source (cached under /tmp)."""
    source = SHIM_SOURCE.read_bytes()
    built = Path(tempfile.gettempdir()) / ("slapgate-curl-callbacks-%s.so"
                                           % hashlib.sha256(source).hexdigest()[:12])
    if not built.exists():
        partial = built.with_suffix(".%d.so" % os.getpid())
        out, err, code = yield utils.getProcessOutputAndValue(
            shutil.which("gcc"), ["-O2", "-shared", "-fPIC", "-o", str(partial),
                                  str(SHIM_SOURCE), "-ldl"], env=dict(os.environ))
        if code != 0:
            raise RuntimeError("gcc failed: %s" % err.decode(errors="replace"))
        os.replace(partial, built)
    return str(built)


class SyncEvolution:
    """One configured SyncEvolution client in ``work`` (a directory of its own)."""

    def __init__(self, work, url, user, password, uri="contacts", max_msg_size=None,
                 auth="basic"):
        self.auth = auth
        self.work = Path(work)
        self.url, self.user, self.password, self.uri = url, user, password, uri
        self.max_msg_size = max_msg_size
        self.data = self.work / "data" / "addressbook"
        self.logs = self.work / "logs"
        self.configured = False

    def environment(self):
        """The client's environment: its own HOME and XDG directories, no D-Bus."""
        home = self.work / "home"
        return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".local"),
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}

    @defer.inlineCallbacks
    def _syncevolution(self, *arguments, preload=None):
        env = self.environment()
        if preload:
            env["LD_PRELOAD"] = preload
        out, err, code = yield utils.getProcessOutputAndValue(
            shutil.which("syncevolution"), ["--daemon=no"] + list(arguments), env=env,
            path=str(self.work))
        return code, (out + err).decode("utf-8", "replace")

    @defer.inlineCallbacks
    def configure(self):
        """Write the client's configuration (once)."""
        for path in (self.data, self.logs, self.work / "home"):
            path.mkdir(parents=True, exist_ok=True)
        settings = ["syncURL=" + self.url, "username=" + self.user,
                    "password=" + self.password, "keyring=no", "enableWBXML=0",
                    "clientAuthType=" + self.auth, "preventSlowSync=0", "SyncMLVersion=1.2,NOCTCAP",
                    "RetryDuration=20", "RetryInterval=10", "logdir=" + str(self.logs),
                    "maxlogdirs=3", "printChanges=0", "dumpData=0"]
        if self.max_msg_size:
            settings.append("maxMsgSize=%d" % self.max_msg_size)
        code, output = yield self._syncevolution(
            "--configure", "--template", "SyncEvolution", *settings, "backend=file",
            "databaseFormat=text/vcard", "database=file://" + str(self.data), "uri=" + self.uri,
            "ci", "addressbook")
        if code != 0:
            raise RuntimeError("syncevolution --configure failed: %s" % output)
        self.configured = True

    @defer.inlineCallbacks
    def sync(self, mode="two-way"):
        """Run one sync; (exit status, output). 0: the client judged it successful."""
        if not self.configured:
            yield self.configure()
        preload = yield shim()
        result = yield self._syncevolution("--run", "--sync", mode, "ci", "addressbook",
                                           preload=preload)
        return result

    def cards(self):
        """{file name (the device's item id): vCard text} of the client's address book."""
        return {path.name: path.read_text("utf-8") for path in sorted(self.data.iterdir())}

    def write(self, name, text):
        """Put (or replace) a vCard file in the client's address book."""
        (self.data / name).write_text(text, "utf-8")

    def remove(self, name):
        """Delete a vCard file from the client's address book."""
        (self.data / name).unlink()
