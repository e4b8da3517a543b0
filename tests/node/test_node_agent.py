"""The slapgate node agent (``node_twisted``) against a real slapgate master on 127.0.0.1.

Real parts throughout: zc.buildout builds the test release of tests/node_sr and deploys its
partitions (their recipe calls the master with the upstream slap library), one supervisord runs
their processes, promises are real executables. The master is driven through its core as an
admin would (supply, request, destroy) and checked through its core; the node through its files
and supervisord.
"""

import hashlib
import os
import signal
import stat

import pytest
from twisted.internet import defer, reactor, task
from twisted.protocols import portforward
from twisted.trial import unittest

from gateway.server import local_admin
from node_twisted import instance as node_instance
from tests.fixtures import start_test_master
from tests.node_agent_fixtures import COMPUTER, PARTITIONS, AgentNode
from tests.waiting import until


class MasterSide:
    """What the master records, read and changed through its core as an admin."""

    def __init__(self, running):
        self.master = running.master
        self.admin = local_admin()

    def call(self, name, **kw):
        return self.master.call(name, self.admin, **kw)

    def partitions(self):
        return self.call("computer.information", reference=COMPUTER).partitions

    def supplies(self):
        return {s.url: s for s in self.call("supply.list", computer=COMPUTER)}

    def instances(self):
        return {view.title: view for view in self.call("instance.list")}

    def request(self, url, state=None):
        return self.call("instance.request", title="myinst", software_release=url,
                         parameters={"name": "alice"}, sla={"computer_guid": COMPUTER},
                         state=state)


class CuttableLink:
    """A TCP forwarder to the master that a test cuts and restores on the same port."""

    def __init__(self, testcase, master_url):
        self.target = int(master_url.split(":")[2].split("/")[0])
        self.factory = portforward.ProxyFactory("127.0.0.1", self.target)
        self.port = reactor.listenTCP(0, self.factory, interface="127.0.0.1")
        self.number = self.port.getHost().port
        self.url = master_url.replace(":%d/" % self.target, ":%d/" % self.number)
        testcase.addCleanup(lambda: self.port.connected and self.port.stopListening())

    def cut(self):
        return self.port.stopListening()

    def restore(self):
        self.port = reactor.listenTCP(self.number, self.factory, interface="127.0.0.1")


