"""A throwaway OpenLDAP slapd for a test: ``ldap/throwaway-slapd`` on 127.0.0.1, stopped after.

The directory holds ``ldap/sample.ldif`` (alice in slapgate-admins, bob in slapgate-operators,
carol only in slapgate-users, dave in no group; passwords ``<login>-secret``).
"""

import os
import signal
import socket

from twisted.internet import defer, reactor
from twisted.trial import unittest

from tests.upstream import _Process, _free_port
from tests.waiting import until

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "ldap", "throwaway-slapd")
SUFFIX = "dc=example,dc=org"
SERVICE_DN = "cn=slapgate,ou=services," + SUFFIX
SERVICE_PASSWORD = "slapgate-secret"


def slapd_installed():
    """Whether Debian's slapd is here (``make test`` installs it)."""
    return os.access("/usr/sbin/slapd", os.X_OK)


class ThrowawaySlapd:
    """A running throwaway slapd: its URL, and the means to stop, pause and resume it."""

    def __init__(self, port, directory, process, transport):
        self.port, self.directory = port, directory
        self.process, self.transport = process, transport
        self.url = "ldap://127.0.0.1:%d" % port

    def slapd_pid(self):
        """The pid of slapd itself (the script is its parent)."""
        with open(os.path.join(self.directory, "slapd.pid")) as pid:
            return int(pid.read().strip())

    def pause(self):
        """SIGSTOP slapd: connections are accepted by the kernel but never answered."""
        os.kill(self.slapd_pid(), signal.SIGSTOP)

    def resume(self):
        """SIGCONT a paused slapd."""
        os.kill(self.slapd_pid(), signal.SIGCONT)

    @defer.inlineCallbacks
    def stop(self):
        """Stop slapd (and its script); waits for the end."""
        if self.process.ended.called:
            return
        try:
            self.resume()
        except (OSError, ValueError):
            pass
        self.transport.signalProcess("TERM")
        yield self.process.ended


@defer.inlineCallbacks
def start_slapd(testcase, deadline=20):
    """Start a throwaway slapd for ``testcase`` (stopped when it ends); skips without slapd."""
    if not slapd_installed():
        message = "Debian's slapd is not installed (make test installs it)"
        if os.environ.get("CI"):
            testcase.fail(message)
        raise unittest.SkipTest(message)
    directory = os.path.abspath(testcase.mktemp())
    port = _free_port()
    process = _Process()
    transport = reactor.spawnProcess(process, SCRIPT, [SCRIPT, str(port), directory],
                                     env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    server = ThrowawaySlapd(port, directory, process, transport)
    testcase.addCleanup(server.stop)  # the script removes its directory when slapd ends

    def listening():
        if process.ended.called:
            testcase.fail("slapd ended at once: %s" % process.output.decode("utf-8", "replace"))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return os.path.exists(os.path.join(directory, "slapd.pid"))
        except OSError:
            return False

    yield until(listening, deadline, lambda: "slapd did not listen: %s"
                % process.output.decode("utf-8", "replace"), step=0.1)
    return server
