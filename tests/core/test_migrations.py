"""Schema migrations, on SQLite and on a real PostgreSQL cluster.

* an empty database upgrades to the single head and gets every table of the models;
* downgrading to base removes everything, and upgrading again works;
* every revision steps down and back up again (the whole chain, one revision at a time);
* from every revision, with rows in every table, upgrading to head keeps those rows readable by
  the models and the master keeps working; revisions are read from the Alembic script directory,
  so a new revision is covered without touching this file;
* the models in ``slap_core/models.py`` and the schema the migrations build are identical
  (Alembic's autogenerate comparison finds no difference).
"""

import datetime
import decimal
import os

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    inspect,
    select,
)
import pytest
from twisted.trial import unittest

from slap_core.master import Master
from slap_core.models import Base
from slap_core.principals import User
from slap_core.storage import Storage
from tests.fixtures import MasterMixin
from tests.postgres import start_postgres

ROWS_PER_TABLE = 2
VERSION_TABLE = "alembic_version"


def script_directory(storage):
    """Alembic's view of ``slap_core/migrations``."""
    return ScriptDirectory.from_config(storage.alembic_config())


def revisions_oldest_first(storage):
    """Every revision id, from the first one to the head."""
    newest_first = script_directory(storage).walk_revisions()
    return [script.revision for script in reversed(list(newest_first))]


def table_names(storage):
    """The tables in the database, without Alembic's own."""
    return set(inspect(storage.engine).get_table_names()) - {VERSION_TABLE}


# -- rows for whatever schema a revision has ----------------------------------------------------


def _value(table, column, row):
    """A value of the column's type for row number ``row``, distinct between rows."""
    kind = column.type
    if isinstance(kind, Boolean):
        return bool(row % 2)
    if isinstance(kind, Integer):
        return row + 1
    if isinstance(kind, (Float, Numeric)):
        value = row + 0.5
        return decimal.Decimal(str(value)) if getattr(kind, "asdecimal", False) else value
    if isinstance(kind, JSON):
        return {"row": str(row), "table": table.name}
    if isinstance(kind, DateTime):
        return datetime.datetime(2020, 1, 1 + row)
    if isinstance(kind, Date):
        return datetime.date(2020, 1, 1 + row)
    if isinstance(kind, LargeBinary):
        return b"row%d" % row
    if isinstance(kind, String):
        text = "%s.%s.%d" % (table.name, column.name, row)
        length = kind.length
        return text[-length:] if length and len(text) > length else text
    raise AssertionError("teach _value() about %r (%s.%s)" % (kind, table.name, column.name))


def _generated_key(table, column):
    # a key without a sequence (PostgreSQL reflects autoincrement False) is given, like a year
    return (column.primary_key and len(table.primary_key.columns) == 1
            and isinstance(column.type, Integer) and column.autoincrement is not False)


def fill_every_table(engine):
    """Insert ROWS_PER_TABLE rows into every table of the database as it is now.

    Works from the reflected schema, so it fits any revision: tables are filled in foreign key
    order; a nullable foreign key that points at a table filled later (a cycle) or at its own table
    is set by an UPDATE once everything exists. Primary keys come from the database, so sequences
    stay right. Returns {table: [primary key tuples]}.
    """
    metadata = MetaData()
    metadata.reflect(bind=engine)
    tables = [t for t in metadata.tables.values() if t.name != VERSION_TABLE]
    rows = {}  # table name -> the inserted rows, read back
    deferred = []  # (table, foreign key) filled in at the end
    with engine.begin() as connection:
        pending = list(tables)
        while pending:
            table = next((t for t in pending if all(
                fk.referred_table.name in rows or fk.referred_table is t or all(
                    c.nullable for c in fk.columns)
                for fk in t.foreign_key_constraints)), None)
            if table is None:
                raise AssertionError("cycle of NOT NULL foreign keys between %s"
                                     % sorted(t.name for t in pending))
            pending.remove(table)
            now = [fk for fk in table.foreign_key_constraints if fk.referred_table.name in rows
                   and fk.referred_table is not table]
            deferred.extend((table, fk) for fk in table.foreign_key_constraints if fk not in now)
            linked = {element.parent.name for fk in table.foreign_key_constraints
                      for element in fk.elements}
            for row in range(ROWS_PER_TABLE):
                values = {c.name: _value(table, c, row) for c in table.columns
                          if not _generated_key(table, c) and c.name not in linked}
                for fk in now:
                    target = rows[fk.referred_table.name][row % ROWS_PER_TABLE]
                    for element in fk.elements:
                        values[element.parent.name] = target[element.column.name]
                connection.execute(table.insert().values(values))
            rows[table.name] = [
                r._mapping for r in connection.execute(
                    select(table).order_by(*table.primary_key.columns))
            ]
        for table, fk in deferred:
            for row, current in enumerate(rows[table.name]):
                target = rows[fk.referred_table.name][row % ROWS_PER_TABLE]
                key = [c == current[c.name] for c in table.primary_key.columns]
                connection.execute(table.update().where(*key).values({
                    element.parent.name: target[element.column.name]
                    for element in fk.elements}))
    return {
        name: [tuple(r[c.name] for c in metadata.tables[name].primary_key.columns)
               for r in table_rows]
        for name, table_rows in rows.items()
    }


