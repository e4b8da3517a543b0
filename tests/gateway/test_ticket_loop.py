"""The master's monitoring timer (gateway.ticket_loop) and its settings."""

import os
import time

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from gateway.config import ConfigError, load
from gateway.core_calls import CoreCalls
from gateway.ticket_loop import MonitorLoop
from slap_core.principals import ComputerAgent, User
from slap_core.views import MonitoringRunView
from tests.fixtures import format_configuration, start_test_master


class MonitorLoopTests(unittest.TestCase):
    """A master whose computer COMP-0, owned by alice, last called two hours ago."""

    timeout = 60

    def setUp(self):
        self.running = start_test_master(self, monitor_interval=600, monitor_silence_delay=3600)
        self.master, self.admin = self.running.master, User("admin", {"admin"})
        self.master.call("computer.create", User("alice"), reference="COMP-0")
        self.master.call("computer.format", ComputerAgent("COMP-0"), reference="COMP-0",
                         configuration=format_configuration("COMP-0", 1))
        self.master.contacts.drain()
        self.master.contacts.note("COMP-0", at=time.time() - 7200)

    def tickets(self):
        return [(t.requester, t.computer, t.kind)
                for t in self.master.call("ticket.list", self.admin)]

    def test_the_server_runs_it_with_the_configured_delays(self):
        loop = self.running.monitoring
        self.assertIsInstance(loop, MonitorLoop)
        self.assertTrue(loop.loop.running)
        self.assertEqual(loop.delays, {"idle_after": 30 * 86400.0, "error_after": 3600.0,
                                       "silent_after": 3600})

    @defer.inlineCallbacks
    def test_a_pass_opens_then_closes_and_every_interval_runs_one(self):
        clock = task.Clock()
        loop = MonitorLoop(CoreCalls(self.master, reactor), self.admin, clock, 0, 0, 3600)
        self.addCleanup(loop.stop)
        loop.start(600)
        self.assertEqual(self.tickets(), [])  # the first pass waits an interval
        yield loop.check()
        self.assertEqual(self.tickets(), [("alice", "COMP-0", "monitoring")])
        yield loop.check()
        self.assertEqual(len(self.tickets()), 1)  # one per subject
        self.master.call("computer.information", ComputerAgent("COMP-0"), reference="COMP-0")
        yield loop.check()
        self.assertEqual(self.tickets(), [])
        calls = []
        loop.calls = type("Calls", (), {"call": lambda _, *a, **k: calls.append(a) or
                                        defer.succeed(MonitoringRunView((), (), 0))})()
        clock.advance(600)
        self.assertEqual(calls, [("ticket.monitor", self.admin)])

    @defer.inlineCallbacks
    def test_a_failing_pass_is_logged_and_the_loop_goes_on(self):
        loop = MonitorLoop(CoreCalls(self.master, reactor), User("alice"), task.Clock(), 0, 0, 1)
        self.assertIsNone((yield loop.check()))
        self.assertEqual(len(self.flushLoggedErrors()), 1)

    def test_settings(self):
        path = os.path.abspath(self.mktemp())
        for line, accepted in (("monitor_interval = 60", True), ("ticket_idle_close = 0", True),
                               ("monitor_error_delay = -1", False),
                               ("monitor_silence_delay = soon", False)):
            with open(path, "w") as handle:
                handle.write("[master]\n%s\n" % line)
            if accepted:
                name, value = line.split(" = ")
                self.assertEqual(getattr(load(path), name), float(value))
            else:
                self.assertRaises(ConfigError, load, path)
