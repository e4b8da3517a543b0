"""Allocation: supplies, scopes and every SLA key the master's allocator understands."""

from slap_core import errors
from tests.fixtures import OTHER_SR, SR, MasterTestCase


class AllocationTests(MasterTestCase):
    """Three computers with different settings; each test requests with one SLA."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-EU", partitions=2, subnet=1, network_guid="net-1",
                           project_guid="proj-a", attributes={"region": "eu/paris",
                                                              "cpu_core": "8"})
        self.make_computer("COMP-US", partitions=2, subnet=2, network_guid="net-2",
                           attributes={"region": "us", "cpu_core": "4"})
        self.make_computer("COMP-NONET", partitions=2, subnet=3)

    def placed(self, title, **sla):
        return self.request(self.alice, title, sla=sla).computer

    def refused(self, title, fragment, **sla):
        error = self.assertRaises(errors.NotReady, self.request, self.alice, title, sla=sla)
        self.assertIn(fragment, str(error))
        return error

    def test_computer_guid_places_on_that_computer(self):
        self.assertEqual(self.placed("a", computer_guid="COMP-US"), "COMP-US")
        self.refused("b", "no free partition", computer_guid="COMP-NOWHERE")

    def test_network_and_project_guid_select_computers(self):
        self.assertEqual(self.placed("a", network_guid="net-2"), "COMP-US")
        self.assertEqual(self.placed("b", project_guid="proj-a"), "COMP-EU")
        self.refused("c", "no free partition", project_guid="proj-b")

    def test_categories_match_exactly_or_by_parent_category(self):
        self.assertEqual(self.placed("a", region="us"), "COMP-US")
        self.assertEqual(self.placed("b", region="eu"), "COMP-EU")
        self.assertEqual(self.placed("c", region="eu/paris", cpu_core="8"), "COMP-EU")
        self.refused("d", "no free partition", region="eu/paris", cpu_core="4")
        self.refused("e", "no free partition", region="e")

    def test_unknown_sla_key_allocates_nothing(self):
        self.refused("a", "unknown SLA key(s): colour", colour="blue")

    def test_unknown_mode_allocates_nothing(self):
        self.refused("a", "unknown SLA mode", mode="fastest")

    def test_instance_guid_never_places_a_regular_instance(self):
        host = self.request(self.alice, "host")
        self.refused("a", "instance_guid only places shared", instance_guid=host.reference)

    def test_pass_through_keys_are_ignored(self):
        self.assertIsNotNone(self.placed("a", retention_delay="7", fw_restricted_access="on"))

    def test_unique_by_network_spreads_a_tree_over_networks(self):
        root = self.request(self.alice, "root", sla={"mode": "unique_by_network"})
        agent = self.partition_agent(root)
        child = self.request(agent, "replica", sla={"mode": "unique_by_network"})
        networks = {"COMP-EU": "net-1", "COMP-US": "net-2"}
        self.assertEqual({networks[root.computer], networks[child.computer]},
                         {"net-1", "net-2"})
        error = self.assertRaises(errors.NotReady, self.request, agent, "third",
                                  sla={"mode": "unique_by_network"})
        self.assertIn("no free partition", str(error))

    def test_closed_computer_is_never_used(self):
        self.call("computer.update", self.admin, reference="COMP-US", allocation_scope="close")
        self.refused("a", "no free partition", computer_guid="COMP-US")
        self.call("computer.update", self.admin, reference="COMP-US", allocation_scope="open")
        self.assertEqual(self.request(self.alice, "a", sla={"computer_guid": "COMP-US"}).computer,
                         "COMP-US")

    def test_release_must_be_supplied_to_the_computer(self):
        error = self.assertRaises(errors.NotReady, self.request, self.alice, "other", OTHER_SR)
        self.assertIn("no free partition", str(error))
        self.call("supply.supply", self.admin, url=OTHER_SR, computer="COMP-NONET")
        view = self.request(self.alice, "other", OTHER_SR)
        self.assertEqual((view.reference, view.computer), (error.result.reference, "COMP-NONET"))

    def test_destroyed_supply_no_longer_attracts_instances(self):
        self.call("supply.supply", self.admin, url=SR, computer="COMP-EU", state="destroyed")
        self.refused("a", "no free partition", computer_guid="COMP-EU")

    def test_partition_is_freed_and_reused_after_destruction(self):
        first = self.request(self.alice, "a", sla={"computer_guid": "COMP-NONET"})
        self.request(self.alice, "b", sla={"computer_guid": "COMP-NONET"})
        self.refused("c", "no free partition", computer_guid="COMP-NONET")
        self.request(self.alice, "a", state="destroyed")
        self.call("instance.report_destroyed", self.admin, computer="COMP-NONET",
                  partition=first.partition)
        self.assertEqual(self.request(self.alice, "c").partition, first.partition)


class CapabilityTests(MasterTestCase):
    """Partitions with capabilities only take requests that ask for one of them."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-0", partitions=3, capabilities={0: ["gpu"], 1: ["gpu", "ssd"]})

    def test_request_without_capability_avoids_capable_partitions(self):
        self.assertEqual(self.request(self.alice, "plain").partition, "slappart2")
        self.assertRaises(errors.NotReady, self.request, self.alice, "plain2")

    def test_capability_selects_a_partition_having_it(self):
        self.assertEqual(self.request(self.alice, "fast", sla={"capability": "ssd"}).partition,
                         "slappart1")
        self.assertEqual(self.request(self.alice, "gpu", sla={"capability": "gpu"}).partition,
                         "slappart0")
        self.assertRaises(errors.NotReady, self.request, self.alice, "tpu",
                          sla={"capability": "tpu"})
