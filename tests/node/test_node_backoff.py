"""A failing release or partition waits before its next try (issue 22), and the log says why once.

``Retries`` is checked on its own with a task.Clock. Then the running agent (``run_forever``)
against a real slapgate master, its loop timed by a task.Clock while its builds and the master's
connections run on the reactor: over ten simulated minutes with ``cycle_interval = 60`` a release
whose ``buildout`` is missing, and one whose buildout fails, are tried about a dozen times (not
thousands), the polls of the master follow the cycles, and the failure is logged once, at error
level, with the exit status and the end of the output. A change on the master still wakes the
agent at once, and a success resets the wait.
"""

import time

import pytest
from twisted.internet import defer, task
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.trial import unittest

from node_twisted.retries import Retries, excerpt, reason
from tests.fixtures import start_test_master
from tests.node_agent_fixtures import COMPUTER, AgentNode
from tests.node.test_node_agent import MasterSide
from tests.waiting import until

INTERVAL = 60
WINDOW = 600  # simulated seconds


class RetriesTests(unittest.TestCase):
    """The book of failing items, on a task.Clock."""

    def test_waits_double_up_to_the_cap_and_success_resets_them(self):
        clock = task.Clock()
        book = Retries(clock, cap=60, initial=5, jitter=0.0)
        waits = [book.failed("sr", "available", "boom")[0] for _ in range(6)]
        self.assertEqual(waits, [5, 10, 20, 40, 60, 60])
        self.assertTrue(book.waiting("sr", "available"))
        self.assertEqual(book.next_due(), 60)
        clock.advance(59.9)
        self.assertTrue(book.waiting("sr", "available"))
        clock.advance(0.1)
        self.assertFalse(book.waiting("sr", "available"))
        self.assertEqual(book.next_due(), 0)
        self.assertTrue(book.succeeded("sr"))
        self.assertFalse(book.succeeded("sr"))
        self.assertIsNone(book.next_due())
        self.assertEqual(book.failed("sr", "available", "boom")[0], 5)

    def test_jitter_shortens_a_wait_by_at_most_its_share(self):
        book = Retries(task.Clock(), cap=60, initial=5, jitter=0.2, random=lambda: 1.0)
        self.assertEqual(book.failed("p", 1, "x")[0], 4)
        self.assertEqual([book.delay(n) for n in (5, 9)], [48, 48])

    def test_items_that_failed_together_are_due_together(self):
        clock = task.Clock()
        shares = iter([0.1, 0.9])
        book = Retries(clock, cap=60, initial=10, jitter=0.2, random=lambda: next(shares))
        book.failed("release", "available", "x")  # wait 9.8 s
        book.failed("slappart0", ("1", "started"), "y")  # wait 8.2 s
        self.assertAlmostEqual(book.next_due(), 8.2)
        clock.advance(book.next_due())
        self.assertFalse(book.waiting("release", "available"))
        self.assertFalse(book.waiting("slappart0", ("1", "started")))

    def test_another_request_from_the_master_is_due_at_once(self):
        book = Retries(task.Clock(), cap=60)
        book.failed("slappart0", ("1", "started"), "boom")
        self.assertTrue(book.waiting("slappart0", ("1", "started")))
        self.assertFalse(book.waiting("slappart0", ("2", "started")))
        self.assertFalse(book.waiting("slappart1", ("1", "started")))

    def test_a_reason_is_news_once(self):
        book = Retries(task.Clock(), cap=60)
        self.assertTrue(book.failed("sr", "available", "exit 1: a")[1])
        self.assertFalse(book.failed("sr", "available", "exit 1: a")[1])
        self.assertTrue(book.failed("sr", "available", "exit 2: b")[1])
        book.keep_only(["other"])
        self.assertEqual(book.failing(), [])

    def test_reason_and_excerpt_keep_the_step_and_the_end_of_its_output(self):
        message = "Failed to run buildout (exit code 1):\n" + "\n".join(
            "line %d" % i for i in range(30)) + "\nError: no recipe\n"
        self.assertEqual(reason(message), "Failed to run buildout (exit code 1): ... "
                                          "Error: no recipe")
        lines = excerpt(message).splitlines()
        self.assertEqual(lines[:2], ["Failed to run buildout (exit code 1):", "..."])
        self.assertEqual(lines[-1], "Error: no recipe")
        self.assertEqual(len(lines), 12)


