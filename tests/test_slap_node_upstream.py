"""Upstream ``slapos node format|software|instance|report`` (slapos.core 1.26.1) against slapgate.

The master runs in this process with ``insecure_loopback`` on 127.0.0.1; the upstream node runs
from ``/opt/slapgate/node-py312`` (a Python 3.12 copy, ``make node``) as subprocesses spawned through the reactor,
as an unprivileged user (``slapgate-node``, created if missing; the current user when the tests do
not run as root), with the partitions of a slapformat definition file on 127.0.1.x. The test
software release in tests/node_sr/ goes through its whole life: format, supply, request, build,
deploy (a process under supervisord, a promise, published connection parameters, a child
instance), stop, destroy, free, remove.
"""

import glob
import hashlib
import os
import pwd
import shutil
import signal
import tempfile
import time

from twisted.internet import defer, error, protocol, reactor
from twisted.internet.task import deferLater
from twisted.trial import unittest

from gateway.config import load
from gateway.server import local_admin, start_master

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Outside the clone: the node runs as an unprivileged user, who must reach the interpreter
# wherever the repository was cloned (``make node`` installs it there).
NODE = os.environ.get("SLAPGATE_TEST_NODE", "/opt/slapgate/node-py312")
SLAPOS = os.path.join(NODE, "bin", "slapos")
NODE_SR = os.path.join(ROOT, "tests", "node_sr")
USER = "slapgate-node"
COMPUTER = "COMP-NODE"
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

    def __init__(self, testcase, master_url):
        self.testcase = testcase
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
        with open(self.config, "w") as handle:
            handle.write(f"""\
[slapos]
software_root = {self.software_root}
instance_root = {self.instance_root}
master_url = {self.master_url}
computer_id = {COMPUTER}
root_check = False
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
""")
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


def start(testcase, **settings):
    """A master on 127.0.0.1:0 with a fresh database; stopped when the test ends."""
    directory = os.path.abspath(testcase.mktemp())
    config = load(None, listen=["127.0.0.1:0"], database=os.path.join(directory, "m.sqlite"),
                  state_dir=os.path.join(directory, "state"), **settings)
    running = start_master(reactor, config)
    testcase.addCleanup(running.stop)
    return running


class UpstreamNodeTests(unittest.TestCase):
    """One release's whole life on one upstream node, observed from both sides."""

    timeout = 1500

    @defer.inlineCallbacks
    def test_upstream_node_deploys_stops_destroys_and_removes_a_release(self):
        require_node(self)
        running = start(self, insecure_loopback=True)
        master = running.master
        admin = local_admin()
        node = Node(self, running.urls()[0] + "slap/")
        yield node.prepare()
        self.addCleanup(node.stop_everything)

        def information():
            return master.call("computer.information", admin, reference=COMPUTER)

        def instances():
            return {view.title: view for view in master.call("instance.list", admin)}

        def supplies():
            return [(s.url, s.desired_state, s.reported_state)
                    for s in master.call("supply.list", admin, computer=COMPUTER)]

        # format: the computer and its partitions registered on the master
        yield node.node("format")
        partitions = information().partitions
        self.assertEqual([p.reference for p in partitions],
                         ["slappart%d" % i for i in range(PARTITIONS)])
        self.assertEqual([[a.address for a in p.addresses] for p in partitions],
                         [["127.0.1.%d" % (i + 1)] for i in range(PARTITIONS)])
        self.assertEqual({p.instance for p in partitions}, {None})

        # supply and request with the upstream client
        yield node.slapos("supply", node.sr, COMPUTER)
        self.assertEqual(supplies(), [(node.sr, "available", None)])
        yield node.slapos("request", "myinst", node.sr, "--parameters", "name=alice")
        root = instances()["myinst"]
        self.assertEqual((root.partition, root.state), ("slappart0", "started"))

        # node software: built, reported available
        output = yield node.node("software", timeout=900)
        software_path = os.path.join(node.software_root, hashlib.md5(node.sr.encode()).hexdigest())
        self.assertTrue(os.path.exists(os.path.join(software_path, ".completed")), output)
        self.assertTrue(os.path.exists(os.path.join(software_path, "instance.cfg")), output)
        self.assertEqual(supplies(), [(node.sr, "available", "available")])

        # node instance, three runs: root deployed, child requested, deployed, published
        for _ in range(3):
            output = yield node.node("instance")
        found = instances()
        root, child = found["myinst"], found["child0"]
        # both partitions reported started, none an error
        self.assertEqual([(v.status_text or "")[:7] for v in (root, child)],
                         ["#access", "#access"], output)
        self.assertEqual(root.connection, {"greeting": "hello alice", "partition": "slappart0",
                                           "child-greeting": "hello child"})
        self.assertEqual((child.partition, child.software_type, child.requester),
                         ("slappart1", "child", root.reference))
        self.assertEqual(child.connection, {"greeting": "hello child", "partition": "slappart1"})
        self.assertEqual(master.call("instance.get", admin, reference=root.reference).connection,
                         root.connection)
        processes = yield node.processes()
        self.assertEqual(processes, {"slappart0:sleeper": "RUNNING",
                                     "slappart1:sleeper": "RUNNING"})
        result_dir = os.path.join(node.instance_root, "slappart0", ".slapgrid", "promise", "result")
        self.assertTrue(os.listdir(result_dir), "no promise result in %s" % result_dir)

        # stopped: node instance stops both processes (the root's state rules the tree)
        yield node.slapos("request", "myinst", node.sr, "--parameters", "name=alice",
                          "--state", "stopped")
        yield node.node("instance")
        processes = yield node.processes()
        self.assertEqual(processes, {})
        found = instances()
        self.assertEqual((found["myinst"].state, found["child0"].state), ("stopped", "stopped"))

        # destroyed: node instance, then node report frees the child, then the root
        yield node.slapos("request", "myinst", node.sr, "--state", "destroyed")
        yield node.node("instance")
        for _ in range(2):
            yield node.node("report")
        partitions = information().partitions
        self.assertEqual([(p.reference, p.instance, p.state) for p in partitions],
                         [("slappart%d" % i, None, "destroyed") for i in range(PARTITIONS)])
        self.assertEqual(instances(), {})
        # slapgrid wiped the two used partitions (slappart2 keeps what format wrote)
        self.assertEqual([sorted(os.listdir(os.path.join(node.instance_root, "slappart%d" % i)))
                          for i in range(PARTITIONS)], [[], [], [".slapos-resource"]])

        # removal: node software deletes the build and the supply goes away
        yield node.slapos("remove", node.sr, COMPUTER)
        self.assertEqual(supplies(), [(node.sr, "destroyed", "available")])
        yield node.node("software")
        self.assertFalse(os.path.exists(software_path))
        self.assertEqual(supplies(), [])
        self.assertEqual(information().software, ())
