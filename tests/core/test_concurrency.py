"""Allocation atomicity and request idempotence under real concurrency.

Threads share one Master (one session per call, as the gateway's thread pool does); OS processes
(``spawn``: nothing is inherited) each open their own Master on the same database. Every check
runs on an SQLite file (WAL) and on a real PostgreSQL cluster. A barrier releases all workers at
once, so their transactions really overlap.
"""

import multiprocessing
import queue
import random
import threading
import time
import traceback
from collections import namedtuple

from sqlalchemy import select
import pytest
from twisted.trial import unittest

from slap_core import errors
from slap_core.master import Master
from slap_core.models import Computer, InstanceTree, Partition, SoftwareInstance
from slap_core.principals import User
from tests.fixtures import OTHER_SR, SR, MasterMixin
from tests.postgres import start_postgres

COMPUTERS = 2
PARTITIONS_PER_COMPUTER = 8
PARTITIONS = COMPUTERS * PARTITIONS_PER_COMPUTER
THREADS = 8
REQUESTS_PER_THREAD = 25
PROCESSES = 4
REQUESTS_PER_PROCESS = 15
DEADLINE = 60  # seconds a batch of workers may take before the test fails

Outcome = namedtuple("Outcome", "title reference computer partition")
"""What one instance.request answered: computer and partition are None when it was NotReady."""


def request_outcome(master, principal, title, software_release=SR):
    """instance.request as an Outcome (allocated or NotReady); any other error propagates."""
    try:
        view = master.call("instance.request", principal, title=title,
                           software_release=software_release)
    except errors.NotReady as pending:
        view = pending.result
        if view.allocated:
            raise AssertionError("NotReady for an allocated instance: %r" % (view,)) from None
        return Outcome(title, view.reference, None, None)
    if not view.allocated:
        raise AssertionError("a request answered without NotReady but unallocated: %r" % (view,))
    return Outcome(title, view.reference, view.computer, view.partition)


def _process_main(url, login, titles, barrier, results):
    """Body of one worker process: its own Master, then every request, then one queue message."""
    try:
        master = Master(url)
        try:
            barrier.wait(DEADLINE)
            outcomes = [tuple(request_outcome(master, User(login), title)) for title in titles]
        finally:
            master.close()
        results.put((login, outcomes, None))
    except BaseException:  # reported to the parent, which fails the test with it
        results.put((login, [], traceback.format_exc()))


