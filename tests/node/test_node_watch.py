"""The node agent reacts to a change on the master in seconds, not at its next periodic cycle.

``run_forever`` waits on ``watchComputer`` between cycles; with ``cycle_interval`` set to 120 s, a
parameter change made on the master is deployed (its new connection parameters published) within
seconds. Against a master that does not serve the watch, the agent sleeps ``cycle_interval``.
"""

import time

import pytest
from twisted.internet import defer
from twisted.trial import unittest

from slap_core import errors
from tests.fixtures import start_test_master
from tests.node_agent_fixtures import COMPUTER, AgentNode
from tests.waiting import until
from tests.node.test_node_agent import MasterSide

INTERVAL = 120


@pytest.mark.node
class NodeWatchTests(unittest.TestCase):
    """A running agent (run_forever) against a slapgate master."""

    timeout = 300

    def setUp(self):
        self.running = start_test_master(self, insecure_loopback=True)
        self.master = MasterSide(self.running)
        self.url = self.running.urls()[0] + "slap/"

    @defer.inlineCallbacks
    def until(self, condition, what, deadline):
        """Wait (polling the master's core in a thread) until ``condition()``; the seconds taken."""
        started = time.monotonic()
        yield until(condition, deadline, what, step=0.2, in_thread=True)
        return time.monotonic() - started

    def formatted(self):
        try:
            return len(self.master.partitions()) > 0
        except errors.NotFound:
            return False

    def greeting(self):
        found = self.master.instances().get("myinst")
        return found.connection.get("greeting") if found is not None else None

    @defer.inlineCallbacks
    def test_a_change_on_the_master_is_deployed_within_seconds(self):
        node = AgentNode(self, self.url, extra_slapos="cycle_interval = %d" % INTERVAL)
        done = node.agent.run_forever()
        self.addCleanup(lambda: done)
        self.addCleanup(node.agent.stop)
        # The first cycle formats; the supply and the request are then acted on without waiting
        # for the next periodic cycle.
        yield self.until(self.formatted, "format", 60)
        self.master.call("supply.supply", url=node.sr, computer=COMPUTER)
        self.master.request(node.sr)
        yield self.until(lambda: self.greeting() == "hello alice", "first deployment", 120)
        # Now a parameter change: the node deploys it and publishes the new greeting.
        self.master.call("instance.request", title="myinst", software_release=node.sr,
                         parameters={"name": "bob"}, sla={"computer_guid": COMPUTER})
        taken = yield self.until(lambda: self.greeting() == "hello bob", "redeployment", 60)
        self.assertLess(taken, 20)  # buildout included; the periodic cycle would take 120 s

    @defer.inlineCallbacks
    def test_stop_ends_a_waiting_loop_at_once(self):
        node = AgentNode(self, self.url, extra_slapos="cycle_interval = %d" % INTERVAL)
        done = node.agent.run_forever()
        yield self.until(self.formatted, "format", 60)
        yield until(lambda: node.agent.waiting_until is not None, 30, "no wait after a cycle")
        started = time.monotonic()
        node.agent.stop()
        yield done
        self.assertLess(time.monotonic() - started, 5)
