"""The upstream node (``slapos node`` of slapos.core 1.26.1) driven from trial tests.

``Node`` lays out one node for one test in a short temp directory: a slapformat definition file
with partitions on 127.0.1.x, a ``slapos.cfg``, a copy of a test software release (its
``@RELEASE_DIR@`` placeholders replaced by the copy's path, since zc.buildout 6 has no
``${:_profile_base_location_}``), and runs the upstream commands through the reactor as the
unprivileged user ``slapgate-node`` (created if missing; the current user when the tests do not
run as root). Used by tests/e2e/test_slap_node_upstream.py and tests/e2e/test_memcached_demo.py.
"""

import ast
import glob
import json
import os
import pwd
import re
import shutil
import signal
import stat
import tempfile
import time

from twisted.internet import defer, error, protocol, reactor
from twisted.internet.task import deferLater
from twisted.trial import unittest

from tests.needs import declared
from tests.upstream import upstream_python

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


def remove_system_users(names):
    """Delete these users and their groups, as root-mode tests do before and after their run.

    An interrupted run can leave a group behind without its user, and useradd then refuses the
    name, so the groups are deleted too. Blocking, but only a few short commands at set-up and
    clean-up, outside any reactor work the test waits on.
    """
    import subprocess

    for name in names:
        subprocess.run(["userdel", name], capture_output=True, check=False)
        subprocess.run(["groupdel", name], capture_output=True, check=False)


def share_sources(tree, uid, gid):
    """Give ``tree`` to ``uid`` with group ``gid`` writable, as root-mode tests do with a release.

    The software user, then a partition user, run buildout from the release's tree, so its
    owner changes between the two steps.
    """
    for directory, names, files in os.walk(tree):
        for name in [directory] + [os.path.join(directory, n) for n in names + files]:
            os.chown(name, uid, gid)
            os.chmod(name, os.stat(name).st_mode | stat.S_IRWXG)


_eggs = {}  # recipe source directory -> the directory holding its eggs, built once