class ConcurrencyMixin(MasterMixin):
    """The concurrency properties, whatever the database."""

    def setUp(self):
        super().setUp()
        for number in range(COMPUTERS):
            self.make_computer("COMP-%d" % number, partitions=PARTITIONS_PER_COMPUTER,
                               subnet=number)

    # -- running workers ----------------------------------------------------------------------

    def in_threads(self, jobs, software_release=SR):
        """Run each job ``(principal, titles)`` in its own thread, all released at once.

        Every thread requests its titles in order through ``self.master``; returns all Outcomes.
        """
        barrier = threading.Barrier(len(jobs))
        lock = threading.Lock()
        outcomes, failures = [], []

        def work(principal, titles):
            try:
                barrier.wait(DEADLINE)
                mine = [request_outcome(self.master, principal, title, software_release)
                        for title in titles]
                with lock:
                    outcomes.extend(mine)
            except BaseException:
                with lock:
                    failures.append(traceback.format_exc())

        threads = [threading.Thread(target=work, args=job, daemon=True) for job in jobs]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + DEADLINE
        for thread in threads:
            thread.join(max(0, deadline - time.monotonic()))
        self.assertFalse([t for t in threads if t.is_alive()], "threads still running")
        self.assert_no_failures(failures, len(jobs))
        return outcomes

    def in_processes(self, jobs):
        """Run each job ``(login, titles)`` in its own spawned OS process; returns all Outcomes."""
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(len(jobs))
        results = context.Queue()
        url = self.master.storage.url
        processes = [context.Process(target=_process_main, args=(url, login, titles, barrier,
                                                                  results), daemon=True)
                     for login, titles in jobs]
        for process in processes:
            process.start()
        self.addCleanup(self._reap, processes)
        outcomes, failures = [], []
        deadline = time.monotonic() + DEADLINE
        for _ in processes:
            try:
                login, batch, failure = results.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.fail("worker processes did not all answer within %d s" % DEADLINE)
            outcomes.extend(Outcome(*item) for item in batch)
            if failure:
                failures.append("%s:\n%s" % (login, failure))
        for process in processes:
            process.join(max(0.1, deadline - time.monotonic()))
        self.assert_no_failures(failures, len(jobs))
        self.assertEqual([p.exitcode for p in processes], [0] * len(processes))
        return outcomes

    def assert_no_failures(self, failures, workers):
        """Fail with the first worker's error (its traceback's end) if any worker raised."""
        if failures:
            self.fail("%d of %d workers raised; the first:\n%s" % (
                len(failures), workers, "\n".join(failures[0].splitlines()[-12:])))

    @staticmethod
    def _reap(processes):
        for process in processes:
            if process.is_alive():
                process.kill()
            process.join(10)

    # -- what the database and the nodes see ----------------------------------------------------

    def partition_table(self):
        """{(computer, partition): (slap_state, instance reference or None)} read from the rows."""
        with self.master.storage.transaction(write=False) as session:
            rows = session.execute(
                select(Computer.reference, Partition.reference, Partition.slap_state,
                       SoftwareInstance.reference)
                .join(Computer, Partition.computer_id == Computer.id)
                .outerjoin(SoftwareInstance, Partition.instance_id == SoftwareInstance.id)
            ).all()
        return {(computer, partition): (state, instance)
                for computer, partition, state, instance in rows}

    def tree_count(self):
        with self.master.storage.transaction(write=False) as session:
            return len(session.scalars(select(InstanceTree.id)).all())

    def polled_placements(self):
        """{(computer, partition): instance reference} of busy partitions, as nodes poll them."""
        placed = {}
        for number in range(COMPUTERS):
            computer = "COMP-%d" % number
            for reference, view in self.poll(computer).items():
                if view.instance is not None:
                    placed[(computer, reference)] = view.instance
        return placed

    def assert_placements_consistent(self, outcomes):
        """What callers were told, the partition rows, the nodes' polls and instance.list agree.

        Returns {(computer, partition): instance reference}.
        """
        told = {}
        for outcome in outcomes:
            if outcome.partition is None:
                continue
            place = (outcome.computer, outcome.partition)
            self.assertEqual(told.setdefault(place, outcome.reference), outcome.reference,
                             "partition %s/%s given to two instances" % place)
        table = self.partition_table()
        busy = {place: instance for place, (state, instance) in table.items() if instance}
        for place, (state, instance) in table.items():
            self.assertEqual(state, "busy" if instance else "free", place)
        self.assertEqual(busy, told)
        self.assertEqual(self.polled_placements(), told)
        listed = self.call("instance.list", self.admin)
        self.assertEqual({(i.computer, i.partition): i.reference for i in listed if i.allocated},
                         told)
        self.assertEqual(len(listed), len({o.reference for o in outcomes}))
        return told

    # -- the properties -----------------------------------------------------------------------

    def check_distinct_titles(self, outcomes, requests):
        """Each request made its own instance; exactly PARTITIONS got one; the rest NotReady."""
        self.assertEqual(len(outcomes), requests)
        self.assertEqual(len({o.reference for o in outcomes}), requests)
        placed = self.assert_placements_consistent(outcomes)
        self.assertEqual(len(placed), PARTITIONS)
        self.assertEqual(sum(1 for o in outcomes if o.partition is None), requests - PARTITIONS)

    def check_one_title(self, outcomes, requests, login="alice"):
        """Every request answered the same instance on the same partition; one instance exists."""
        self.assertEqual(len(outcomes), requests)
        self.assertEqual(len({o.reference for o in outcomes}), 1)
        self.assertEqual(len({(o.computer, o.partition) for o in outcomes}), 1)
        self.assertIsNotNone(outcomes[0].partition)
        mine = self.call("instance.list", User(login))
        self.assertEqual([(i.title, i.reference) for i in mine],
                         [("same", outcomes[0].reference)])
        self.assertEqual(self.tree_count(), 1)
        self.assertEqual(len(self.assert_placements_consistent(outcomes)), 1)

    def test_threads_requesting_distinct_titles_never_share_a_partition(self):
        jobs = [(User("user%d" % n), ["t%d-%d" % (n, i) for i in range(REQUESTS_PER_THREAD)])
                for n in range(THREADS)]
        outcomes = self.in_threads(jobs)
        self.check_distinct_titles(outcomes, THREADS * REQUESTS_PER_THREAD)

    def test_threads_requesting_exactly_as_many_instances_as_partitions_all_get_one(self):
        # A request that loses a partition to a concurrent one must take another, not give up.
        per_thread = PARTITIONS // THREADS
        jobs = [(User("user%d" % n), ["fit%d-%d" % (n, i) for i in range(per_thread)])
                for n in range(THREADS)]
        outcomes = self.in_threads(jobs)
        self.assertEqual([o for o in outcomes if o.partition is None], [])
        self.check_distinct_titles(outcomes, PARTITIONS)

    def test_threads_requesting_one_title_create_one_instance(self):
        jobs = [(self.alice, ["same"] * 5) for _ in range(THREADS)]
        outcomes = self.in_threads(jobs)
        self.check_one_title(outcomes, THREADS * 5)

    def test_threads_re_requesting_pending_instances_give_each_one_partition(self):
        # Pending instances (their release is supplied nowhere) become placeable at once, and every
        # thread re-requests all of them: each must still end up on exactly one partition.
        titles = ["pending%d" % i for i in range(6)]
        for title in titles:
            self.assertIsNone(request_outcome(self.master, self.alice, title, OTHER_SR).partition)
        self.call("supply.supply", self.admin, url=OTHER_SR, computer="COMP-0")
        orders = [random.Random(n).sample(titles, len(titles)) for n in range(THREADS)]
        outcomes = self.in_threads([(self.alice, order) for order in orders], OTHER_SR)
        self.assertEqual(len(outcomes), THREADS * len(titles))
        self.assertNotIn(None, [o.partition for o in outcomes])
        for title in titles:
            places = {(o.computer, o.partition) for o in outcomes if o.title == title}
            self.assertEqual(len(places), 1, "%s was placed on %s" % (title, places))
        placed = self.assert_placements_consistent(outcomes)
        self.assertEqual(len(placed), len(titles))
        self.assertEqual({computer for computer, _ in placed}, {"COMP-0"})

    def test_processes_requesting_distinct_titles_never_share_a_partition(self):
        jobs = [("user%d" % n, ["t%d-%d" % (n, i) for i in range(REQUESTS_PER_PROCESS)])
                for n in range(PROCESSES)]
        outcomes = self.in_processes(jobs)
        self.check_distinct_titles(outcomes, PROCESSES * REQUESTS_PER_PROCESS)

    def test_processes_requesting_one_title_create_one_instance(self):
        jobs = [("alice", ["same"] * 5) for _ in range(PROCESSES)]
        outcomes = self.in_processes(jobs)
        self.check_one_title(outcomes, PROCESSES * 5)

    def test_partitions_requesting_one_child_title_create_one_instance(self):
        root = self.request(self.alice, "root")
        agent = self.partition_agent(root)
        outcomes = self.in_threads([(agent, ["child"] * 3) for _ in range(THREADS)])
        self.assertEqual(len({o.reference for o in outcomes}), 1)
        self.assertEqual(len({(o.computer, o.partition) for o in outcomes}), 1)
        self.assertEqual(sorted(i.title for i in self.call("instance.list", self.alice)),
                         ["child", "root"])
        self.assertEqual(self.tree_count(), 1)
        self.assertEqual(len(self.assert_placements_consistent(
            outcomes + [Outcome("root", root.reference, root.computer, root.partition)])), 2)


class SQLiteConcurrencyTests(ConcurrencyMixin, unittest.TestCase):
    """One SQLite file (WAL) shared by threads and processes."""


@pytest.mark.postgres
class PostgreSQLConcurrencyTests(ConcurrencyMixin, unittest.TestCase):
    """A real PostgreSQL cluster, one fresh database per test."""

    def setUp(self):
        self.database_url = start_postgres(self)
        super().setUp()
