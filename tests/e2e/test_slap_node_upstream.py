"""Upstream ``slapos node format|software|instance|report`` (slapos.core 1.26.1), two masters.

The upstream node (tests/node_harness.py) runs from ``/opt/slapgate/node-py312`` (a Python 3.12
copy, ``make node``) as subprocesses spawned through the reactor, as an unprivileged user (``slapgate-node``, created if
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

import hashlib
import os

import pytest
from twisted.internet import defer
from twisted.trial import unittest

from gateway.server import local_admin
from tests.fixtures import start_test_master
from tests.node_harness import COMPUTER, PARTITIONS, Node, require_node
from tests.upstream import start_slapproxy


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


@pytest.mark.node
@pytest.mark.upstream
class UpstreamNodeTests(unittest.TestCase):
    """One release's whole life on one upstream node, once per master, observed from both sides."""

    timeout = 900

    def partition_files(self, node):
        return [sorted(os.listdir(os.path.join(node.instance_root, "slappart%d" % i)))
                for i in range(PARTITIONS)]

    @defer.inlineCallbacks
    def life_cycle(self, master_url, checks, credentials=None):
        """The same node commands against either master; ``checks`` adds what only it shows.

        ``credentials`` (certificates for the node and the client) are for an HTTPS master.
        """
        node = Node(self, master_url, credentials=credentials)
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
        state, connection = yield node.request("myinst", {"name": "alice"})
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
        state, connection = yield node.request("myinst", {"name": "alice"})
        self.assertEqual((state, connection), ("started", root["connection"]))
        processes = yield node.processes()
        self.assertEqual(processes, {"slappart0:sleeper": "RUNNING",
                                     "slappart1:sleeper": "RUNNING"})
        result_dir = os.path.join(node.instance_root, "slappart0", ".slapgrid", "promise", "result")
        self.assertTrue(os.listdir(result_dir), "no promise result in %s" % result_dir)
        checks.deployed(node, view)

        # stopped: node instance stops both processes; the first run may leave the child running
        # (slapproxy stops it when the root's buildout re-requests it, one run later)
        state, connection = yield node.request("myinst", {"name": "alice"}, "--state", "stopped")
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
        state, connection = yield node.request("myinst", {"name": "alice"}, "--state", "destroyed")
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
        result = self.life_cycle(running.https_urls()[0] + "slap/",
                                 SlapgateChecks(self, running), credentials)

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
