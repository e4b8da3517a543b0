"""Master.call: unknown operations and arguments, transactions that keep or drop their changes."""

from sqlalchemy import text

from slap_core import errors
from slap_core.storage import database_url
from tests.fixtures import MasterTestCase


class MasterCallTests(MasterTestCase):
    """The entry point adaptors use."""

    def test_unknown_operation_is_not_found(self):
        self.assertRaises(errors.NotFound, self.call, "instance.teleport", self.alice)

    def test_unknown_or_missing_arguments_are_invalid(self):
        error = self.assertRaises(errors.Invalid, self.call, "instance.request", self.alice,
                                  title="x", software_release="http://sr", colour="red")
        self.assertIn("colour", str(error))
        self.assertRaises(errors.Invalid, self.call, "instance.request", self.alice, title="x")

    def count(self, table):
        with self.master.storage.engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM %s" % table)).scalar()

    def test_a_failed_operation_leaves_no_trace(self):
        self.make_computer("COMP-0", partitions=1)
        before = self.count("software_release")
        self.assertRaises(errors.Invalid, self.call, "instance.request", self.alice,
                          title="x", software_release="http://new/sr.cfg", state="bogus")
        self.assertRaises(errors.Forbidden, self.call, "supply.supply", self.bob,
                          url="http://new/sr.cfg", computer="COMP-0")
        self.assertEqual(self.count("software_release"), before)
        self.assertEqual(self.count("person"), 1)  # the admin, from make_computer

    def test_not_ready_keeps_the_recorded_request(self):
        self.assertRaises(errors.NotReady, self.call, "instance.request", self.alice, title="x",
                          software_release="http://sr")
        self.assertEqual(self.count("software_instance"), 1)

    def test_a_plain_path_is_an_sqlite_file_in_wal_mode(self):
        self.assertTrue(database_url("var/x.db").startswith("sqlite:////"))
        self.assertEqual(database_url("postgresql+psycopg://h/db"), "postgresql+psycopg://h/db")
        with self.master.storage.engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        self.assertEqual((mode, keys), ("wal", 1))

    def test_read_operations_of_a_new_user_write_nothing(self):
        for name in ("instance.list", "tree.list", "computer.list", "supply.list", "usage.list"):
            self.assertEqual(self.call(name, self.bob), [], name)
        self.assertEqual(self.count("person"), 0)
