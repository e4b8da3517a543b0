"""The ``pending`` flag of instances (migration 0004): the allocation pass reads the instances
waiting for a partition or a host through it, so the flag must be set on every such instance,
by a request, by a host's destruction and by the migration of an existing database."""

from sqlalchemy import select, update

from slap_core import errors
from slap_core.models import SoftwareInstance
from tests.fixtures import OTHER_SR, SR, MasterTestCase


class PendingFlagTests(MasterTestCase):
    """Who is pending, as the allocation pass sees it."""

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=2, supply=(SR,))

    def flags(self):
        """{reference: pending} of every instance."""
        with self.master.storage.transaction(write=False) as session:
            return dict(session.execute(select(SoftwareInstance.reference,
                                               SoftwareInstance.pending)).all())

    def waiting(self, principal, title, **arguments):
        error = self.assertRaises(errors.NotReady, self.request, principal, title, **arguments)
        return error.result.reference

    def test_set_while_waiting_cleared_once_placed_or_archived(self):
        placed = self.request(self.alice, "placed").reference
        regular = self.waiting(self.alice, "regular", software_release=OTHER_SR)
        shared = self.waiting(self.bob, "tenant", shared=True, software_release=OTHER_SR)
        gone = self.waiting(self.alice, "gone", software_release=OTHER_SR)
        self.request(self.alice, "gone", software_release=OTHER_SR, state="destroyed")
        self.assertEqual(self.flags(), {placed: False, regular: True, shared: True,
                                        gone: False})
        self.call("supply.supply", self.admin, url=OTHER_SR, computer="COMP-0")
        self.assertEqual(self.call("instance.allocate_pending", self.admin), 2)
        self.assertEqual(set(self.flags().values()), {False})

    def test_the_pass_reads_only_flagged_instances(self):
        regular = self.waiting(self.alice, "regular", software_release=OTHER_SR)
        self.call("supply.supply", self.admin, url=OTHER_SR, computer="COMP-0")
        with self.master.storage.transaction() as session:
            session.execute(update(SoftwareInstance).values(pending=False))
        self.assertEqual(self.call("instance.allocate_pending", self.admin), 0)
        self.assertFalse(self.call("instance.get", self.admin, reference=regular).allocated)

    def test_a_stale_flag_is_cleared_by_the_pass(self):
        placed = self.request(self.alice, "placed").reference
        with self.master.storage.transaction() as session:
            session.execute(update(SoftwareInstance).values(pending=True))
        self.assertEqual(self.call("instance.allocate_pending", self.admin), 0)
        self.assertEqual(self.flags(), {placed: False})

    def test_guests_of_a_destroyed_host_wait_again(self):
        host = self.request(self.alice, "host")
        guest = self.request(self.bob, "tenant", shared=True).reference
        self.assertEqual(self.flags()[guest], False)
        self.request(self.alice, "host", state="destroyed")
        self.call("instance.report_destroyed", self.node, computer="COMP-0",
                  partition=host.partition)
        self.assertEqual(self.flags()[guest], True)
        new_host = self.request(self.alice, "host")
        self.assertEqual(self.call("instance.allocate_pending", self.admin), 1)
        self.assertEqual(self.call("instance.get", self.admin, reference=guest).host,
                         new_host.reference)

    def test_the_migration_flags_the_waiting_instances_of_an_existing_database(self):
        placed = self.request(self.alice, "placed").reference
        host = self.request(self.alice, "host").reference
        hosted = self.request(self.bob, "hosted", shared=True).reference
        regular = self.waiting(self.alice, "regular", software_release=OTHER_SR)
        shared = self.waiting(self.bob, "tenant", shared=True, software_release=OTHER_SR)
        storage = self.master.storage
        storage.downgrade("0003")
        storage.upgrade()
        self.assertEqual(self.flags(), {placed: False, host: False, hosted: False,
                                        regular: True, shared: True})
