"""Logs say what changed (issue 17, item 7): a node's routine polls are access log lines at
debug, other requests at info; a cut message says it was cut."""

from twisted.internet import defer
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial import unittest

from gateway.server import local_admin
from node_twisted.slap_client import clip
from tests.fixtures import http_client, start_test_master


class AccessLogTests(unittest.TestCase):
    """The master's access log lines, by level."""

    timeout = 60

    def setUp(self):
        self.running = start_test_master(self, insecure_loopback=True)
        self.running.master.call("computer.create", local_admin(), reference="COMP-3")
        self.base = self.running.urls()[0]
        self.events = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    @defer.inlineCallbacks
    def get(self, path):
        response = yield http_client(self).get(self.base + path)
        yield response.content()
        return response.code

    def levels(self, fragment):
        return [e["log_level"] for e in self.events
                if e.get("log_namespace") == "slapgate.access" and fragment in e["line"]]

    @defer.inlineCallbacks
    def test_routine_polls_at_debug_the_rest_at_info(self):
        self.assertEqual((yield self.get("slap/getFullComputerInformation?computer_id=COMP-3")),
                         200)
        self.assertEqual((yield self.get("slap/watchComputer?computer_id=COMP-3&timeout=0")),
                         200)
        self.assertEqual((yield self.get("slap/getFullComputerInformation?computer_id=COMP-4")),
                         404)
        self.assertEqual((yield self.get("health")), 200)
        self.assertEqual(self.levels("computer_id=COMP-3"), [LogLevel.debug, LogLevel.debug])
        self.assertEqual(self.levels("computer_id=COMP-4"), [LogLevel.info])  # a problem
        self.assertEqual(self.levels("GET /health"), [LogLevel.info])


class ClipTests(unittest.TestCase):
    """A cut text says so."""

    def test_a_cut_text_says_how_much_went(self):
        self.assertEqual(clip("short", 10), "short")
        self.assertEqual(clip("a" * 12, 10), "aaaaaaaaaa [2 characters cut]")
        self.assertEqual(clip("0123456789ab", 10, keep="end"), "[2 characters cut] 23456789ab")
