"""The node agents side by side: slapgate's (``slapgate node``) and upstream ``slapos node``.

Each node has a slapgate master of its own (``slapgate master --insecure-loopback`` on a fresh
SQLite file), a computer of N partitions on loopback addresses of its own (slapgate's agent on
127.33.x.y, upstream's on 127.44.x.y) and the memcached demo release (tests/memcached/), supplied
and built before anything is timed. Three figures:

- **request to green**: N memcached instances requested at once through XML-RPC (each on its
  own port), then node cycles (``slapgate node --once``; ``slapos node instance --now``) until
  the master shows every instance reported started (``#access``, so its promise passed) with its
  connection published;
- **no-change cycle**: the same computer, nothing changed: one more cycle, several times, the
  two agents alternating;
- **change to action**: one instance's ``memory-mb`` changed on the master, the time until its
  service wrapper holds the new value. slapgate's agent runs its loop (it waits on the master's
  ``watchComputer``), each change made once the loop is idle; upstream's node is run by cron every minute, so its delay is modelled as
  the wait for the next run (uniform over 60 s: 30 s median, 60 s at worst) plus the measured
  ``slapos node instance`` that acts on the change.

The upstream node runs as the unprivileged user ``slapgate-node`` when this runs as root (as
tests/node_harness.py does); slapgate's agent runs rootless as the caller.
"""

import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path

from bench.harness import ROOT, BenchError, slapgate_master

MEMCACHED_SR = ROOT / "tests" / "memcached"
UPSTREAM_NODE = Path(os.environ.get("SLAPGATE_TEST_NODE", "/opt/slapgate/node-py312"))
UPSTREAM_BUILDOUT = ROOT / ".venv-upstream" / "bin" / "buildout"
NODE_USER = "slapgate-node"
COMPUTER = "COMP-BENCH"
CRON_INTERVAL = 60.0  # seconds: upstream's `slapos node instance` cron line runs every minute
AGENTS = ("slapgate", "upstream")
# 127.<this>.x.y: each node's partition addresses (SLAPGATE_BENCH_NODE_NETWORKS="55,66" moves
# them, for a second run beside a first)
NETWORK = dict(zip(AGENTS, (int(n) for n in os.environ.get(
    "SLAPGATE_BENCH_NODE_NETWORKS", "33,44").split(","))))


