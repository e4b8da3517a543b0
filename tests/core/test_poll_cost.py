"""A node's poll reads only that node's rows: a fixed number of queries, each using an index."""

from sqlalchemy import event, text

from slap_core.principals import ComputerAgent
from tests.fixtures import SR, MasterTestCase


class StatementRecorder:
    """Collects (statement, parameters) executed on an engine while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements = []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            self.statements.append((statement, parameters))


class PollCostTests(MasterTestCase):
    """computer.information on a fleet of several computers."""

    def setUp(self):
        super().setUp()
        for number in range(4):
            self.make_computer("COMP-%d" % number, partitions=3 + 10 * number, subnet=number)
        for number in range(20):
            self.request(self.alice, "inst%d" % number, sla={"computer_guid": "COMP-3"})
        self.request(self.bob, "guest", shared=True, sla={"computer_guid": "COMP-3"})

    def poll(self, computer):
        with StatementRecorder(self.master.storage.engine) as recorder:
            info = self.call("computer.information", ComputerAgent(computer), reference=computer)
        return info, recorder.statements

    def test_number_of_queries_does_not_grow_with_partitions(self):
        small, small_statements = self.poll("COMP-0")
        large, large_statements = self.poll("COMP-3")
        self.assertEqual(len(small.partitions), 3)
        self.assertEqual(len(large.partitions), 33)
        self.assertEqual(sum(1 for p in large.partitions if p.instance), 20)
        self.assertLessEqual(len(large_statements), len(small_statements) + 3)
        self.assertLessEqual(len(large_statements), 8)

    def test_every_poll_query_uses_an_index(self):
        _, statements = self.poll("COMP-3")
        with self.master.storage.engine.connect() as connection:
            for statement, parameters in statements:
                plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                  parameters).all()
                details = [row[-1] for row in plan]
                scans = [d for d in details if d.startswith("SCAN ")
                         and "USING" not in d and "CONSTANT ROW" not in d]
                self.assertEqual(scans, [], "full scan in %s: %s" % (statement, details))

    def test_poll_sees_only_its_own_partitions_and_supplies(self):
        info, _ = self.poll("COMP-1")
        self.assertEqual({p.computer for p in info.partitions}, {"COMP-1"})
        self.assertEqual([s.url for s in info.software], [SR])
        with self.master.storage.engine.connect() as connection:
            total = connection.execute(text("SELECT count(*) FROM partition")).scalar()
        self.assertEqual(total, 3 + 13 + 23 + 33)
