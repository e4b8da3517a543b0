"""``watchComputer``: a node waiting on its computer's revision hears of a change within seconds.

The Watcher itself runs on a ``task.Clock`` over the core in the test's thread: when it answers
is the subject there. Against a started master (insecure loopback, as a node on the same machine): a change made in the
master's process, and one made by another process (``slapgate admin supply`` on the same SQLite
file), each answer a waiting node in under 2 s; a quiet computer answers after the timeout with
the revision unchanged; errors are the SLAP statuses.
"""

import os
import sys
import time

from twisted.internet import defer, task, threads
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from gateway.server import local_admin
from protocols.slap.watch import Watcher
from slap_core.principals import ComputerAgent, User
from tests.fixtures import (SR, MasterMixin, format_configuration, http_client,
                            start_test_master)
from tests.waiting import until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
        yield until(lambda: "COMP-W" in self.running.site.watcher._waiting, 5, "no waiting node")
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
        yield until(lambda: "COMP-W" in watcher._waiting, 5, "no waiting node")
        request.cancel()
        request.addErrback(lambda _: None)
        yield pool.closeCachedConnections()
        yield until(lambda: not watcher._waiting, 5, "the node that went away is still waited on")


class SameThreadCalls:
    """The core called in the test's thread: the Watcher's ``calls``, without a thread pool."""

    def __init__(self, master):
        self.master = master

    def call(self, name, principal, **arguments):
        """Deferred result of ``Master.call``, already fired."""
        return defer.maybeDeferred(self.master.call, name, principal, **arguments)


class WatcherClockTests(MasterMixin, unittest.TestCase):
    """When the Watcher answers, on a task.Clock: each check reads the revisions once."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-W", partitions=2, supply=())
        self.clock = task.Clock()
        self.watcher = Watcher(SameThreadCalls(self.master), User("watch", {"admin"}),
                               self.clock, interval=0.5)
        self.addCleanup(self.watcher.stop)

    def revision(self):
        [found] = self.call("computer.revisions", self.admin, references=["COMP-W"])
        return found.revision

    def test_a_change_answers_at_the_next_check(self):
        known = self.revision()
        waiting = self.watcher.wait("COMP-W", known, 30)
        self.clock.advance(0.5)
        self.assertFalse(waiting.called)
        self.call("supply.supply", self.admin, url=SR, computer="COMP-W")
        self.assertFalse(waiting.called)
        self.clock.advance(0.5)
        self.assertEqual(self.successResultOf(waiting), self.revision())
        self.assertNotEqual(self.revision(), known)
        self.assertEqual(self.clock.getDelayedCalls(), [])  # its timer and the checks stopped

    def test_an_older_revision_answers_at_the_first_check(self):
        known = self.revision()
        self.call("supply.supply", self.admin, url=SR, computer="COMP-W")
        waiting = self.watcher.wait("COMP-W", known, 30)
        self.assertFalse(waiting.called)
        self.clock.advance(0.5)
        self.assertEqual(self.successResultOf(waiting), self.revision())

    def test_a_quiet_computer_answers_what_it_knew_at_its_timeout(self):
        known = self.revision()
        waiting = self.watcher.wait("COMP-W", known, 30)
        self.clock.pump([0.5] * 59)
        self.assertFalse(waiting.called)
        self.clock.advance(0.5)
        self.assertEqual(self.successResultOf(waiting), known)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_two_nodes_of_one_computer_are_answered_by_one_check(self):
        known = self.revision()
        reads = []
        calls = self.watcher.calls
        original = calls.call
        calls.call = lambda name, *args, **kwargs: (reads.append(name), original(name, *args,
                                                                                 **kwargs))[1]
        first = self.watcher.wait("COMP-W", known, 30)
        second = self.watcher.wait("COMP-W", known, 10)
        self.call("supply.supply", self.admin, url=SR, computer="COMP-W")
        self.clock.advance(0.5)
        self.assertEqual(self.successResultOf(first), self.successResultOf(second))
        self.assertEqual(reads, ["computer.revisions"])

    def test_a_node_that_goes_away_is_forgotten(self):
        waiting = self.watcher.wait("COMP-W", self.revision(), 30)
        waiting.cancel()
        self.failureResultOf(waiting, defer.CancelledError)
        self.assertEqual(dict(self.watcher._waiting), {})
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop_answers_every_waiting_node_with_what_it_knew(self):
        known = self.revision()
        waiting = self.watcher.wait("COMP-W", known, 30)
        self.watcher.stop()
        self.assertEqual(self.successResultOf(waiting), known)
        self.assertEqual(self.clock.getDelayedCalls(), [])
