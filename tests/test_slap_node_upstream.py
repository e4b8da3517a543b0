"""Upstream ``slapos node format|software|instance|report`` (slapos.core 1.26.1), two masters.

The upstream node runs from ``/opt/slapgate/node-py312`` (a Python 3.12 copy, ``make node``) as
subprocesses spawned through the reactor, as an unprivileged user (``slapgate-node``, created if
missing; the current user when the tests do not run as root), with the partitions of a slapformat
definition file on 127.0.1.x. The test software release in tests/node_sr/ goes through its whole
life: format, supply, request, build, deploy (a process under supervisord, a promise, published
connection parameters, a child instance), stop, destroy, free, remove.

The same node commands run against a slapgate master started in this process with
``insecure_loopback`` on 127.0.0.1, against one serving HTTPS only to holders of its
certificates (the computer's for the node, the partitions' fetched into the node's certificate
repository, a user's for the client), and against upstream slapproxy (``slapos proxy start``
from ``.venv-upstream``). What both must show is checked through what the node and the upstream
client observe (exit codes, files, supervisord states from ``slapos node status``, ``slapos
request`` output, the computer as the upstream slap library reads it), so the scenario tests the
protocol and not our reading of it; slapgate's own bookkeeping is checked through its core.
"""

import ast
import glob
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import tempfile
import time

from twisted.internet import defer, error, protocol, reactor
from twisted.internet.task import deferLater
from twisted.trial import unittest

from gateway.server import local_admin
from tests.fixtures import start_test_master
from tests.upstream import start_slapproxy, upstream_python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Outside the clone: the node runs as an unprivileged user, who must reach the interpreter
# wherever the repository was cloned (``make node`` installs it there).
NODE = os.environ.get("SLAPGATE_TEST_NODE", "/opt/slapgate/node-py312")
SLAPOS = os.path.join(NODE, "bin", "slapos")
NODE_SR = os.path.join(ROOT, "tests", "node_sr")
USER = "slapgate-node"
# slapproxy's default computer (start_slapproxy configures ``computer_id = COMP-0``): slapproxy
# allocates requests without a computer_guid (``slapos request``, the recipe's child) on it only.
COMPUTER = "COMP-0"
PARTITIONS = 3


def python312_present():
    """Whether a Python 3.12 interpreter exists to build the node copy from."""
    if shutil.which("python3.12") or os.environ.get("NODE_PYTHON"):
        return True
    return bool(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))


def require_node(testcase):
    """Skip without Python 3.12 (outside CI); fail when the node venv is missing."""
    if os.access(SLAPOS, os.X_OK):
        return
    if not python312_present():
        message = "Python 3.12 is absent: upstream `slapos node` commands need it"
        if os.environ.get("CI"):
            testcase.fail(message)
        raise unittest.SkipTest(message)
    testcase.fail("upstream node missing: %s (`make node` builds it with slapos.core "
                  "1.26.1 on Python 3.12)" % SLAPOS)


# The computer as the upstream slap library reads it (slapgrid's getFullComputerInformation),
# printed as JSON; run under the upstream venv's python.
VIEW = r"""
import json, sys, warnings
warnings.simplefilter("ignore")  # urllib3's InsecureRequestWarning: the library never verifies
from slapos import slap
from slapos.slap import NotFoundError
client = slap.slap()
credentials = sys.argv[3:5] or [None, None]
client.initializeConnection(sys.argv[1], key_file=credentials[0], cert_file=credentials[1])
computer = client.registerComputer(sys.argv[2])
partitions = []
for partition in computer.getComputerPartitionList():
    try:
        release = partition.getSoftwareRelease().getURI()
    except NotFoundError:
        release = None
    seen = {"id": partition.getId(), "state": partition.getState(), "release": release}
    if release is not None:
        parameters = partition.getInstanceParameterDict()
        seen.update(
            guid=partition.getInstanceGuid(), title=parameters.get("instance_title"),
            root=parameters.get("root_instance_title"), type=partition.getType(),
            parameters={k: v for k, v in parameters.items() if not k.startswith(("slap_", "ip_",
                        "full_", "instance_", "root_", "timestamp", "slave_"))},
            ip_list=parameters.get("ip_list"), timestamp=str(parameters.get("timestamp")),
            connection=partition.getConnectionParameterDict())
    partitions.append(seen)
json.dump({"software": [[s.getURI(), s.getState()] for s in computer.getSoftwareReleaseList()],
           "partitions": partitions}, sys.stdout)
"""

