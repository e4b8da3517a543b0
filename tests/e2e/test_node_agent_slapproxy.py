"""The slapgate node agent against upstream slapproxy (slapos.core 1.26.1): same node, other master.

The release of tests/node_sr is supplied and requested with the upstream slap library (as the
``slapos`` client does), built and deployed by our agent, stopped, destroyed and removed; what
the master records is read back with the upstream library, as a node or a client would.
"""

import hashlib
import os

import pytest
from twisted.internet import defer
from twisted.trial import unittest

from tests.node_agent_fixtures import COMPUTER, PARTITIONS, AgentNode
from tests.upstream import run_upstream, start_slapproxy

CLIENT = r"""
import json, sys
from slapos import slap
from slapos.slap import NotFoundError
client = slap.slap()
client.initializeConnection(sys.argv[1])
action, url = sys.argv[2], sys.argv[3]
if action == "supply":
    client.registerSupply().supply(url, computer_guid=sys.argv[4], state=sys.argv[5])
    print(json.dumps(None))
elif action == "request":
    partition = client.registerOpenOrder().request(
        url, "myinst", partition_parameter_kw={"name": "alice"}, state=sys.argv[4])
    print(json.dumps({"state": partition.getState(),
                      "connection": partition.getConnectionParameterDict()}))
else:
    computer = client.registerComputer(sys.argv[4])
    partitions = []
    for partition in computer.getComputerPartitionList():
        try:
            release = partition.getSoftwareRelease().getURI()
        except NotFoundError:
            release = None
        seen = {"id": partition.getId(), "state": partition.getState(), "release": release}
        if release is not None:
            seen["connection"] = partition.getConnectionParameterDict()
            seen["title"] = partition.getInstanceParameterDict().get("instance_title")
        partitions.append(seen)
    print(json.dumps({"software": [[s.getURI(), s.getState()]
                                   for s in computer.getSoftwareReleaseList()],
                      "partitions": partitions}))
"""


@pytest.mark.node
class NodeAgentAgainstSlapproxyTests(unittest.TestCase):
    """Install, deploy, stop, destroy and remove with upstream slapproxy as the master."""

    timeout = 600

    def client(self, url, *arguments):
        return run_upstream(self, "-c", CLIENT, url, *arguments)

    @defer.inlineCallbacks
    def test_life_cycle_against_slapproxy(self):
        url = yield start_slapproxy(self)
        node = AgentNode(self, url)
        yield node.cycle(expect=0)
        view = yield self.client(url, "view", "-", COMPUTER)
        self.assertEqual([(p["id"], p["release"]) for p in view["partitions"]],
                         [("slappart%d" % i, None) for i in range(PARTITIONS)])

        yield self.client(url, "supply", node.sr, COMPUTER, "available")
        yield self.client(url, "request", node.sr, "started")
        for _ in range(4):
            yield node.cycle()
            view = yield self.client(url, "view", "-", COMPUTER)
            root = view["partitions"][0]
            if root.get("connection", {}).get("child-greeting") == "hello child":
                break
        software_path = os.path.join(node.software_root,
                                     hashlib.md5(node.sr.encode()).hexdigest())
        self.assertTrue(os.path.exists(os.path.join(software_path, ".completed")))
        root, child = view["partitions"][:2]
        self.assertEqual((root["title"], root["connection"]), (
            "myinst", {"greeting": "hello alice", "partition": "slappart0",
                       "child-greeting": "hello child"}))
        self.assertEqual((child["title"], child["connection"]), (
            "child0", {"greeting": "hello child", "partition": "slappart1"}))
        answer = yield self.client(url, "request", node.sr, "started")
        self.assertEqual(answer, {"state": "started", "connection": root["connection"]})
        processes = yield node.agent.supervisor.processes()
        self.assertEqual(processes, {"slappart0:sleeper": "RUNNING",
                                     "slappart1:sleeper": "RUNNING"})

        # stopped: slapproxy stops the child when the root's buildout re-requests it
        yield self.client(url, "request", node.sr, "stopped")
        for _ in range(3):
            yield node.cycle(expect=0)
        processes = yield node.agent.supervisor.processes()
        self.assertEqual(processes, {})
        view = yield self.client(url, "view", "-", COMPUTER)
        self.assertEqual([p["state"] for p in view["partitions"]],
                         ["stopped", "stopped", "destroyed"])

        # destroyed: wiped and freed (slapproxy frees the child first, the root a cycle later)
        yield self.client(url, "request", node.sr, "destroyed")
        for _ in range(4):
            yield node.cycle()
            view = yield self.client(url, "view", "-", COMPUTER)
            if all(p["release"] is None for p in view["partitions"]):
                break
        self.assertEqual(view["partitions"], [
            {"id": "slappart%d" % i, "state": "destroyed", "release": None}
            for i in range(PARTITIONS)])
        self.assertEqual([os.listdir(node.partition(i)) for i in range(PARTITIONS)],
                         [[], [], [".slapos-resource"]])

        # removed
        yield self.client(url, "supply", node.sr, COMPUTER, "destroyed")
        result = yield node.cycle(expect=0)
        self.assertEqual(result.software, {node.sr: "destroyed"})
        self.assertFalse(os.path.exists(software_path))
        view = yield self.client(url, "view", "-", COMPUTER)
        self.assertEqual(view["software"], [])
