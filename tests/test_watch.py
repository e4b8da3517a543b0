"""``watchComputer``: a node waiting on its computer's revision hears of a change within seconds.

Against a started master (insecure loopback, as a node on the same machine): a change made in the
master's process, and one made by another process (``slapgate admin supply`` on the same SQLite
file), each answer a waiting node in under 2 s; a quiet computer answers after the timeout with
the revision unchanged; errors are the SLAP statuses.
"""

import os
import sys
import time

from twisted.internet import defer, threads
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from gateway.server import local_admin
from slap_core.principals import ComputerAgent
from tests.fixtures import SR, format_configuration, http_client, start_test_master

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class WatchTests(unittest.TestCase):
    """watchComputer through HTTP."""

    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        self.running = start_test_master(self, insecure_loopback=True, allocation_interval=0)
        self.slap = self.running.urls()[0] + "slap/"
        yield self.core("computer.create", local_admin(), reference="COMP-W")
        yield self.core("computer.format", ComputerAgent("COMP-W"), reference="COMP-W",
                        configuration=format_configuration("COMP-W", 2))

    def core(self, name, principal, **arguments):
        return threads.deferToThread(self.running.master.call, name, principal, **arguments)

    @defer.inlineCallbacks
    def watch(self, computer="COMP-W", **fields):
        """(status, body) of one watchComputer request."""
        query = "&".join("%s=%s" % item for item in dict(computer_id=computer, **fields).items())
        response = yield http_client(self).get(self.slap + "watchComputer?" + query)
        body = yield response.content()
        return response.code, body.decode()

    @defer.inlineCallbacks
    def test_a_change_in_the_master_answers_a_waiting_node_at_once(self):
        code, revision = yield self.watch()
        self.assertEqual(code, 200)
        started = time.monotonic()
        waiting = self.watch(revision=revision, timeout=20)
        yield threads.deferToThread(time.sleep, 0.3)
        self.assertFalse(waiting.called)
        yield self.core("supply.supply", local_admin(), url=SR, computer="COMP-W")
        code, moved = yield waiting
        self.assertEqual(code, 200)
        self.assertGreater(int(moved), int(revision))
        self.assertLess(time.monotonic() - started, 2.3)
        # Knowing an older revision answers at once.
        code, now = yield self.watch(revision=revision)
        self.assertEqual(now, moved)

    @defer.inlineCallbacks
    def test_a_change_by_another_process_answers_within_two_seconds(self):
        code, revision = yield self.watch()
        waiting = self.watch(revision=revision, timeout=20)
        started = time.monotonic()
        out, err, status = yield getProcessOutputAndValue(
            sys.executable, ["-m", "gateway.cli", "admin", "--db",
                             self.running.master.storage.url.replace("sqlite:///", ""),
                             "supply", SR, "COMP-W"],
            env=dict(os.environ, PYTHONPATH=ROOT), path=ROOT)
        self.assertEqual(status, 0, err)
        changed = time.monotonic()
        code, moved = yield waiting
        self.assertNotEqual(moved, revision)
        self.assertLess(time.monotonic() - changed, 2.0)
        self.assertGreater(time.monotonic() - started, 0)

    @defer.inlineCallbacks
    def test_a_quiet_computer_answers_after_the_timeout(self):
        code, revision = yield self.watch()
        started = time.monotonic()
        code, same = yield self.watch(revision=revision, timeout=0.7)
        self.assertEqual((code, same), (200, revision))
        self.assertGreaterEqual(time.monotonic() - started, 0.6)

    @defer.inlineCallbacks
    def test_errors_are_slap_statuses(self):
        code, _ = yield self.watch(computer="COMP-NONE")
        self.assertEqual(code, 404)
        code, _ = yield self.watch(revision="abc")
        self.assertEqual(code, 400)
        code, _ = yield self.watch(revision="1", timeout="600")
        self.assertEqual(code, 400)

    @defer.inlineCallbacks
    def test_a_node_that_goes_away_is_forgotten(self):
        from treq.client import HTTPClient
        from twisted.internet import reactor
        from twisted.web.client import Agent, HTTPConnectionPool

        code, revision = yield self.watch()
        pool = HTTPConnectionPool(reactor, persistent=False)
        request = HTTPClient(Agent(reactor, pool=pool)).get(
            self.slap + "watchComputer?computer_id=COMP-W&revision=%s&timeout=30" % revision)
        watcher = self.running.site.watcher
        for _ in range(50):
            if watcher._waiting:
                break
            yield threads.deferToThread(time.sleep, 0.05)
        self.assertIn("COMP-W", watcher._waiting)
        request.cancel()
        request.addErrback(lambda _: None)
        yield pool.closeCachedConnections()
        for _ in range(50):
            if not watcher._waiting:
                break
            yield threads.deferToThread(time.sleep, 0.05)
        self.assertEqual(dict(watcher._waiting), {})