def primary_keys(engine, name):
    """The primary key tuples of a table, in order."""
    table = Table(name, MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(*table.primary_key.columns).order_by(*table.primary_key.columns))]


# -- the tests ------------------------------------------------------------------------------------


class MigrationTestsMixin:
    """The same checks on every database; ``new_storage()`` gives an empty database."""

    def new_storage(self):
        raise NotImplementedError

    def test_empty_database_upgrades_to_the_single_head_with_every_model_table(self):
        storage = self.new_storage()
        self.assertIsNone(storage.current_revision())
        self.assertEqual(table_names(storage), set())
        heads = script_directory(storage).get_heads()
        self.assertEqual(len(heads), 1, "the migrations have several heads: %s" % heads)
        storage.upgrade()
        self.assertEqual(storage.current_revision(), heads[0])
        self.assertEqual(table_names(storage), set(Base.metadata.tables))

    def test_models_match_the_migrated_schema(self):
        storage = self.new_storage()
        storage.upgrade()
        with storage.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True, "compare_server_default": True})
            diff = compare_metadata(context, Base.metadata)
        self.assertEqual(diff, [], "models.py and the migrations differ")

    def test_downgrade_to_base_then_upgrade_again(self):
        storage = self.new_storage()
        storage.upgrade()
        storage.downgrade("base")
        self.assertIsNone(storage.current_revision())
        self.assertEqual(table_names(storage), set())
        storage.upgrade()
        self.assertEqual(storage.current_revision(), revisions_oldest_first(storage)[-1])
        self.assertEqual(table_names(storage), set(Base.metadata.tables))
        self.assert_master_works(storage)

    def test_each_revision_steps_down_and_up_again(self):
        storage = self.new_storage()
        chain = revisions_oldest_first(storage)
        for position, revision in enumerate(chain):
            below = chain[position - 1] if position else None
            storage.upgrade(revision)
            self.assertEqual(storage.current_revision(), revision)
            schema = table_names(storage)
            storage.downgrade(below or "base")
            self.assertEqual(storage.current_revision(), below, revision)
            storage.upgrade(revision)
            self.assertEqual(table_names(storage), schema, revision)
        self.assertEqual(storage.current_revision(), chain[-1])

    def test_upgrade_from_every_revision_keeps_existing_rows(self):
        # Every earlier revision is upgraded with rows in all its tables; the head itself (an
        # upgrade with nothing to do) is included so that the row filler always runs.
        chain = revisions_oldest_first(self.new_storage())
        for revision in chain:
            storage = self.new_storage()
            storage.upgrade(revision)
            inserted = fill_every_table(storage.engine)
            self.assertEqual(set(inserted), table_names(storage), revision)
            storage.upgrade()
            self.assertEqual(storage.current_revision(), chain[-1], revision)
            for name in set(inserted) & table_names(storage):
                self.assertEqual(primary_keys(storage.engine, name), inserted[name],
                                 "rows of %s lost upgrading from %s" % (name, revision))
            with storage.transaction(write=False) as session:
                for mapper in Base.registry.mappers:
                    name = mapper.local_table.name
                    loaded = session.scalars(select(mapper.class_)).all()
                    expected = len(inserted.get(name, ()))
                    if name in BACKFILLED and name not in inserted:
                        expected = len(inserted.get(BACKFILLED[name], ()))
                    self.assertEqual(len(loaded), expected, "%s from %s" % (name, revision))
            self.assert_master_works(storage)

    def assert_master_works(self, storage):
        """The master runs on the migrated database: build a computer, place an instance."""
        master = Master(storage)
        fleet = _Fleet(master)
        fleet.make_computer("COMP-MIGRATED", partitions=1, subnet=9)
        view = fleet.request(fleet.alice, "after-migration")
        self.assertEqual((view.computer, view.partition), ("COMP-MIGRATED", "slappart0"))
        self.assertEqual(fleet.call("instance.get", fleet.alice, reference=view.reference), view)


# Tables a migration fills from existing rows: 0008 opens a subscription for every tree, 0012 a
# tenancy for every partition held.
BACKFILLED = {"subscription": "instance_tree", "partition_tenancy": "partition"}


class _Fleet(MasterMixin):
    """The fixture's fleet builders on a given master (without its setUp)."""

    def __init__(self, master):
        self.master = master
        self.admin = User("admin", {"admin"})
        self.alice = User("alice")


class SQLiteMigrationTests(MigrationTestsMixin, unittest.TestCase):
    """Migrations on SQLite files (batch mode: tables are rebuilt to alter them)."""

    def new_storage(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        storage = Storage(os.path.join(directory, "master.sqlite"))
        self.addCleanup(storage.dispose)
        return storage


@pytest.mark.postgres
class PostgreSQLMigrationTests(MigrationTestsMixin, unittest.TestCase):
    """Migrations on a real PostgreSQL cluster, a fresh database each time."""

    def new_storage(self):
        storage = Storage(start_postgres(self))
        self.addCleanup(storage.dispose)
        return storage
