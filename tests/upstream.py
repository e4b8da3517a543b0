"""The upstream reference: slapos.core 1.26.1 in ``.venv-upstream``, run in a subprocess.

Tests describe sample values as Python expressions; the same text is evaluated here (with our
classes) and there (with ``slapos.slap.slap``'s), so outputs can be compared byte for byte.
``make test`` installs the reference; without it the comparisons skip, except under CI where a
missing reference is a failure.

Scenarios that compare masters also run upstream code against a live master: ``run_upstream``
runs the upstream interpreter through the reactor (so a master in this process keeps serving), and
``start_slapproxy`` starts upstream slapproxy (``slapos proxy start``) for a test.
"""

import base64
import functools
import json
import os
import signal
import socket
import subprocess

from twisted.internet import defer, error, protocol, reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from tests.waiting import until

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = os.path.join(ROOT, ".venv-upstream", "bin", "python")

SCRIPT = r"""
import base64, json, sys
from slapos.util import dumps, loads, dict2xml, xml2dict
from slapos.slap.slap import Computer, ComputerPartition, SoftwareRelease, SoftwareInstance

def with_attributes(obj, **attributes):
    for name, value in attributes.items():
        setattr(obj, name, value)
    return obj

NAMESPACE = dict(Computer=Computer, ComputerPartition=ComputerPartition,
                 SoftwareRelease=SoftwareRelease, SoftwareInstance=SoftwareInstance,
                 with_attributes=with_attributes)

def attempt(function, argument, encode):
    try:
        return {"ok": encode(function(argument))}
    except Exception as error:
        return {"error": "%s: %s" % (type(error).__name__, error)}

request = json.load(sys.stdin)
evaluate = lambda expression: eval(expression, dict(NAMESPACE))
b64 = lambda data: base64.b64encode(data).decode()
json.dump({
    "dumps": [attempt(lambda e: dumps(evaluate(e)), e, b64) for e in request["dumps"]],
    "loads": [attempt(lambda d: loads(d.encode()), d, repr) for d in request["loads"]],
    "dict2xml": [attempt(lambda e: dict2xml(evaluate(e)), e, str) for e in request["dict2xml"]],
    "xml2dict": [attempt(xml2dict, d, repr) for d in request["xml2dict"]],
}, sys.stdout)
"""


def with_attributes(obj, **attributes):
    """Our counterpart of the script's helper: add attributes to a SlapObject."""
    obj.attributes.update(attributes)
    return obj


@functools.lru_cache(maxsize=None)
def _run(payload):
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("PYTHON", "SLAPGRID"))}
    return subprocess.run([PYTHON, "-c", SCRIPT], input=payload, capture_output=True, text=True,
                          timeout=120, env=environment)


def upstream_python(testcase):
    """The upstream venv's interpreter; skips ``testcase`` when missing (fails it under CI)."""
    if not os.access(PYTHON, os.X_OK):
        message = ("upstream reference missing: %s (make .venv-upstream/.installed installs "
                   "slapos.core 1.26.1)" % PYTHON)
        if os.environ.get("CI"):
            testcase.fail(message)
        raise unittest.SkipTest(message)
    return PYTHON


def upstream_env():
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}


@defer.inlineCallbacks
def run_upstream(testcase, *arguments):
    """Run the upstream interpreter with ``arguments``; returns its JSON output or fails."""
    out, err, code = yield getProcessOutputAndValue(
        upstream_python(testcase), list(arguments), env=upstream_env())
    if code != 0:
        raise AssertionError("upstream script failed (%d):\n%s" % (code, err.decode()))
    return json.loads(out.decode())