@pytest.mark.node
class NodeAgentTests(unittest.TestCase):
    """The agent's cycle, phase by phase, and its life cycle of one release."""

    timeout = 600

    def setUp(self):
        self.running = start_test_master(self, insecure_loopback=True)
        self.master = MasterSide(self.running)
        self.url = self.running.urls()[0] + "slap/"

    @defer.inlineCallbacks
    def test_format_lays_out_partitions_and_posts_them_once(self):
        node = AgentNode(self, self.url, definition=False)
        outcome = yield node.agent.format_if_needed()
        self.assertEqual(outcome, "posted")
        partitions = self.master.partitions()
        self.assertEqual([p.reference for p in partitions],
                         ["slappart%d" % i for i in range(PARTITIONS)])
        # consecutive addresses of the default ipv4_local_network, the first is the computer's
        self.assertEqual([[a.address for a in p.addresses] for p in partitions],
                         [["127.0.2.%d" % (i + 2)] for i in range(PARTITIONS)])
        for i in range(PARTITIONS):
            mode = stat.S_IMODE(os.stat(node.partition(i)).st_mode)
            self.assertEqual(mode, 0o750)
            self.assertEqual(os.listdir(node.partition(i)), [".slapos-resource"])
        outcome = yield node.agent.format_if_needed()
        self.assertEqual(outcome, "unchanged")

    @defer.inlineCallbacks
    def deployed(self, node):
        """Format, supply, request and cycle until both partitions run (at most 4 cycles)."""
        yield node.cycle(expect=0)
        self.master.call("supply.supply", url=node.sr, computer=COMPUTER)
        self.master.request(node.sr)
        for _ in range(4):
            yield node.cycle()
            found = self.master.instances()
            if "child0" in found and found["myinst"].connection.get("child-greeting") == \
                    "hello child" and (found["child0"].status_text or "").startswith("#access"):
                break
        return self.master.instances()

    @defer.inlineCallbacks
    def test_life_cycle_supply_request_stop_destroy(self):
        node = AgentNode(self, self.url)
        found = yield self.deployed(node)

        # software built once, reported available
        software_path = os.path.join(node.software_root,
                                     hashlib.md5(node.sr.encode()).hexdigest())
        self.assertTrue(os.path.exists(os.path.join(software_path, ".completed")))
        supply = self.master.supplies()[node.sr]
        self.assertEqual((supply.desired_state, supply.reported_state), ("available", "available"))

        # both partitions deployed, started, published; the requester reads the connection
        root, child = found["myinst"], found["child0"]
        self.assertEqual((root.partition, child.partition), ("slappart0", "slappart1"))
        self.assertEqual(root.connection, {"greeting": "hello alice", "partition": "slappart0",
                                           "child-greeting": "hello child"})
        self.assertEqual(child.connection, {"greeting": "hello child", "partition": "slappart1"})
        self.assertTrue(root.status_text.startswith("#access"), root.status_text)
        self.assertEqual(self.master.call("instance.get", reference=root.reference).connection,
                         root.connection)
        processes = yield node.agent.supervisor.processes()
        self.assertEqual(processes, {"slappart0:sleeper": "RUNNING",
                                     "slappart1:sleeper": "RUNNING"})
        with open(os.path.join(node.partition(0), "buildout.cfg")) as handle:
            profile = handle.read()
        self.assertIn("\n\n%s\n[buildout]\n" % node_instance.TAIL_BEGIN, profile)
        self.assertIn("[slap-connection]\ncomputer-id = %s\npartition-id = slappart0\n"
                      "server-url = %s\nsoftware-release-url = %s\nkey-file =\ncert-file =\n"
                      % (COMPUTER, self.url, node.sr), profile)
        self.assertTrue(profile.endswith(node_instance.TAIL_END + "\n"))
        result_dir = os.path.join(node.partition(0), ".slapgrid", "promise", "result")
        self.assertEqual(os.listdir(result_dir), ["sleeper-exists.status.json"])

        # an unchanged partition is skipped: no buildout runs (buildout.cfg keeps its mtime)
        mtime = os.stat(os.path.join(node.partition(0), "buildout.cfg")).st_mtime_ns
        result = yield node.cycle(expect=0)
        self.assertEqual(result.instances, {"slappart0": "unchanged", "slappart1": "unchanged",
                                            "slappart2": "skipped"})
        self.assertEqual(result.software, {node.sr: "unchanged"})
        self.assertEqual(os.stat(os.path.join(node.partition(0), "buildout.cfg")).st_mtime_ns,
                         mtime)

        # stopped: processes gone, reported stopped
        self.master.request(node.sr, state="stopped")
        for _ in range(2):
            yield node.cycle(expect=0)
        processes = yield node.agent.supervisor.processes()
        self.assertEqual(processes, {})
        found = self.master.instances()
        for title in ("myinst", "child0"):
            self.assertEqual(found[title].state, "stopped")
            self.assertTrue(found[title].status_text.startswith("#access Instance correctly "
                                                                "stopped"), found[title])

        # destroyed: partitions wiped and freed
        self.master.call("instance.destroy", reference=root.reference)
        for _ in range(3):
            yield node.cycle()
            if all(p.instance is None for p in self.master.partitions()):
                break
        self.assertEqual([(p.reference, p.instance) for p in self.master.partitions()],
                         [("slappart%d" % i, None) for i in range(PARTITIONS)])
        self.assertEqual(self.master.instances(), {})
        self.assertEqual([os.listdir(node.partition(i)) for i in range(PARTITIONS)],
                         [[], [], [".slapos-resource"]])
        self.assertEqual(os.listdir(node.agent.supervisor.paths["conf.d"]), [])
        # `slapgate node status` shows them destroyed, not stopped
        states = {pid: entry["state"] for pid, entry in
                  node.agent.progress.snapshot()["partitions"].items()}
        self.assertEqual((states["slappart0"], states["slappart1"]), ("destroyed", "destroyed"))

        # the release removed
        self.master.call("supply.supply", url=node.sr, computer=COMPUTER, state="destroyed")
        result = yield node.cycle(expect=0)
        self.assertEqual(result.software, {node.sr: "destroyed"})
        self.assertFalse(os.path.exists(software_path))
        self.assertEqual(self.master.supplies(), {})

    @defer.inlineCallbacks
    def builds_seen(self, concurrency):
        """The reported states of two releases, sampled while one cycle builds both."""
        node = AgentNode(self, self.url,
                         extra_slapos="software_build_concurrency = %d" % concurrency)
        other = node.copy_release(os.path.join(node.base, "sr2"))
        yield node.cycle(expect=0)
        for url in (node.sr, other):
            self.master.call("supply.supply", url=url, computer=COMPUTER)
        cycle = node.cycle(expect=0)
        seen = set()

        def sample():
            supplies = self.master.supplies()
            seen.add(tuple(supplies[url].reported_state for url in (node.sr, other)))
            return cycle.called

        yield until(sample, 300, "the cycle building both releases never ended")
        result = yield cycle
        self.assertEqual(result.software, {node.sr: "available", other: "available"})
        return seen

    @defer.inlineCallbacks
    def test_releases_build_in_parallel(self):
        seen = yield self.builds_seen(2)
        self.assertIn(("building", "building"), seen)

    @defer.inlineCallbacks
    def test_release_builds_are_bounded_by_software_build_concurrency(self):
        seen = yield self.builds_seen(1)
        self.assertNotIn(("building", "building"), seen)
        self.assertIn(("available", "building"), seen)

    @defer.inlineCallbacks
    def test_buildout_failure_reports_the_output_tail_and_retries_after_its_wait(self):
        node = AgentNode(self, self.url, clock=task.Clock())
        profile = node.sr
        with open(profile) as handle:
            good = handle.read()
        with open(profile, "w") as handle:
            handle.write(good.replace("recipe = slapgate-node-sr:template",
                                      "recipe = slapgate-node-sr:no-such-recipe"))
        yield node.cycle(expect=0)
        self.master.call("supply.supply", url=node.sr, computer=COMPUTER)
        result = yield node.cycle(expect=1)
        self.assertEqual(result.software, {node.sr: "error"})
        supply = self.master.supplies()[node.sr]
        self.assertEqual(supply.reported_state, "error")
        self.assertIn("no-such-recipe", supply.error_text)
        self.assertIn("Failed to run buildout profile", supply.error_text)

        with open(profile, "w") as handle:
            handle.write(good)
        result = yield node.cycle(expect=1)  # fixed, but its wait after the failure is not over
        self.assertEqual(result.software, {node.sr: "backoff"})
        node.wait_out_failures()
        result = yield node.cycle(expect=0)
        self.assertEqual(result.software, {node.sr: "available"})
        self.assertEqual(self.master.supplies()[node.sr].reported_state, "available")

    @defer.inlineCallbacks
    def test_promise_failure_and_timeout_report_an_error_then_converge(self):
        node = AgentNode(self, self.url, clock=task.Clock())
        yield self.deployed(node)
        promise_dir = os.path.join(node.partition(1), "etc", "promise")

        def promise(name, body):
            path = os.path.join(promise_dir, name)
            with open(path, "w") as handle:
                handle.write("#!/bin/sh\n" + body)
            os.chmod(path, 0o755)
            return path

        # a failing promise on a partition being processed: error with the promise's output,
        # no .timestamp (so the next cycle processes it again)
        failing = promise("failing", "echo disk is on fire; exit 1\n")
        os.unlink(os.path.join(node.partition(1), ".timestamp"))
        result = yield node.cycle(expect=2)
        self.assertEqual(result.instances["slappart1"], "promise-error")
        self.assertFalse(os.path.exists(os.path.join(node.partition(1), ".timestamp")))
        status = self.master.instances()["child0"].status_text
        self.assertTrue(status.startswith("#error"), status)
        self.assertIn("disk is on fire", status)

        # a promise that hangs is killed after promise_timeout
        os.unlink(failing)
        hanging = promise("hanging", "exec sleep 600\n")
        node.wait_out_failures()  # the failed partition's wait
        result = yield node.cycle(expect=2)
        self.assertEqual(result.instances["slappart1"], "promise-error")
        status = self.master.instances()["child0"].status_text
        self.assertIn("timed out after 5 seconds", status)

        # fixed: the next cycle deploys and reports started
        os.unlink(hanging)
        node.wait_out_failures()
        result = yield node.cycle(expect=0)
        self.assertEqual(result.instances["slappart1"], "started")
        self.assertTrue(self.master.instances()["child0"].status_text.startswith("#access"))

        # an up-to-date partition whose promise starts failing: the anomaly check reports it
        promise("failing", "echo gone; exit 1\n")
        result = yield node.cycle(expect=0)
        self.assertEqual(result.instances["slappart1"], "unchanged")
        self.assertTrue(self.master.instances()["child0"].status_text.startswith("#error"))

    @defer.inlineCallbacks
    def test_report_scripts_usage_is_sent_as_one_journal(self):
        node = AgentNode(self, self.url)
        found = yield self.deployed(node)
        report_dir = os.path.join(node.partition(0), "etc", "report")
        os.makedirs(report_dir)
        script = os.path.join(report_dir, "cpu")
        with open(script, "w") as handle:
            handle.write("#!/bin/sh\ncat > \"$1\" <<EOF\n<consumption><movement>"
                         "<resource>cpu_time</resource><title>CPU</title><reference>x</reference>"
                         "<quantity>12.5</quantity><price>0.1</price><VAT/>"
                         "<category>cpu</category></movement></consumption>\nEOF\n")
        os.chmod(script, 0o755)
        xml_report = os.path.join(node.partition(0), "var", "xml_report")
        os.makedirs(xml_report, exist_ok=True)
        with open(os.path.join(xml_report, "broken.xml"), "w") as handle:
            handle.write("<consumption><movement/></consumption>")
        result = yield node.cycle(expect=0)
        self.assertEqual(result.usage, 1)
        records = self.master.call("usage.list", computer=COMPUTER)
        self.assertEqual([(r.partition, r.instance, r.resource, r.quantity) for r in records],
                         [("slappart0", found["myinst"].reference, "cpu_time", 12.5)])
        self.assertEqual(os.listdir(xml_report), ["broken.xml.invalid"])

    @defer.inlineCallbacks
    def test_supervisord_killed_is_restarted_with_the_processes_on_the_next_cycle(self):
        node = AgentNode(self, self.url)
        yield self.deployed(node)
        before = node.supervisord_pid()
        children = [pid for pid in node.processes_in_tree() if pid != before]
        os.kill(before, signal.SIGKILL)
        for pid in children:  # its programs die with the machine it stood for
            os.kill(pid, signal.SIGKILL)
        result = yield node.cycle(expect=0)
        self.assertEqual(result.instances["slappart0"], "unchanged")
        self.assertNotEqual(node.supervisord_pid(), before)
        processes = yield node.agent.supervisor.processes()
        self.assertEqual(processes, {"slappart0:sleeper": "RUNNING",
                                     "slappart1:sleeper": "RUNNING"})

    @defer.inlineCallbacks
    def test_master_unreachable_mid_build_goes_offline_then_converges(self):
        link = CuttableLink(self, self.url)
        node = AgentNode(self, link.url)
        yield node.cycle(expect=0)
        self.master.call("supply.supply", url=node.sr, computer=COMPUTER)
        cycle = node.cycle()
        yield until(lambda: self.master.supplies()[node.sr].reported_state == "building", 120,
                    "the build never started")
        yield link.cut()  # the build goes on; its "available" report cannot be sent
        result = yield cycle
        self.assertEqual((result.offline, result.exit_code), (True, 3))
        software_path = os.path.join(node.software_root,
                                     hashlib.md5(node.sr.encode()).hexdigest())
        self.assertFalse(os.path.exists(os.path.join(software_path, ".completed")))
        self.assertEqual(self.master.supplies()[node.sr].reported_state, "building")

        link.restore()
        result = yield node.cycle(expect=0)
        self.assertEqual(result.software, {node.sr: "available"})
        self.assertEqual(self.master.supplies()[node.sr].reported_state, "available")
        self.assertTrue(os.path.exists(os.path.join(software_path, ".completed")))

    @defer.inlineCallbacks
    def test_master_unreachable_keeps_instances_running(self):
        node = AgentNode(self, self.url)
        yield self.deployed(node)
        yield self.running.stop()
        result = yield node.cycle(expect=3)
        self.assertTrue(result.offline)
        processes = yield node.agent.supervisor.processes()
        self.assertEqual(processes, {"slappart0:sleeper": "RUNNING",
                                     "slappart1:sleeper": "RUNNING"})