def address(agent, i):
    """The loopback address of partition ``i`` of ``agent``'s computer."""
    return "127.%d.%d.%d" % (NETWORK[agent], i // 250, i % 250 + 1)


def free_port(host, taken):
    """A TCP port free on ``host`` and not in ``taken`` (memcached binds it later)."""
    while True:
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
        if port not in taken:
            taken.add(port)
            return port


def copy_release(source, target):
    """Copy a test release to ``target``; the path of the copy's software.cfg.

    ``@RELEASE_DIR@`` becomes ``target`` (as tests/node_harness.copy_release does).
    """
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    software = Path(target) / "software.cfg"
    software.write_text(software.read_text().replace("@RELEASE_DIR@", str(target)))
    return str(software)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _processes(base, listening):
    """Pids working inside ``base``, or memcached listening on one of ``listening`` (host, port).
    """
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cwd = os.readlink("/proc/%s/cwd" % entry)
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                argv = handle.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        option = lambda name: argv[argv.index(name) + 1] if name in argv[:-1] else ""
        if cwd == base or cwd.startswith(base + os.sep) or (
                os.path.basename(argv[0]) == "memcached"
                and (option("-l"), option("-p")) in listening):
            found.append(int(entry))
    return found


class Node:
    """One node (either agent) with its master, directories, configuration and commands."""

    def __init__(self, run, agent, partitions, work):
        self.run, self.agent, self.partitions = run, agent, partitions
        self.base = str(Path(work) / ("%s-%d" % (agent, partitions)))
        self.instance_root = os.path.join(self.base, "inst")
        self.software_root = os.path.join(self.base, "soft")
        self.config = os.path.join(self.base, "slapos.cfg")
        self.release = None
        self.uid = self.gid = None
        self.master = self.xmlrpc_url = self.ports = None
        self.log = open(os.path.join(str(work), "%s-%d-node.log" % (agent, partitions)), "a")

    # -- set-up --

    def prepare(self):
        """The master, the files, the release built; the node formatted on the master."""
        name = "master for %s node (%d)" % (self.agent, self.partitions)
        database = Path(self.base + "-master.sqlite")
        self.master, url = slapgate_master(self.run, name, database)
        state = self.run.work / ("state-" + "".join(c if c.isalnum() else "-" for c in name))
        password = (state / "admin-password").read_text().strip()
        self.xmlrpc_url = url.replace("http://", "http://admin:%s@" % password) + "xmlrpc"
        self.master_url = url + "slap/"
        for name in ("etc", "run", "home", "soft", "inst"):
            os.makedirs(os.path.join(self.base, name))
        self.release = copy_release(MEMCACHED_SR, os.path.join(self.base, "sr"))
        definition = os.path.join(self.base, "etc", "definition.cfg")
        user = ""
        if self.agent == "upstream" and os.getuid() == 0:
            entry = self._node_user()
            self.uid, self.gid, user = entry.pw_uid, entry.pw_gid, NODE_USER
        elif self.agent == "upstream":
            user = pwd.getpwuid(os.getuid()).pw_name
        with open(definition, "w") as handle:
            handle.write("[computer]\naddress = 127.0.0.1/255.255.255.255\n")
            for i in range(self.partitions):
                handle.write("\n[partition_%d]\naddress = %s/255.255.255.255\n"
                             "pathname = slappart%d\nnetwork_interface =\n" % (
                                 i, address(self.agent, i), i))
                if user:
                    handle.write("user = %s\n" % user)
        path = lambda *parts: os.path.join(self.base, *parts)
        common = ("[slapos]\nsoftware_root = %s\ninstance_root = %s\nmaster_url = %s\n"
                  "computer_id = %s\nroot_check = False\n"
                  % (self.software_root, self.instance_root, self.master_url, COMPUTER))
        formatting = ("\n[slapformat]\ninput_definition_file = %s\npartition_amount = %d\n"
                      "alter_user = false\nalter_network = false\ncreate_tap = false\n"
                      "computer_xml = %s\n" % (definition, self.partitions,
                                               path("etc", "computer.xml")))
        if self.agent == "slapgate":
            extra = "buildout = %s\npromise_timeout = 20\ncycle_interval = %d\n" % (
                UPSTREAM_BUILDOUT, 3600)
        else:
            extra = ("pidfile_software = %s\npidfile_instance = %s\npidfile_report = %s\n"
                     % (path("run", "software.pid"), path("run", "instance.pid"),
                        path("run", "report.pid")))
            formatting += "create_tun = false\npartition_has_ipv6_range = false\n"
        Path(self.config).write_text(common + extra + formatting)
        if self.uid is not None:
            for directory, names, files in os.walk(self.base):
                for name in [directory] + [os.path.join(directory, n) for n in names + files]:
                    os.lchown(name, self.uid, self.gid)
        # format, then the release supplied and built: not part of any figure
        if self.agent == "slapgate":
            self.cycle(timeout=300)
        else:
            self.upstream("format", timeout=300)
        self.call("supply.supply", {"url": self.release, "computer": COMPUTER})
        if self.agent == "slapgate":
            self.cycle(timeout=900)
        else:
            self.upstream("software", timeout=900)
        if not os.path.exists(os.path.join(self.software_root, _md5(self.release),
                                           ".completed")):
            raise BenchError("%s node did not build the memcached release (see %s)"
                             % (self.agent, self.log.name))

    def _node_user(self):
        try:
            return pwd.getpwnam(NODE_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                            NODE_USER], check=True, capture_output=True)
            return pwd.getpwnam(NODE_USER)

    # -- commands --

    def environment(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "SLAPOS", "SLAPGRID", "VIRTUAL_ENV", "LD_"))}
        env["HOME"] = os.path.join(self.base, "home")
        if self.uid is not None:
            env["USER"] = env["LOGNAME"] = NODE_USER
        return env

    def _spawn(self, argv, timeout):
        """Run ``argv`` (as the node's user); (seconds, exit code)."""
        kwargs = {"user": self.uid, "group": self.gid, "extra_groups": []} \
            if self.uid is not None else {}
        self.log.write("$ %s\n" % " ".join(argv))
        self.log.flush()
        started = time.monotonic()
        try:
            done = subprocess.run(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, cwd=self.base, timeout=timeout,
                                  env=self.environment(), **kwargs)
        except subprocess.TimeoutExpired:
            raise BenchError("%s timed out after %d s (see %s)"
                             % (" ".join(argv[:3]), timeout, self.log.name))
        seconds = time.monotonic() - started
        self.log.write("# exit %s after %.2f s\n" % (done.returncode, seconds))
        self.log.flush()
        return seconds, done.returncode

    def cycle(self, timeout=600):
        """One ``slapgate node --once``: (seconds, exit code)."""
        return self._spawn([str(Path(sys.executable).parent / "slapgate"), "node", "--cfg",
                            self.config, "--once"], timeout)

    def upstream(self, command, timeout=600):
        """``slapos node <command> --now``: (seconds, exit code)."""
        return self._spawn([str(UPSTREAM_NODE / "bin" / "slapos"), "node", command, "--now",
                            "--cfg", self.config], timeout)

    def instance_cycle(self, timeout=1200):
        """The deploying cycle: slapgate's whole cycle, upstream's ``node instance``."""
        if self.agent == "slapgate":
            return self.cycle(timeout)
        return self.upstream("instance", timeout)

    def start_loop(self):
        """slapgate's agent in its loop (waiting on watchComputer between cycles)."""
        log = open(os.path.join(self.base, "loop.log"), "ab")
        try:
            self.loop = subprocess.Popen(
                [str(Path(sys.executable).parent / "slapgate"), "node", "--cfg", self.config],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.base,
                env=self.environment(), start_new_session=True)
        finally:
            log.close()

    def cycles_done(self):
        """How many cycles the loop logged as done."""
        try:
            return Path(self.base, "loop.log").read_text(errors="replace").count("cycle done")
        except OSError:
            return 0

    def wait_idle(self, quiet, deadline=600):
        """Until a cycle of the loop ended after this call and none for ``quiet`` s since."""
        known = self.cycles_done()
        ended, give_up = None, time.monotonic() + deadline
        while time.monotonic() < give_up:
            if self.loop.poll() is not None:
                raise BenchError("the slapgate node loop exited (%s)" % self.loop.returncode)
            done = self.cycles_done()
            if done != known:
                known, ended = done, time.monotonic()
            elif ended is not None and time.monotonic() - ended >= quiet:
                return
            time.sleep(0.1)
        raise BenchError("the slapgate node loop did not settle within %d s" % deadline)

    def stop_loop(self):
        loop = getattr(self, "loop", None)
        if loop is not None and loop.poll() is None:
            loop.send_signal(signal.SIGTERM)
            try:
                loop.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(loop.pid, signal.SIGKILL)
                loop.wait()

    def call(self, method, arguments):
        """One XML-RPC call to this node's master as its admin."""
        with xmlrpc.client.ServerProxy(self.xmlrpc_url, allow_none=True) as proxy:
            return getattr(proxy, method)(arguments)

    # -- the instances --

    def request_all(self, memory=16):
        """Request one memcached per partition, each on a port of its own; seconds taken."""
        taken, self.ports = set(), []
        started = time.monotonic()
        for i in range(self.partitions):
            port = free_port(address(self.agent, i), taken)
            self.ports.append(port)
            self.request(i, memory)
        return time.monotonic() - started

    def request(self, i, memory):
        return self.call("instance.request", {
            "title": "memcached-%d" % i, "software_release": self.release, "state": "started",
            "parameters": {"tcp-port": str(self.ports[i]), "memory-mb": str(memory)}})

    def green(self):
        """How many instances the master shows started (promises passed) and published."""
        return sum(1 for seen in self.call("instance.list", {})
                   if (seen.get("status_text") or "").startswith("#access")
                   and seen.get("connection"))

    def wrapper(self, i):
        """The text of partition ``i``'s memcached wrapper ('' when missing)."""
        try:
            with open(os.path.join(self.instance_root, "slappart%d" % i, "etc", "service",
                                   "memcached")) as handle:
                return handle.read()
        except OSError:
            return ""

    def close(self):
        """Stop the loop, supervisord and every process of this node; then its master."""
        self.stop_loop()
        pids = []
        try:  # both agents keep supervisord's pid there
            pids.append(int(Path(self.instance_root, "var", "run", "supervisord.pid")
                            .read_text().strip()))
        except (OSError, ValueError):
            pass
        listening = {(address(self.agent, i), str(port))
                     for i, port in enumerate(self.ports or ())}
        pids += _processes(self.base, listening)
        for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            alive = [pid for pid in set(pids) if _alive(pid)]
            for pid in alive:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while [pid for pid in alive if _alive(pid)] and time.monotonic() < deadline:
                time.sleep(0.1)
            pids = [pid for pid in alive if _alive(pid)] + _processes(self.base, listening)
        self.log.close()
        if self.master is not None:
            self.run.stop(self.master)