# The upstream CLI's log line prefix ("2025-01-01 12:00:00 slapos[123] INFO ").
LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(,\d+)? (\S+ )?[A-Z]+ ")


class _Collect(protocol.ProcessProtocol):
    def __init__(self, done):
        self.done = done
        self.output = []

    def outReceived(self, data):
        self.output.append(data)

    errReceived = outReceived

    def processEnded(self, reason):
        if not self.done.called:
            self.done.callback((b"".join(self.output).decode("utf-8", "replace"),
                                reason.value.exitCode))


class Node:
    """The upstream node's files, user and commands for one test."""

    def __init__(self, testcase, master_url, credentials=None):
        self.testcase = testcase
        # {"computer": CertificateView, "user": CertificateView} for an HTTPS master
        self.credentials = credentials
        self.base = tempfile.mkdtemp(prefix="slapgate-node-")  # short: supervisord's unix socket
        testcase.addCleanup(shutil.rmtree, self.base, ignore_errors=True)
        self.software_root = os.path.join(self.base, "software")
        self.instance_root = os.path.join(self.base, "instance")
        self.config = os.path.join(self.base, "etc", "slapos.cfg")
        self.sr_dir = os.path.join(self.base, "sr")
        self.sr = os.path.join(self.sr_dir, "software.cfg")
        self.master_url = master_url
        self.uid = self.gid = None

    @defer.inlineCallbacks
    def prepare(self):
        """Create the user if needed, the directories, the configuration and the SR copy."""
        if os.getuid() == 0:
            try:
                pwd.getpwnam(USER)
            except KeyError:
                output, code = yield self.run_raw(
                    ["useradd", "--system", "--user-group", "--no-create-home",
                     "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", USER],
                    as_root=True, timeout=60)
                if code:
                    self.testcase.fail("useradd %s failed (%s):\n%s" % (USER, code, output))
            entry = pwd.getpwnam(USER)
            self.uid, self.gid = entry.pw_uid, entry.pw_gid
            user = USER
        else:
            user = pwd.getpwuid(os.getuid()).pw_name
        for name in ("etc", "run", "home", "software", "instance"):
            os.makedirs(os.path.join(self.base, name))
        shutil.copytree(NODE_SR, self.sr_dir,
                        ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
        with open(self.sr) as handle:
            text = handle.read()
        with open(self.sr, "w") as handle:
            handle.write(text.replace("@NODE_SR@", self.sr_dir))
        path = lambda *parts: os.path.join(self.base, *parts)
        tls = ""
        if self.credentials:
            # The node authenticates with the computer's certificate and keeps the partitions'
            # in a repository; the client commands act as the user of [slapconsole].
            from gateway.cli import write_credentials

            files = {kind: write_credentials(path("etc"), kind, view)
                     for kind, view in self.credentials.items()}
            os.makedirs(path("etc", "pki"))
            tls = (f"key_file = {files['computer']['key_file']}\n"
                   f"cert_file = {files['computer']['cert_file']}\n"
                   f"certificate_repository_path = {path('etc', 'pki')}\n")
            self.view_credentials = [files["computer"]["key_file"],
                                     files["computer"]["cert_file"]]
            console = (f"\n[slapconsole]\nkey_file = {files['user']['key_file']}\n"
                       f"cert_file = {files['user']['cert_file']}\n")
        else:
            self.view_credentials = []
            console = ""
        with open(self.config, "w") as handle:
            handle.write(f"""\
[slapos]
software_root = {self.software_root}
instance_root = {self.instance_root}
master_url = {self.master_url}
computer_id = {COMPUTER}
{tls}root_check = False
pidfile_software = {path("run", "software.pid")}
pidfile_instance = {path("run", "instance.pid")}
pidfile_report = {path("run", "report.pid")}

[slapformat]
input_definition_file = {path("etc", "definition.cfg")}
partition_amount = {PARTITIONS}
alter_user = false
alter_network = false
create_tap = false
create_tun = false
computer_xml = {path("etc", "computer.xml")}
partition_has_ipv6_range = false
{console}""")
        with open(path("etc", "definition.cfg"), "w") as handle:
            handle.write("[computer]\naddress = 127.0.0.1/255.255.255.255\n")
            for i in range(PARTITIONS):
                handle.write(f"\n[partition_{i}]\naddress = 127.0.1.{i + 1}/255.255.255.255\n"
                             f"pathname = slappart{i}\nuser = {user}\nnetwork_interface =\n")
        if self.uid is not None:
            for directory, names, files in os.walk(self.base):
                for name in [directory] + [os.path.join(directory, n) for n in names + files]:
                    os.lchown(name, self.uid, self.gid)

    def environment(self):
        """The caller's environment minus Python/SlapOS/loader variables, HOME in the temp dir."""
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("PYTHON", "SLAPOS", "SLAPGRID", "VIRTUAL_ENV", "LD_"))}
        env["HOME"] = os.path.join(self.base, "home")
        if self.uid is not None:
            env["USER"] = env["LOGNAME"] = USER
        return env

    def run_raw(self, argv, timeout, as_root=False):
        """Spawn ``argv`` through the reactor; (output, exit code); killed after ``timeout`` s."""
        done = defer.Deferred()
        collector = _Collect(done)
        kwargs = {} if as_root or self.uid is None else {"uid": self.uid, "gid": self.gid}
        transport = reactor.spawnProcess(collector, argv[0], argv, env=self.environment(),
                                         path=self.base, **kwargs)

        def expire():
            if not done.called:
                try:
                    transport.signalProcess("KILL")
                except error.ProcessExitedAlready:
                    pass
                done.errback(AssertionError("%s timed out after %d s:\n%s" % (
                    " ".join(argv), timeout, b"".join(collector.output).decode(errors="replace"))))

        timer = reactor.callLater(timeout, expire)
        done.addBoth(lambda result: (timer.active() and timer.cancel(), result)[1])
        return done

    @defer.inlineCallbacks
    def slapos(self, *arguments, timeout=300, expect=0):
        """Run ``slapos <arguments> --cfg <config>``; its output, failing on another exit code."""
        output, code = yield self.run_raw([SLAPOS, *arguments, "--cfg", self.config], timeout)
        if expect is not None and code != expect:
            self.testcase.fail("slapos %s exited %s (expected %s):\n%s" % (
                " ".join(arguments), code, expect, output[-6000:]))
        return output

    def node(self, command, timeout=300, expect=0):
        return self.slapos("node", command, "--now", timeout=timeout, expect=expect)

    @defer.inlineCallbacks
    def view(self):
        """The computer as the upstream slap library sees it: {software, partitions}."""
        python = upstream_python(self.testcase)
        output, code = yield self.run_raw([python, "-c", VIEW, self.master_url, COMPUTER,
                                           *self.view_credentials], timeout=60, as_root=True)
        if code:
            self.testcase.fail("reading the computer with the upstream library failed:\n"
                               + output[-3000:])
        return json.loads(output)

    @defer.inlineCallbacks
    def request(self, *arguments):
        """``slapos request myinst <sr> --parameters name=alice …``: its state and connection."""
        output = yield self.slapos("request", "myinst", self.sr, "--parameters", "name=alice",
                                   *arguments, timeout=60)
        state = connection = None
        lines = [LOG_PREFIX.sub("", line) for line in output.splitlines()]
        for number, line in enumerate(lines):
            if line.startswith("State is : "):
                state = line[len("State is : "):].rstrip(".")
            elif line.endswith("Connection parameters of instance are:"):
                text = []
                for following in lines[number + 1:]:
                    if "You can rerun the command" in following:
                        break
                    text.append(following)
                connection = ast.literal_eval("\n".join(text).strip())
        if state is None or connection is None:
            self.testcase.fail("unexpected `slapos request` output:\n" + output)
        return state, connection

    @defer.inlineCallbacks
    def processes(self):
        """supervisord's processes as {name: state} (``slapos node status``)."""
        output = yield self.slapos("node", "status", timeout=60, expect=None)
        states = {}
        for line in output.splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[0].startswith("slappart"):
                states[fields[0]] = fields[1]
        return states

    @defer.inlineCallbacks
    def stop_everything(self):
        """Stop supervisord (and so its programs), then any process still running in our tree."""
        pidfile = os.path.join(self.instance_root, "var", "run", "supervisord.pid")
        pids = []
        try:
            with open(pidfile) as handle:
                pids.append(int(handle.read().strip()))
        except (OSError, ValueError):
            pass
        pids.extend(self._processes_in_tree())
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 2.0)):
            alive = [pid for pid in set(pids) if _alive(pid)]
            for pid in alive:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while [pid for pid in alive if _alive(pid)] and time.monotonic() < deadline:
                yield deferLater(reactor, 0.1, lambda: None)
            pids = [pid for pid in alive if _alive(pid)] + self._processes_in_tree()

    def _processes_in_tree(self):
        """Processes whose working directory is inside this node's temp directory."""
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    cwd = os.readlink("/proc/%s/cwd" % entry)
                except OSError:
                    continue
                if cwd == self.base or cwd.startswith(self.base + os.sep):
                    found.append(int(entry))
        return found


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class MasterChecks:
    """What one master shows beyond the shared checks, one method per step of the life cycle.

    ``view`` is the computer as the upstream library read it after the step (``Node.view``).
    """

    def __init__(self, testcase):
        self.testcase = testcase

    def formatted(self, node, view):
        pass

    def supplied(self, node, view):
        pass

    def requested(self, node, view):
        pass

    def built(self, node, view):
        pass

    def deployed(self, node, view):
        pass

    def stopped_once(self, node, processes):
        """``processes``: supervisord's after the first ``node instance`` of a stopped tree."""

    def stopped(self, node, view):
        pass

    def reported(self, node, busy):
        """``busy``: the partitions still holding an instance after each ``node report``."""

    def freed(self, node, view):
        pass

    def removing(self, node, view):
        pass

    def removed(self, node, view):
        pass