@pytest.mark.node
class LoopBackoffTests(unittest.TestCase):
    """``run_forever`` with failing parts, its waits on a task.Clock."""

    timeout = 600

    def setUp(self):
        self.running = start_test_master(self, insecure_loopback=True)
        self.master = MasterSide(self.running)
        self.url = self.running.urls()[0] + "slap/"
        self.events = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def node(self, **kw):
        """A node whose loop runs on a task.Clock; its polls of the master are counted."""
        node = AgentNode(self, self.url, extra_slapos="cycle_interval = %d" % INTERVAL,
                         clock=task.Clock(), **kw)
        node.polls = 0
        information = node.agent.client.computer_information

        def counted():
            node.polls += 1
            return information()

        node.agent.client.computer_information = counted
        return node

    def start(self, node):
        done = node.agent.run_forever()
        self.addCleanup(lambda: done)
        self.addCleanup(node.agent.stop)

    @defer.inlineCallbacks
    def settled(self, node, deadline=120):
        """Wait (real time) until the agent has waited on its clock for half a second, its
        cycle done and its watch of the master in place."""
        seen = {}

        def still():
            state, now = (node.agent.cycles, node.agent.waiting_until), time.monotonic()
            if state[1] is None or state != seen.get("state"):
                seen.update(state=state, since=now)
                return False
            return now - seen["since"] >= 0.5

        yield until(still, deadline, lambda: "the agent never settled into a wait: %d cycles, "
                    "the last %r" % (node.agent.cycles, node.agent.last_result))

    @defer.inlineCallbacks
    def run_window(self, node, seconds):
        """Drive the loop through ``seconds`` of its clock, a wait after another."""
        end = node.clock.seconds() + seconds
        while True:
            yield self.settled(node)
            until = node.agent.waiting_until
            if until is None or until >= end:
                break
            node.clock.advance(until - node.clock.seconds())

    def errors_about(self, text):
        return [formatEvent(e) for e in self.events
                if e.get("log_level") == LogLevel.error and text in formatEvent(e)]

    @defer.inlineCallbacks
    def failing_window(self, node, expected_output):
        """Supply and request the release, run the window; the counts of tries and errors."""
        self.start(node)
        yield self.settled(node)  # formatted
        self.master.call("supply.supply", url=node.sr, computer=COMPUTER)
        self.master.request(node.sr)
        cycles_before, polls_before = node.agent.cycles, node.polls
        yield self.run_window(node, WINDOW)
        cycles = node.agent.cycles - cycles_before
        polls = node.polls - polls_before
        tries = self.master.supplies()[node.sr]
        self.assertEqual(tries.reported_state, "error")
        self.assertIn(expected_output, tries.error_text)
        # Without the waits the loop ran thousands of cycles in this time. With them the release
        # is tried at 0, 5, 15, 35, 75 s and then every 60 s (less up to 20% of jitter): 13 to
        # 15 tries in 600 s, each perhaps followed by one cycle that its own reports woke.
        self.assertGreaterEqual(cycles, 12)
        self.assertLessEqual(cycles, 34)
        self.assertLessEqual(polls, 3 * cycles)
        release_errors = self.errors_about("software release %s failed to build" % node.sr)
        self.assertEqual(len(release_errors), 1, release_errors)
        self.assertIn(expected_output, release_errors[0])
        partition_errors = self.errors_about("partition slappart0 failed")
        self.assertEqual(len(partition_errors), 1, partition_errors)
        return release_errors[0]

    @defer.inlineCallbacks
    def test_a_missing_buildout_is_tried_a_dozen_times_in_ten_minutes_and_said_once(self):
        node = self.node(buildout="slapgate-no-such-buildout")
        said = yield self.failing_window(node, "slapgate-no-such-buildout: not found")
        self.assertIn("exit code 127", said)
        self.assertIn("tried again in", said)

    @defer.inlineCallbacks
    def test_a_failing_buildout_waits_then_a_fixed_release_deploys_at_its_next_try(self):
        node = self.node()
        with open(node.sr) as handle:
            good = handle.read()
        with open(node.sr, "w") as handle:
            handle.write(good.replace("recipe = slapgate-node-sr:template",
                                      "recipe = slapgate-node-sr:no-such-recipe"))
        said = yield self.failing_window(node, "no-such-recipe")
        self.assertIn("exit code 1", said)

        # Fixed: the release builds at its next try, and its partition (whose wait was recorded
        # against an unbuilt release) deploys in the same cycle.
        with open(node.sr, "w") as handle:
            handle.write(good)
        yield self.run_window(node, INTERVAL)
        self.assertEqual(node.agent.software.retries.failing(), [])
        self.assertEqual(self.master.instances()["myinst"].connection.get("greeting"),
                         "hello alice")

    @defer.inlineCallbacks
    def test_a_change_made_while_the_first_cycle_ran_starts_the_next_at_once(self):
        # The first cycle formats the computer: the revision it then has may already count a
        # change made meanwhile, which a wait on it would miss until the periodic cycle.
        node = self.node(buildout="slapgate-no-such-buildout")
        cycle, ran = node.agent.run_cycle, []

        @defer.inlineCallbacks
        def then_change():
            result = yield cycle()
            ran.append(result)
            if len(ran) == 1:  # formatted; the loop has not read the revision yet
                self.master.call("supply.supply", url=node.sr, computer=COMPUTER)
            return result

        node.agent.run_cycle = then_change
        self.start(node)
        yield until(lambda: len(ran) >= 2, 60, "the change was not acted on")
        self.assertEqual(node.clock.seconds(), 0)  # no wait in between
        self.assertIn(node.sr, ran[1].software)

    @defer.inlineCallbacks
    def signature(self, node, partition_id):
        """The signature a failure of the partition is recorded against, as the master now
        describes the partition to the node."""
        _, partitions = yield node.agent.partitions()
        found = [p for p in partitions if p.partition_id == partition_id]
        return node.agent.deployer.signature(found[0])

    @defer.inlineCallbacks
    def test_a_change_on_the_master_is_tried_at_once_despite_the_wait(self):
        node = self.node(buildout="slapgate-no-such-buildout")
        self.start(node)
        yield self.settled(node)
        self.master.call("supply.supply", url=node.sr, computer=COMPUTER)
        self.master.request(node.sr)
        yield self.run_window(node, 20)  # a few failures: the partition's wait is 10 s or more
        retries = node.agent.deployer.retries
        before = yield self.signature(node, "slappart0")
        self.assertTrue(retries.waiting("slappart0", before))
        cycles, now = node.agent.cycles, node.clock.seconds()

        self.master.call("instance.request", title="myinst", software_release=node.sr,
                         parameters={"name": "bob"}, sla={"computer_guid": COMPUTER})
        yield self.settled(node)
        self.assertEqual(node.clock.seconds(), now)  # no time passed on the agent's clock
        self.assertGreater(node.agent.cycles, cycles)
        after = yield self.signature(node, "slappart0")
        self.assertNotEqual(after, before)
        self.assertTrue(retries.waiting("slappart0", after))  # tried, and failed, for the change
        status = self.master.instances()["myinst"].status_text or ""
        self.assertIn("is not correctly installed", status)