def _md5(text):
    import hashlib
    return hashlib.md5(text.encode()).hexdigest()


def to_green(node, bound):
    """Request every instance, run cycles until all are green; figures (seconds, cycles)."""
    started = time.monotonic()
    node.request_all()
    requested = time.monotonic() - started
    cycles = []
    while True:
        seconds, code = node.instance_cycle(timeout=max(60, int(bound)))
        cycles.append((round(seconds, 2), code))
        green = node.green()
        elapsed = time.monotonic() - started
        print("bench: node %s (%d): cycle %d exit %d in %.1f s, %d/%d green, %.1f s since the"
              " request" % (node.agent, node.partitions, len(cycles), code, seconds, green,
                            node.partitions, elapsed), flush=True)
        if green == node.partitions:
            return {"seconds": elapsed, "requests_s": requested, "cycles": cycles}
        if elapsed > bound or len(cycles) >= 10:
            raise BenchError("%s node: %d/%d instances green after %.0f s and %d cycles (see %s)"
                             % (node.agent, green, node.partitions, elapsed, len(cycles),
                                node.log.name))


def no_change(nodes, repetitions):
    """Cycles with nothing to do, the nodes alternating; {node: [seconds]}."""
    times = {node: [] for node in nodes}
    for _ in range(repetitions):
        for node in nodes:
            seconds, code = node.instance_cycle()
            if code != 0:
                raise BenchError("%s node's no-change cycle exited %d (see %s)"
                                 % (node.agent, code, node.log.name))
            times[node].append(seconds)
    for node, seconds in times.items():
        print("bench: node %s (%d): no-change cycle median %.2f s over %d"
              % (node.agent, node.partitions, statistics.median(seconds), len(seconds)),
              flush=True)
    return times