class SlapgateChecks(MasterChecks):
    """What slapgate's core records at each step (it follows the real master, spec 7)."""

    def __init__(self, testcase, running):
        super().__init__(testcase)
        self.master = running.master
        self.admin = local_admin()

    def information(self):
        return self.master.call("computer.information", self.admin, reference=COMPUTER)

    def instances(self):
        return {view.title: view for view in self.master.call("instance.list", self.admin)}

    def supplies(self):
        return [(s.url, s.desired_state, s.reported_state)
                for s in self.master.call("supply.list", self.admin, computer=COMPUTER)]

    def formatted(self, node, view):
        partitions = self.information().partitions
        self.testcase.assertEqual([p.reference for p in partitions],
                                  ["slappart%d" % i for i in range(PARTITIONS)])
        self.testcase.assertEqual([[a.address for a in p.addresses] for p in partitions],
                                  [["127.0.1.%d" % (i + 1)] for i in range(PARTITIONS)])
        self.testcase.assertEqual({p.instance for p in partitions}, {None})

    def supplied(self, node, view):
        self.testcase.assertEqual(self.supplies(), [(node.sr, "available", None)])

    def requested(self, node, view):
        root = self.instances()["myinst"]
        self.testcase.assertEqual((root.partition, root.state), ("slappart0", "started"))
        self.testcase.assertRegex(view["partitions"][0]["guid"], r"^SOFTINST-\d+$")

    def built(self, node, view):
        self.testcase.assertEqual(self.supplies(), [(node.sr, "available", "available")])

    def deployed(self, node, view):
        found = self.instances()
        root, child = found["myinst"], found["child0"]
        # both partitions reported started, none an error
        self.testcase.assertEqual([(v.status_text or "")[:7] for v in (root, child)],
                                  ["#access", "#access"])
        self.testcase.assertEqual(root.connection, {
            "greeting": "hello alice", "partition": "slappart0", "child-greeting": "hello child"})
        self.testcase.assertEqual((child.partition, child.software_type, child.requester),
                                  ("slappart1", "child", root.reference))
        self.testcase.assertEqual(child.connection,
                                  {"greeting": "hello child", "partition": "slappart1"})
        self.testcase.assertEqual(
            self.master.call("instance.get", self.admin, reference=root.reference).connection,
            root.connection)
        self.testcase.assertEqual([p["guid"] for p in view["partitions"][:2]],
                                  [root.reference, child.reference])

    def stopped_once(self, node, processes):
        # the tree's state changes with its root's: one node instance run stops everything
        self.testcase.assertEqual(processes, {})

    def reported(self, node, busy):
        # the child is freed by the first report run, the root by the second
        self.testcase.assertEqual(busy, [["slappart0"], [], []])

    def stopped(self, node, view):
        found = self.instances()
        self.testcase.assertEqual((found["myinst"].state, found["child0"].state),
                                  ("stopped", "stopped"))

    def freed(self, node, view):
        partitions = self.information().partitions
        self.testcase.assertEqual(
            [(p.reference, p.instance, p.state) for p in partitions],
            [("slappart%d" % i, None, "destroyed") for i in range(PARTITIONS)])
        self.testcase.assertEqual(self.instances(), {})

    def removing(self, node, view):
        self.testcase.assertEqual(self.supplies(), [(node.sr, "destroyed", "available")])

    def removed(self, node, view):
        self.testcase.assertEqual(self.supplies(), [])
        self.testcase.assertEqual(self.information().software, ())