class ProfileTailTests(unittest.TestCase):
    """The tail gives recipes exactly what slapgrid's gives them: the same sections, keys, values.

    Compared, parsed, with the template of the upstream package installed for the tests
    (``.venv-upstream``), filled with the same values.
    """

    def test_tail_reads_as_slapgrid_template(self):
        import configparser
        import glob
        import types

        from tests.upstream import upstream_python

        python = upstream_python(self)
        site = glob.glob(os.path.join(os.path.dirname(os.path.dirname(python)), "lib",
                                      "python3*", "site-packages", "slapos", "grid",
                                      "templates", "buildout-tail.cfg.in"))
        if not site:
            self.fail("slapgrid's buildout-tail.cfg.in not found beside %s" % python)
        config = types.SimpleNamespace(
            computer_id="COMP-9", master_url="http://127.0.0.1:1/slap/",
            certificate_repository_path="/srv/certs", instance_storage_home="/srv/data",
            ipv4_global_network="10.0.0.0/8", shared_part_list="/opt/shared\n/opt/more",
            build_time_part_list="")
        partition = types.SimpleNamespace(partition_id="slappart3", requested_state="started",
                                          software_release_url="http://sr.example/s.cfg")
        values = {
            "computer_id": "COMP-9", "partition_id": "slappart3",
            "server_url": "http://127.0.0.1:1/slap/",
            "software_release_url": "http://sr.example/s.cfg",
            "key_file": "/srv/certs/slappart3.key", "cert_file": "/srv/certs/slappart3.crt",
            "requested_state": "started", "storage_home": "/srv/data",
            "global_ipv4_network_prefix": "10.0.0.0/8",
            "shared_part_list": "/opt/shared\n  /opt/more", "build_time_part_list": ""}

        def parsed(text):
            parser = configparser.RawConfigParser()
            parser.optionxform = str
            parser.read_string(text)
            return {section: {key: " ".join(value.split()) for key, value in parser[section].items()}
                    for section in parser.sections()}

        with open(site[0]) as handle:
            upstream = parsed(handle.read() % values)
        ours = parsed(node_instance.profile_tail(config, partition))
        self.assertEqual(ours, upstream)
        self.assertEqual(list(ours), list(upstream))