def change_delay(node, repetitions, quiet=3.0, which=None):
    """Seconds from one instance's parameter change on the master to its new wrapper.

    slapgate: the agent's loop runs meanwhile, each change made once it is idle (waiting on the
    master: no cycle ended for ``quiet`` seconds after one did). upstream: ``node instance``
    right after the change (the acting run; the cron wait is added by the report).
    """
    which = node.partitions - 1 if which is None else which
    delays = []
    if node.agent == "slapgate":
        node.start_loop()
        node.wait_idle(quiet)
    try:
        for repetition in range(repetitions):
            memory = 17 + repetition
            expected = "-m %d" % memory
            started = time.monotonic()
            node.request(which, memory)
            if node.agent == "upstream":
                node.upstream("instance", timeout=900)
            deadline = started + 300
            while expected not in node.wrapper(which):
                if time.monotonic() > deadline:
                    raise BenchError("%s node did not act on the change within 300 s"
                                     % node.agent)
                time.sleep(0.02)
            delays.append(time.monotonic() - started)
            if node.agent == "slapgate":
                node.wait_idle(quiet)  # the cycle's end, and the one its own reports start
    finally:
        node.stop_loop()
    print("bench: node %s (%d): change to action median %.2f s over %d (%s)"
          % (node.agent, node.partitions, statistics.median(delays), len(delays),
             ", ".join("%.2f" % d for d in delays)), flush=True)
    return delays