class SlapproxyChecks(MasterChecks):
    """Where slapproxy answers its own way (spec 4.4), as the node and the library see it."""

    def requested(self, node, view):
        self.testcase.assertEqual(view["partitions"][0]["guid"], COMPUTER + "-slappart0")

    def deployed(self, node, view):
        self.testcase.assertEqual([p["guid"] for p in view["partitions"][:2]],
                                  [COMPUTER + "-slappart0", COMPUTER + "-slappart1"])

    def stopped_once(self, node, processes):
        # the child is stopped when the root's buildout re-requests it, after the node read its
        # partitions: still running until the next run
        self.testcase.assertEqual(processes, {"slappart1:sleeper": "RUNNING"})

    def reported(self, node, busy):
        # destroying the root marks its child destroyed ("Not destroying yet"), the node reads
        # that on its next run: child freed by the second report run, root by the third
        self.testcase.assertEqual(busy, [["slappart0", "slappart1"], ["slappart0"], []])


def _free(i):
    return {"id": "slappart%d" % i, "state": "destroyed", "release": None}


class UpstreamNodeTests(unittest.TestCase):
    """One release's whole life on one upstream node, once per master, observed from both sides."""

    timeout = 900

    def partition_files(self, node):
        return [sorted(os.listdir(os.path.join(node.instance_root, "slappart%d" % i)))
                for i in range(PARTITIONS)]

    @defer.inlineCallbacks
    def life_cycle(self, master_url, checks, credentials=None):
        """The same node commands against either master; ``checks`` adds what only it shows."""
        node = Node(self, master_url, credentials)
        yield node.prepare()
        self.addCleanup(node.stop_everything)

        # format: the computer and its (free) partitions registered on the master
        yield node.node("format")
        view = yield node.view()
        self.assertEqual(view, {"software": [],
                                "partitions": [_free(i) for i in range(PARTITIONS)]})
        self.assertEqual(self.partition_files(node), [[".slapos-resource"]] * PARTITIONS)
        checks.formatted(node, view)

        # supply and request with the upstream client
        yield node.slapos("supply", node.sr, COMPUTER)
        view = yield node.view()
        self.assertEqual(view["software"], [[node.sr, "available"]])
        checks.supplied(node, view)
        state, connection = yield node.request()
        self.assertEqual((state, connection), ("started", {}))
        view = yield node.view()
        root = view["partitions"][0]
        self.assertEqual(
            {key: root[key] for key in ("id", "state", "release", "title", "root", "type",
                                        "parameters", "ip_list", "connection")},
            {"id": "slappart0", "state": "started", "release": node.sr, "title": "myinst",
             "root": "myinst", "type": "default", "parameters": {"name": "alice"},
             "ip_list": [["slappart0", "127.0.1.1"]], "connection": {}})
        self.assertEqual(view["partitions"][1:], [_free(i) for i in range(1, PARTITIONS)])
        checks.requested(node, view)

        # node software: built, still supplied
        output = yield node.node("software", timeout=900)
        software_path = os.path.join(node.software_root, hashlib.md5(node.sr.encode()).hexdigest())
        self.assertTrue(os.path.exists(os.path.join(software_path, ".completed")), output)
        self.assertTrue(os.path.exists(os.path.join(software_path, "instance.cfg")), output)
        view = yield node.view()
        self.assertEqual(view["software"], [[node.sr, "available"]])
        checks.built(node, view)

        # node instance, three runs: root deployed, child requested, deployed, published
        for _ in range(3):
            output = yield node.node("instance")
        view = yield node.view()
        root, child, free = view["partitions"]
        self.assertEqual(free, _free(2))
        self.assertEqual((root["state"], root["title"], root["connection"]), (
            "started", "myinst",
            {"greeting": "hello alice", "partition": "slappart0", "child-greeting": "hello child"}))
        self.assertEqual(
            {key: child[key] for key in ("id", "state", "release", "title", "root", "type",
                                        "parameters", "ip_list", "connection")},
            {"id": "slappart1", "state": "started", "release": node.sr, "title": "child0",
             "root": "myinst", "type": "child", "parameters": {"name": "child"},
             "ip_list": [["slappart1", "127.0.1.2"]],
             "connection": {"greeting": "hello child", "partition": "slappart1"}})
        # the node is up to date with both partitions (it writes .timestamp after a good run)
        for seen in (root, child):
            with open(os.path.join(node.instance_root, seen["id"], ".timestamp")) as handle:
                self.assertEqual(handle.read(), seen["timestamp"], output)
        state, connection = yield node.request()
        self.assertEqual((state, connection), ("started", root["connection"]))
        processes = yield node.processes()
        self.assertEqual(processes, {"slappart0:sleeper": "RUNNING",
                                     "slappart1:sleeper": "RUNNING"})
        result_dir = os.path.join(node.instance_root, "slappart0", ".slapgrid", "promise", "result")
        self.assertTrue(os.listdir(result_dir), "no promise result in %s" % result_dir)
        checks.deployed(node, view)

        # stopped: node instance stops both processes; the first run may leave the child running
        # (slapproxy stops it when the root's buildout re-requests it, one run later)
        state, connection = yield node.request("--state", "stopped")
        self.assertEqual(state, "stopped")
        yield node.node("instance")
        processes = yield node.processes()
        checks.stopped_once(node, processes)
        yield node.node("instance")
        processes = yield node.processes()
        self.assertEqual(processes, {})
        view = yield node.view()
        self.assertEqual([p["state"] for p in view["partitions"]],
                         ["stopped", "stopped", "destroyed"])
        checks.stopped(node, view)

        # destroyed: node instance, then node report frees the child, then the root (the number
        # of report runs that takes differs, spec 4.4: three are enough for both masters)
        state, connection = yield node.request("--state", "destroyed")
        self.assertEqual(state, "destroyed")
        yield node.node("instance")
        busy = []
        for _ in range(3):
            yield node.node("report")
            view = yield node.view()
            busy.append([p["id"] for p in view["partitions"] if p["release"] is not None])
        checks.reported(node, busy)
        self.assertEqual(view, {"software": [[node.sr, "available"]],
                                "partitions": [_free(i) for i in range(PARTITIONS)]})
        # slapgrid wiped the two used partitions (slappart2 keeps what format wrote)
        self.assertEqual(self.partition_files(node), [[], [], [".slapos-resource"]])
        checks.freed(node, view)

        # removal: node software deletes the build and the supply goes away
        yield node.slapos("remove", node.sr, COMPUTER)
        view = yield node.view()
        self.assertEqual(view["software"], [[node.sr, "destroyed"]])
        checks.removing(node, view)
        yield node.node("software")
        self.assertFalse(os.path.exists(software_path))
        view = yield node.view()
        self.assertEqual(view, {"software": [],
                                "partitions": [_free(i) for i in range(PARTITIONS)]})
        checks.removed(node, view)

    def test_upstream_node_life_cycle_against_slapgate(self):
        require_node(self)
        running = start_test_master(self, insecure_loopback=True)
        return self.life_cycle(running.urls()[0] + "slap/", SlapgateChecks(self, running))

    def test_upstream_node_life_cycle_against_slapgate_over_https(self):
        """The same life over HTTPS: the node, its partitions and the client use certificates."""
        require_node(self)
        running = start_test_master(self, listen_tls=["127.0.0.1:0"])
        admin = local_admin()
        running.master.call("computer.create", admin, reference=COMPUTER)
        credentials = {
            "computer": running.master.call("certificate.issue", admin, kind="computer",
                                            computer=COMPUTER),
            "user": running.master.call("certificate.issue", admin, kind="user"),
        }
        checks = SlapgateChecks(self, running)
        result = self.life_cycle(running.https_urls()[0] + "slap/", checks, credentials)

        def partitions_used_their_certificates(passed):
            issued = running.master.call("certificate.list", admin, include_revoked=True)
            self.assertEqual(sorted(c.common_name for c in issued if c.kind == "partition"),
                             ["slappart0", "slappart1"])
            return passed

        return result.addCallback(partitions_used_their_certificates)

    @defer.inlineCallbacks
    def test_upstream_node_life_cycle_against_slapproxy(self):
        require_node(self)
        url = yield start_slapproxy(self)
        yield self.life_cycle(url, SlapproxyChecks(self))
