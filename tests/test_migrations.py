"""Schema migrations: from an empty database, from every earlier revision, and in step with models."""

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from twisted.trial import unittest

from slap_core.master import Master
from slap_core.models import Base
from slap_core.principals import ComputerAgent, User
from slap_core.storage import Storage
from tests.fixtures import SR, format_configuration
from tests.pg_cluster import postgres_url

TABLES = {"person", "computer", "partition", "partition_address", "software_product",
          "software_release", "supply", "instance_tree", "software_instance", "usage_report",
          "usage_record"}


def revisions(storage):
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(storage.alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


class MigrationTestsMixin:
    """The same checks on SQLite and PostgreSQL."""

    def storage(self):
        raise NotImplementedError

    def test_migrations_build_every_table_on_an_empty_database(self):
        storage = self.storage()
        self.assertIsNone(storage.current_revision())
        storage.upgrade()
        self.assertEqual(storage.current_revision(), revisions(storage)[-1])
        self.assertLessEqual(TABLES, set(inspect(storage.engine).get_table_names()))

    def test_models_and_migrations_agree(self):
        storage = self.storage()
        storage.upgrade()
        with storage.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        self.assertEqual(diff, [])

    def test_downgrade_to_base_and_upgrade_again(self):
        storage = self.storage()
        storage.upgrade()
        storage.downgrade("base")
        self.assertEqual(set(inspect(storage.engine).get_table_names()) & TABLES, set())
        storage.upgrade()
        self.assertLessEqual(TABLES, set(inspect(storage.engine).get_table_names()))

    def test_upgrade_to_head_from_each_revision_keeps_the_data(self):
        admin, alice = User("admin", {"admin"}), User("alice")
        for revision in revisions(self.storage()):
            storage = self.storage()
            storage.upgrade(revision)
            master = Master(storage)
            master.call("computer.create", admin, reference="COMP-0")
            master.call("computer.format", ComputerAgent("COMP-0"), reference="COMP-0",
                        configuration=format_configuration("COMP-0", 2))
            master.call("supply.supply", admin, url=SR, computer="COMP-0")
            before = master.call("instance.request", alice, title="kept", software_release=SR)
            storage.upgrade()
            after = master.call("instance.get", alice, reference=before.reference)
            self.assertEqual((after.partition, after.title), (before.partition, "kept"), revision)


class SQLiteMigrationTests(MigrationTestsMixin, unittest.TestCase):
    """Migrations on the embedded SQLite database."""

    def storage(self):
        storage = Storage(os.path.join(os.path.abspath(self.mktemp()) + ".sqlite"))
        self.addCleanup(storage.dispose)
        return storage


class PostgreSQLMigrationTests(MigrationTestsMixin, unittest.TestCase):
    """Migrations on a real PostgreSQL cluster."""

    def storage(self):
        storage = Storage(postgres_url(self))
        self.addCleanup(storage.dispose)
        return storage