def reference(testcase, dumps=(), loads=(), dict2xml=(), xml2dict=()):
    """What upstream answers for each sample, as ``{"ok": result}`` or ``{"error": text}``.

    ``dumps`` and ``dict2xml`` are expressions to evaluate and serialize (dumps results are bytes),
    ``loads`` and ``xml2dict`` are documents to parse (results are the repr of the value). One
    subprocess per distinct request, cached for the whole run.
    """
    upstream_python(testcase)
    payload = json.dumps({"dumps": list(dumps), "loads": list(loads),
                          "dict2xml": list(dict2xml), "xml2dict": list(xml2dict)})
    process = _run(payload)
    if process.returncode:
        testcase.fail("the upstream reference failed:\n" + process.stderr[-3000:])
    answer = json.loads(process.stdout)
    for result in answer["dumps"]:
        if "ok" in result:
            result["ok"] = base64.b64decode(result["ok"])
    return answer


# Run the command in a new session, so that cleanup can signal its whole process group.
IN_NEW_SESSION = "import os, sys; os.setsid(); os.execv(sys.argv[1], sys.argv[1:])"


class _Process(protocol.ProcessProtocol):
    """Collects a child's output and tells when it ended."""

    def __init__(self):
        self.output = b""
        self.ended = defer.Deferred()

    def outReceived(self, data):
        self.output += data

    errReceived = outReceived

    def processEnded(self, reason):
        self.ended.callback(reason.value)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _signal_group(group, signum):
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass


@defer.inlineCallbacks
def _stop(group, process):
    """SIGTERM the process group, SIGKILL it if it has not ended within 10 s."""
    _signal_group(group, signal.SIGTERM)
    try:
        yield process.ended.addTimeout(10, reactor)
    except defer.TimeoutError:
        _signal_group(group, signal.SIGKILL)
        process.ended = defer.Deferred()  # addTimeout cancelled the first one
        yield process.ended
    _signal_group(group, signal.SIGKILL)  # any child left behind in the group


@defer.inlineCallbacks
def start_slapproxy(testcase, deadline=30, attempts=3):
    """Upstream ``slapos proxy start`` on a free port (spec 4.1); returns its master URL.

    Its default (and only) computer is ``COMP-0``; it has no partition until formatted.
    Waits until GET getRunId answers 200 (or fails after ``deadline`` seconds); the proxy and its
    children are stopped when the test ends. A port taken between probing and binding is retried.
    """
    from tests.fixtures import http_client

    slapos = os.path.join(os.path.dirname(PYTHON), "slapos")
    if not os.access(slapos, os.X_OK):
        message = ("upstream slapproxy missing: %s (make .venv-upstream/.installed installs "
                   "slapos.core 1.26.1 and slapos.libnetworkcache); not comparing with slapproxy"
                   % slapos)
        if os.environ.get("CI"):
            testcase.fail(message)
        raise unittest.SkipTest(message)
    python = upstream_python(testcase)
    client = http_client(testcase)
    for attempt in range(attempts):
        directory = os.path.abspath(testcase.mktemp())
        os.makedirs(directory)
        port = _free_port()
        configuration = os.path.join(directory, "slapos.cfg")
        with open(configuration, "w") as cfg:
            cfg.write("[slapos]\ncomputer_id = COMP-0\n\n[slapproxy]\nhost = 127.0.0.1\n"
                      "port = %d\ndatabase_uri = %s\n"
                      % (port, os.path.join(directory, "proxy.db")))
        process = _Process()
        transport = reactor.spawnProcess(
            process, python,
            [python, "-c", IN_NEW_SESSION, slapos, "proxy", "start", "--cfg", configuration],
            env=upstream_env(), path=directory)
        testcase.addCleanup(_stop, transport.pid, process)
        url = "http://127.0.0.1:%d/" % port

        @defer.inlineCallbacks
        def answers(url=url, process=process):
            if process.ended.called:
                return "ended"
            try:
                response = yield client.get(url + "getRunId", timeout=5)
                yield response.content()
                return response.code == 200 and "ready"
            except (error.ConnectError, error.TimeoutError, defer.CancelledError):
                return False

        state = yield until(answers, deadline, lambda: "slapproxy did not answer %sgetRunId:\n%s"
                            % (url, process.output.decode(errors="replace")), step=0.1)
        if state == "ready":
            return url
        if b"Address already in use" not in process.output or attempt == attempts - 1:
            testcase.fail("slapproxy exited early:\n" + process.output.decode(errors="replace"))
