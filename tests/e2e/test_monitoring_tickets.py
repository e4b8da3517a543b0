"""A monitoring ticket end to end: memcached deployed by slapgate's node dies (killed), the node
reports its promise failing, the master's monitoring pass opens a ticket for the service's
owner; the service is repaired (stopped and started again by its owner, which redeploys it) and
the next pass closes the ticket itself."""

import signal

import pytest
from twisted.internet import defer, threads
from twisted.trial import unittest

from slap_core.principals import User
from tests.e2e.test_memcached_demo import (ADDRESS, MEMCACHED_SR, answers, free_port,
                                           memcached_processes, stop_memcached)
from tests.fixtures import start_test_master
from tests.node_harness import COMPUTER, kill_until_gone

ALICE = User("alice")


@pytest.mark.node
class MonitoringTicketTests(unittest.TestCase):
    """alice's memcached on the local node, watched by the master's monitoring."""

    timeout = 900

    def call(self, name, principal, **arguments):
        return threads.deferToThread(self.running.master.call, name, principal, **arguments)

    @defer.inlineCallbacks
    def converge(self, node, done, cycles=4):
        """Run node cycles until ``done()`` (a Deferred of a truth) holds."""
        for _ in range(cycles):
            yield node.cycle()
            if (yield done()):
                return
        self.fail("not reached in %d node cycles" % cycles)

    @defer.inlineCallbacks
    def test_a_killed_memcached_opens_a_ticket_closed_once_repaired(self):
        from tests.node_agent_fixtures import AgentNode

        port = free_port(ADDRESS)
        self.addCleanup(stop_memcached, port)
        self.running = start_test_master(self, insecure_loopback=True)
        admin = User(self.running.credentials[0], {"admin"})
        node = AgentNode(self, self.running.urls()[0] + "slap/", release=MEMCACHED_SR)
        yield node.agent.format_if_needed()
        yield self.call("supply.supply", admin, url=node.sr, computer=COMPUTER)
        view = yield self.call("instance.request", ALICE, title="cache", software_release=node.sr,
                               parameters={"tcp-port": str(port), "memory-mb": "16"},
                               sla={"computer_guid": COMPUTER})

        def started():
            return threads.deferToThread(lambda: answers(ADDRESS, port))

        yield self.converge(node, started)
        monitor = dict(error_after=0.001)
        self.assertEqual((yield self.call("ticket.monitor", admin, **monitor)).opened, ())

        yield kill_until_gone(lambda: memcached_processes(port), ((signal.SIGKILL, 5.0),))

        @defer.inlineCallbacks
        def in_error():
            instance = yield self.call("instance.get", ALICE, reference=view.reference)
            return (instance.status_text or "").startswith("#error")

        yield self.converge(node, in_error)
        instance = yield self.call("instance.get", ALICE, reference=view.reference)
        self.assertIn("memcached-port", instance.status_text)  # its promise
        run = yield self.call("ticket.monitor", admin, **monitor)
        (reference,) = run.opened
        ticket = yield self.call("ticket.get", ALICE, reference=reference)
        self.assertEqual((ticket.kind, ticket.tree, ticket.requester, ticket.state),
                         ("monitoring", "cache", "alice", "open"))
        self.assertIn("memcached-port", ticket.messages[0].text)

        # the owner restarts the service: the node deploys it again and memcached answers
        yield self.call("instance.change", ALICE, reference=view.reference, state="stopped")
        yield node.cycle()
        yield self.call("instance.change", ALICE, reference=view.reference, state="started")

        @defer.inlineCallbacks
        def well():
            instance = yield self.call("instance.get", ALICE, reference=view.reference)
            return instance.status_text.startswith("#access") and (yield started())

        yield self.converge(node, well)
        run = yield self.call("ticket.monitor", admin, **monitor)
        self.assertEqual(run.closed, (reference,))
        ticket = yield self.call("ticket.get", ALICE, reference=reference)
        self.assertEqual((ticket.state, ticket.messages[-1].author), ("closed", None))