def _median(values):
    return statistics.median(values) if values else float("nan")


def measure(run, partitions=200, upstream_partitions=20, repetitions=3, delays=3,
            seconds_per_instance=30, command=None):
    """The node part: markdown lines and its figures.

    slapgate's agent is measured at ``partitions`` and, side by side with upstream's node, at
    ``upstream_partitions`` (the same size for both; equal sizes make one comparison).
    """
    if not os.access(UPSTREAM_NODE / "bin" / "slapos", os.X_OK):
        raise BenchError("upstream node missing: %s (make node)" % UPSTREAM_NODE)
    if not os.access("/usr/bin/memcached", os.X_OK):
        raise BenchError("/usr/bin/memcached missing (make system-packages)")
    work = run.work
    os.chmod(work, 0o711)  # the upstream node's user reaches its directory through it
    nodes, figures = [], {"green": {}, "idle": {}, "delay": {}}
    try:
        small = {}
        for agent in AGENTS:
            node = Node(run, agent, upstream_partitions, work)
            nodes.append(node)
            node.prepare()
            small[agent] = node
        big = None
        if partitions != upstream_partitions:
            big = Node(run, "slapgate", partitions, work)
            nodes.append(big)
            big.prepare()
        # 1. request to green, the small computers first
        for node in nodes:
            figures["green"][(node.agent, node.partitions)] = to_green(
                node, 300 + seconds_per_instance * node.partitions)
        # 2. no-change cycles, alternating at the common size; slapgate's alone at its size
        idle = no_change([small["slapgate"], small["upstream"]], repetitions)
        if big is not None:
            idle.update(no_change([big], repetitions))
        for node, seconds in idle.items():
            figures["idle"][(node.agent, node.partitions)] = seconds
        # 3. change to action (the last partition: the cycle goes through all before it)
        for node in nodes:
            # idle: no cycle ended for longer than a no-change cycle takes
            quiet = 2 + 1.5 * _median(figures["idle"][(node.agent, node.partitions)])
            figures["delay"][(node.agent, node.partitions)] = change_delay(node, delays, quiet)
    finally:
        for node in reversed(nodes):
            node.close()
    return report(figures, partitions, upstream_partitions, repetitions, delays,
                  command), figures


