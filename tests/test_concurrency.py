"""Allocation and idempotence under real concurrency: threads and OS processes hammering one
database, SQLite and PostgreSQL alike."""

import multiprocessing
import threading
from collections import Counter

from twisted.trial import unittest

from slap_core import errors
from slap_core.master import Master
from slap_core.principals import User
from tests.fixtures import SR, MasterMixin
from tests.pg_cluster import postgres_url

PARTITIONS_PER_COMPUTER = 10
COMPUTERS = 2


def request_many(url, login, titles):
    """Request each title as ``login``; returns [(title, reference, allocated)]."""
    master = Master(url)
    try:
        results = []
        for title in titles:
            try:
                view = master.call("instance.request", User(login), title=title,
                                   software_release=SR)
                results.append((title, view.reference, True))
            except errors.NotReady as pending:
                results.append((title, pending.result.reference, False))
        return results
    finally:
        master.close()


def _process_worker(arguments):
    return request_many(*arguments)


class ConcurrencyMixin(MasterMixin):
    """The properties, whatever the database."""

    def setUp(self):
        super().setUp()
        for number in range(COMPUTERS):
            self.make_computer("COMP-%d" % number, partitions=PARTITIONS_PER_COMPUTER,
                               subnet=number)

    def in_threads(self, jobs):
        """Run request_many(url, login, titles) for each job in its own thread, all at once."""
        results, failures = [], []
        barrier = threading.Barrier(len(jobs))

        def run(login, titles):
            try:
                barrier.wait(timeout=30)
                results.extend(request_many(self.master.storage.url, login, titles))
            except Exception as error:  # reported below, with the thread's error
                failures.append(error)

        threads = [threading.Thread(target=run, args=job) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        self.assertEqual(failures, [])
        return results

    def in_processes(self, jobs):
        """Run request_many in separate OS processes (spawned, so nothing is shared)."""
        context = multiprocessing.get_context("spawn")
        with context.Pool(len(jobs)) as pool:
            batches = pool.map(_process_worker,
                               [(self.master.storage.url, login, titles)
                                for login, titles in jobs], chunksize=1)
        return [item for batch in batches for item in batch]

    def assert_each_partition_holds_one_instance(self, expected_allocated):
        admin = User("admin", {"admin"})
        instances = self.call("instance.list", admin)
        placed = [(i.computer, i.partition) for i in instances if i.allocated]
        self.assertEqual(len(placed), len(set(placed)), "a partition was given twice")
        self.assertEqual(len(placed), expected_allocated)
        busy = [p.instance for c in range(COMPUTERS) for p in self.poll("COMP-%d" % c).values()
                if p.instance]
        self.assertEqual(sorted(busy), sorted(i.reference for i in instances if i.allocated))

    def check_distinct_titles(self, run):
        jobs = [("user%d" % n, ["t%d-%d" % (n, i) for i in range(5)]) for n in range(8)]
        results = run(jobs)
        self.assertEqual(len(results), 40)
        total = COMPUTERS * PARTITIONS_PER_COMPUTER
        self.assertEqual(sum(1 for _, _, allocated in results if allocated), total)
        self.assertEqual(len({reference for _, reference, _ in results}), 40)
        self.assert_each_partition_holds_one_instance(total)

    def check_same_title(self, run):
        jobs = [("alice", ["same"] * 5) for _ in range(6)]
        results = run(jobs)
        self.assertEqual(len(results), 30)
        self.assertEqual(len({reference for _, reference, _ in results}), 1)
        self.assertEqual([i.title for i in self.call("instance.list", self.alice)], ["same"])
        self.assert_each_partition_holds_one_instance(1)

    def test_threads_requesting_distinct_titles_never_share_a_partition(self):
        self.check_distinct_titles(self.in_threads)

    def test_threads_requesting_one_title_create_one_instance(self):
        self.check_same_title(self.in_threads)

    def test_processes_requesting_distinct_titles_never_share_a_partition(self):
        self.check_distinct_titles(self.in_processes)

    def test_processes_requesting_one_title_create_one_instance(self):
        self.check_same_title(self.in_processes)

    def test_concurrent_children_of_one_tree_get_one_instance_per_title(self):
        root = self.request(self.alice, "root")
        agent = self.partition_agent(root)
        outcomes = Counter()
        lock = threading.Lock()
        barrier = threading.Barrier(6)

        def child():
            barrier.wait(timeout=30)
            view = self.master.call("instance.request", agent, title="db", software_release=SR)
            with lock:
                outcomes[view.reference] += 1

        threads = [threading.Thread(target=child) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(list(outcomes.values()), [6])
        self.assert_each_partition_holds_one_instance(2)


class SQLiteConcurrencyTests(ConcurrencyMixin, unittest.TestCase):
    """One SQLite file (WAL) shared by threads and processes."""


class PostgreSQLConcurrencyTests(ConcurrencyMixin, unittest.TestCase):
    """A real PostgreSQL cluster."""

    def setUp(self):
        self.database_url = postgres_url(self)
        super().setUp()