@pytest.mark.node
class RootModeTests(unittest.TestCase):
    """``alter_user = true`` as root: a software user builds, partition users run the instances."""

    timeout = 600
    USERS = ("sgpart", "sgpart2", "sgsoft")

    @defer.inlineCallbacks
    def test_root_mode_creates_users_and_runs_partitions_as_their_user(self):
        import grp
        import pwd

        from tests.node_harness import NODE, remove_system_users, require_node, share_sources

        if os.getuid() != 0:
            raise unittest.SkipTest("root mode needs root")
        require_node(self)  # its interpreter is outside /root, reachable by the users made here
        running = start_test_master(self, insecure_loopback=True)
        master = MasterSide(running)

        remove_system_users(self.USERS)
        self.addCleanup(remove_system_users, self.USERS)
        # two partitions share a user (slapformat's partition definitions allow it), the third
        # has its own
        node = AgentNode(self, running.urls()[0] + "slap/",
                         buildout=os.path.join(NODE, "bin", "buildout"),
                         extra_format="alter_user = true\nsoftware_user = sgsoft",
                         users=["sgpart", "sgpart", "sgpart2"])
        os.chmod(node.base, 0o755)
        yield node.cycle(expect=0)
        soft, part = pwd.getpwnam("sgsoft"), pwd.getpwnam("sgpart")
        self.assertEqual(os.stat(node.software_root).st_uid, soft.pw_uid)
        owners = [os.stat(node.partition(i)) for i in range(PARTITIONS)]
        self.assertEqual([(pwd.getpwuid(o.st_uid).pw_name, stat.S_IMODE(o.st_mode))
                          for o in owners],
                         [("sgpart", 0o750), ("sgpart", 0o750), ("sgpart2", 0o750)])
        self.assertIn("sgpart", grp.getgrnam("sgsoft").gr_mem)

        share_sources(node.sr_dir, 0, soft.pw_gid)
        master.call("supply.supply", url=node.sr, computer=COMPUTER)
        result = yield node.cycle(expect=0)
        self.assertEqual(result.software, {node.sr: "available"})
        software_path = os.path.join(node.software_root,
                                     hashlib.md5(node.sr.encode()).hexdigest())
        self.assertEqual(os.stat(os.path.join(software_path, "instance.cfg")).st_uid,
                         soft.pw_uid)
        share_sources(node.sr_dir, part.pw_uid, soft.pw_gid)

        master.request(node.sr)
        for _ in range(4):
            yield node.cycle()
            found = master.instances()
            if "child0" in found and found["myinst"].connection.get("child-greeting") == \
                    "hello child":
                break
        self.assertEqual(found["myinst"].connection, {
            "greeting": "hello alice", "partition": "slappart0", "child-greeting": "hello child"})
        infos = yield node.agent.supervisor.call("getAllProcessInfo")
        running_as = {}
        for info in infos:
            with open("/proc/%d/status" % info["pid"]) as handle:
                uid = [line.split()[1] for line in handle if line.startswith("Uid:")][0]
            running_as[info["group"]] = pwd.getpwuid(int(uid)).pw_name
        self.assertEqual(running_as, {"slappart0": "sgpart", "slappart1": "sgpart"})

        # a promise plugin runs as the partition's user with the release's Python (the node
        # copy's 3.12 here), writing its result and cache where that user can
        import glob
        import json

        from tests.node.test_node_promise_plugins import PLUGIN

        plugin_dir = os.path.join(node.partition(1), "etc", "plugin")
        os.makedirs(plugin_dir, exist_ok=True)
        os.chown(plugin_dir, part.pw_uid, part.pw_gid)
        sense = ("import os, sys\nself.logger.info('uid %d python %d.%d' % "
                 "((os.getuid(),) + tuple(sys.version_info[:2])))")
        with open(os.path.join(plugin_dir, "check-user.py"), "w") as handle:
            handle.write(PLUGIN % {
                "path": glob.glob(os.path.join(NODE, "lib", "python3*", "site-packages")),
                "extra": {}, "periodicity": 1,
                "sense": "\n".join("    " + line for line in sense.splitlines())})
        os.unlink(os.path.join(node.partition(1), ".timestamp"))
        result = yield node.cycle(expect=0)
        self.assertEqual(result.instances["slappart1"], "started")
        promise_dir = os.path.join(node.partition(1), ".slapgrid", "promise")
        with open(os.path.join(promise_dir, "result", "check-user.status.json")) as handle:
            document = json.load(handle)
        self.assertEqual(document["result"]["message"], "uid %d python 3.12" % part.pw_uid)
        self.assertEqual(os.stat(os.path.join(promise_dir, "cache", "check-user")).st_uid,
                         part.pw_uid)