def report(figures, partitions, upstream_partitions, repetitions, delays, command=None):
    """The node section of docs/performance.md (``command``: how it was run)."""
    n = upstream_partitions
    green, idle, delay = figures["green"], figures["idle"], figures["delay"]
    ours, theirs = ("slapgate", n), ("upstream", n)
    lines = [
        "## Node agents: `slapgate node` against upstream `slapos node`",
        "",
    ] + (["- command: `%s`" % command] if command else []) + [
        "- release: the memcached demo (tests/memcached/), one memcached per partition on a port"
        " of its own (-m 16), partitions on loopback addresses; each node against a slapgate"
        " master of its own; the release supplied and built before anything is timed",
        "- slapgate: `slapgate node --once` (a whole cycle: format check, software, instances,"
        " usage, destruction) run rootless; upstream: slapos.core %s `slapos node instance --now`"
        " (Python 3.12) as user `%s`" % (_upstream_version(), NODE_USER),
        "- upstream measured at %d partitions (side by side with slapgate); slapgate also at %d"
        % (n, partitions) if partitions != n else
        "- both measured at %d partitions" % n,
        "",
        "### Request to green",
        "",
        "N instances requested through XML-RPC, then node cycles until the master shows every one"
        " started (`#access`, reported after its promise passed) with `ip` and `tcp_port`"
        " published.",
        "",
        "| node | partitions | request to green s | per instance ms | cycles (s, exit) |",
        "|---|---:|---:|---:|---|",
    ]
    for key in sorted(green, key=lambda k: (k[1], k[0])):
        g = green[key]
        lines.append("| %s | %d | %.1f | %.0f | %s |" % (
            key[0], key[1], g["seconds"], 1000 * g["seconds"] / key[1],
            ", ".join("%.1f/%d" % c for c in g["cycles"])))
    if ours in green and theirs in green:
        lines += ["", "- upstream / slapgate at %d partitions: **%.2fx** the time"
                  % (n, green[theirs]["seconds"] / green[ours]["seconds"])]
    lines += [
        "",
        "### No-change cycle",
        "",
        "Every instance deployed, nothing changed on the master: one more cycle, %d times, the"
        " two nodes alternating (each cycle still runs every partition's promise)." % repetitions,
        "",
        "| node | partitions | median s | min s | max s | per partition ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key in sorted(idle, key=lambda k: (k[1], k[0])):
        seconds = idle[key]
        lines.append("| %s | %d | %.2f | %.2f | %.2f | %.1f |" % (
            key[0], key[1], _median(seconds), min(seconds), max(seconds),
            1000 * _median(seconds) / key[1]))
    if ours in idle and theirs in idle:
        lines += ["", "- upstream / slapgate at %d partitions: **%.2fx** the time"
                  % (n, _median(idle[theirs]) / _median(idle[ours]))]
    lines += [
        "",
        "### Change to action",
        "",
        "`memory-mb` of the last partition's instance changed on the master (re-requested through"
        " XML-RPC), until its service wrapper holds the new value; %d times. slapgate's agent"
        " runs its loop (woken by `watchComputer`), each change made once it is idle; upstream's"
        " node runs from cron every %d s, so"
        " its delay is the wait for the next run (uniform: %d s median, %d s worst) plus the"
        " measured `slapos node instance` run that acts."
        % (delays, CRON_INTERVAL, CRON_INTERVAL / 2, CRON_INTERVAL),
        "",
        "| node | partitions | measured median s | delay median s | delay worst s |",
        "|---|---:|---:|---:|---:|",
    ]
    modelled = {}
    for key in sorted(delay, key=lambda k: (k[1], k[0])):
        seconds = delay[key]
        if key[0] == "upstream":
            modelled[key] = (CRON_INTERVAL / 2 + _median(seconds), CRON_INTERVAL + max(seconds))
        else:
            modelled[key] = (_median(seconds), max(seconds))
        lines.append("| %s | %d | %.2f | %.2f | %.2f |" % (
            key[0], key[1], _median(seconds), modelled[key][0], modelled[key][1]))
    if ours in modelled and theirs in modelled:
        lines += ["", "- upstream / slapgate at %d partitions: **%.1fx** the median delay"
                  % (n, modelled[theirs][0] / modelled[ours][0])]
    return lines


def _upstream_version():
    try:
        done = subprocess.run([str(UPSTREAM_NODE / "bin" / "python"), "-c",
                               "import importlib.metadata as m; print(m.version('slapos.core'))"],
                              capture_output=True, text=True, timeout=60)
        return done.stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def main(argv=None):
    """``python -m bench.node_agents``: the node part alone, printed (docs untouched)."""
    import argparse
    import tempfile

    from bench.harness import Run

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--partitions", type=int, default=200)
    parser.add_argument("--upstream-partitions", type=int, default=20)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--delays", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    def terminate(signum, frame):  # SIGTERM: stop what was started, as bench.run does
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    work = Path(tempfile.mkdtemp(prefix="sg-nodebench-"))
    run = Run(work, 1, 0)
    print("bench: working in %s" % work, flush=True)
    try:
        lines, _ = measure(run, args.partitions, args.upstream_partitions, args.repetitions,
                           args.delays, command="python -m bench.node_agents " + " ".join(
                               argv if argv is not None else sys.argv[1:]))
        print("\n".join(lines))
        return 0
    except BenchError as error:
        print("bench: FAILED: %s" % error, file=sys.stderr)
        return 1
    finally:
        run.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