def recipe_eggs(recipe):
    """A directory holding eggs of the recipe project in ``recipe``, built on first use.

    One egg per interpreter that runs buildout here: the upstream venv's (``make upstream``, our
    agent's buildout) and the upstream node's Python 3.12 (``make node``) when present. Built
    from a copy, so the source tree gets no build leftovers; the directory is removed when the
    process exits. Blocking, about 0.2 s per interpreter, once per process.
    """
    if recipe not in _eggs:
        import atexit
        import subprocess

        from tests.upstream import PYTHON

        scratch = tempfile.mkdtemp(prefix="slapgate-eggs-")
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        build, dist = os.path.join(scratch, "src"), os.path.join(scratch, "dist")
        shutil.copytree(recipe, build, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
        node_python = os.path.join(NODE, "bin", "python3.12")
        for python in [PYTHON] + ([node_python] if os.access(node_python, os.X_OK) else []):
            done = subprocess.run([python, "setup.py", "-q", "bdist_egg", "-d", dist],
                                  cwd=build, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError("building the egg of %s with %s failed:\n%s"
                                   % (recipe, python, done.stderr))
        _eggs[recipe] = dist
    return _eggs[recipe]


def copy_release(source, target):
    """Copy the test release in ``source`` to ``target``; the URL of the copy's software.cfg.

    ``@RELEASE_DIR@`` in software.cfg becomes ``target`` (zc.buildout 6 has no
    ``${:_profile_base_location_}``); build leftovers (egg-info, bytecode) are not copied. A
    release that installs its recipe from ``find-links`` (tests/node_sr) gets the eggs of its
    ``recipe/`` project in ``dist/``; one that develops it (tests/memcached) needs none.
    """
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    software = os.path.join(target, "software.cfg")
    with open(software) as handle:
        text = handle.read()
    if "find-links" in text:
        shutil.copytree(recipe_eggs(os.path.join(source, "recipe")), os.path.join(target, "dist"))
    with open(software, "w") as handle:
        handle.write(text.replace("@RELEASE_DIR@", target))
    return software


# The computer as the upstream slap library reads it (slapgrid's getFullComputerInformation),
# printed as JSON; run under the upstream venv's python.
VIEW = r"""
import json, sys, warnings
from slapos import slap
from slapos.slap import NotFoundError
warnings.simplefilter("ignore")  # urllib3's InsecureRequestWarning: the library never verifies
credentials = sys.argv[3:5] or [None, None]
client = slap.slap()
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


class CollectOutput(protocol.ProcessProtocol):
    """Collects a process's output; fires ``done`` with (text, exit code)."""

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

    def __init__(self, testcase, master_url, release_dir=NODE_SR, partitions=PARTITIONS,
                 credentials=None):
        declared(testcase, "node")
        declared(testcase, "upstream")
        self.testcase = testcase
        # For an HTTPS master: {"computer": CertificateView, "user": CertificateView}.
        self.credentials = credentials
        self.view_credentials = []
        self.release_dir = release_dir
        self.partitions = partitions
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
        copy_release(self.release_dir, self.sr_dir)
        path = lambda *parts: os.path.join(self.base, *parts)
        tls = console = ""
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
            console = (f"\n[slapconsole]\nkey_file = {files['user']['key_file']}\n"
                       f"cert_file = {files['user']['cert_file']}\n")
            self.view_credentials = [files["computer"]["key_file"],
                                     files["computer"]["cert_file"]]
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
partition_amount = {self.partitions}
alter_user = false
alter_network = false
create_tap = false
create_tun = false
computer_xml = {path("etc", "computer.xml")}
partition_has_ipv6_range = false
{console}""")
        with open(path("etc", "definition.cfg"), "w") as handle:
            handle.write("[computer]\naddress = 127.0.0.1/255.255.255.255\n")
            for i in range(self.partitions):
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
        collector = CollectOutput(done)
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
        """``slapos node <command> --now``: its output."""
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
    def request(self, title, parameters, *arguments):
        """``slapos request <title> <sr> --parameters k=v … <arguments>``: state, connection."""
        pairs = ["%s=%s" % item for item in parameters.items()]
        output = yield self.slapos("request", title, self.sr, "--parameters", *pairs,
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

    def stop_everything(self):
        """Stop supervisord (and so its programs), then any process still running in our tree."""
        return stop_tree(self.base, self.instance_root)


def _alive(pid):
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def supervisord_pid(instance_root):
    """The pid in supervisord's pid file under ``instance_root``, or None."""
    try:
        with open(os.path.join(instance_root, "var", "run", "supervisord.pid")) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def processes_in_tree(base):
    """Processes whose working directory is ``base`` or inside it."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                cwd = os.readlink("/proc/%s/cwd" % entry)
            except OSError:
                continue
            if cwd == base or cwd.startswith(base + os.sep):
                found.append(int(entry))
    return found


@defer.inlineCallbacks
def kill_until_gone(find, steps):
    """For each (signal, seconds) of ``steps``: signal the live processes ``find()`` names (and
    those the step before left alive), then wait up to that long for them to end."""
    left = []
    for sig, wait in steps:
        alive = [pid for pid in set(left + find()) if _alive(pid)]
        for pid in alive:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while [pid for pid in alive if _alive(pid)] and time.monotonic() < deadline:
            yield deferLater(reactor, 0.1, lambda: None)
        left = [pid for pid in alive if _alive(pid)]


def stop_tree(base, instance_root):
    """SIGTERM (then SIGKILL) supervisord of ``instance_root`` and every process in ``base``."""
    def find():
        return [pid for pid in [supervisord_pid(instance_root)] if pid] + processes_in_tree(base)

    return kill_until_gone(find, ((signal.SIGTERM, 10.0), (signal.SIGKILL, 2.0)))


