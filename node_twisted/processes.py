"""Subprocesses of the node (buildout, promises, report scripts), spawned through the reactor.

Each run collects its merged output (the last :data:`OUTPUT_LIMIT` bytes), and may be given a
timeout after which its process group is killed. The environment is cleaned the way slapgrid
cleans it (spec section 5.2), so the node's own virtualenv does not leak into buildout.
"""

import dataclasses
import os
import shutil
import signal

from twisted.internet import defer, error, protocol

OUTPUT_LIMIT = 1 << 20
_DROPPED = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV",
            "CONFIG_SITE", "ENV", "LOGNAME", "TEMP", "TMP", "TMPDIR", "LANG", "LANGUAGE")


@dataclasses.dataclass
class ProcessResult:
    """How a subprocess ended: exit code (None when killed by a signal), output, timed out."""

    argv: list
    exit_code: int | None
    output: str
    timed_out: bool = False

    @property
    def ok(self):
        """Whether it exited 0 in time."""
        return self.exit_code == 0 and not self.timed_out

    def tail(self, size=4000):
        """The last ``size`` characters of the output."""
        return self.output[-size:]


def clean_environment(home, extra=None):
    """The caller's environment minus Python/locale variables, with ``HOME`` = ``home``."""
    env = {key: value for key, value in os.environ.items()
           if key not in _DROPPED and not key.startswith(("LC_", "SLAPGRID", "SLAPOS"))}
    env["HOME"] = home
    env["PYTHONNOUSERSITE"] = "true"
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    if extra:
        env.update(extra)
    return env


class _Collector(protocol.ProcessProtocol):
    def __init__(self, argv, done, output=None):
        self.argv = argv
        self.output = output
        self.done = done
        self.chunks = []
        self.size = 0
        self.timed_out = False

    def outReceived(self, data):
        if self.output is not None:
            self.output(data)
        self.chunks.append(data)
        self.size += len(data)
        while self.size > OUTPUT_LIMIT and len(self.chunks) > 1:
            self.size -= len(self.chunks.pop(0))

    errReceived = outReceived

    def processEnded(self, reason):
        output = b"".join(self.chunks).decode("utf-8", "replace")
        code = reason.value.exitCode if isinstance(reason.value, (error.ProcessDone,
                                                                  error.ProcessTerminated)) else None
        if not self.done.called:
            self.done.callback(ProcessResult(self.argv, code, output, self.timed_out))


# setsid gives the run its own process group (so a timeout kills buildout's children too); the
# shell sets slapgrid's umask.
SETSID = shutil.which("setsid") or "/usr/bin/setsid"
_WRAPPER = 'umask 027; exec "$@"'


def run(reactor, argv, cwd, env, timeout=None, uid=None, gid=None, output=None):
    """Run ``argv`` in ``cwd``; a Deferred firing with a :class:`ProcessResult` (never failing).

    A program that cannot be started gives exit code 127 and the reason as output. ``output``,
    when given, is called with each chunk of output as it arrives (bytes).
    """
    done = defer.Deferred()
    collector = _Collector(list(argv), done, output)
    kwargs = {}
    if uid is not None and uid != os.getuid():
        kwargs.update(uid=uid, gid=gid)
    wrapped = [SETSID, "/bin/sh", "-c", _WRAPPER, "sh"] + list(argv)
    try:
        transport = reactor.spawnProcess(collector, wrapped[0], wrapped, env=env, path=cwd,
                                         **kwargs)
    except OSError as failure:
        return defer.succeed(ProcessResult(list(argv), 127, "cannot start %s: %s" % (
            argv[0], failure)))
    pid = transport.pid
    timer = None

    def expire():
        collector.timed_out = True
        for target in (lambda s: os.killpg(pid, s), lambda s: os.kill(pid, s)):
            try:
                target(signal.SIGKILL)
            except OSError:
                pass

    if timeout:
        timer = reactor.callLater(timeout, expire)

    def finished(result):
        if timer is not None and timer.active():
            timer.cancel()
        return result

    return done.addBoth(finished)
