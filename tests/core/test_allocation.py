"""Allocation: which free partition a request gets, by supply, scope and every SLA key."""

from slap_core import errors
from tests.fixtures import OTHER_SR, SR, MasterTestCase


class AllocationTestCase(MasterTestCase):
    """Helpers: a request that must be allocated, and one that must stay pending."""

    def allocated(self, title, principal=None, **arguments):
        """Request ``title`` and return its InstanceView, which must be allocated."""
        view = self.request(principal or self.alice, title, **arguments)
        self.assertTrue(view.allocated)
        return view

    def refused(self, title, principal=None, **arguments):
        """Request ``title`` expecting NotReady; returns the recorded (unallocated) view."""
        error = self.assertRaises(errors.NotReady, self.request, principal or self.alice, title,
                                  **arguments)
        self.assertFalse(error.result.allocated)
        self.assertIsNone(error.result.partition)
        return error.result

    def free_partitions(self, computer):
        """References of the free partitions of ``computer`` as its poll shows them."""
        return sorted(r for r, p in self.poll(computer).items() if p.instance is None)


class SupplyAndScopeTests(AllocationTestCase):
    """A computer is a candidate when it is open and the release is supplied to it."""

    def test_request_gets_a_free_partition_of_an_open_computer_with_the_release(self):
        self.make_computer("COMP-0", partitions=2)
        view = self.allocated("site")
        self.assertEqual(view.computer, "COMP-0")
        polled = self.poll("COMP-0")[view.partition]
        self.assertEqual(polled.instance, view.reference)
        self.assertEqual(polled.title, "site")

    def test_each_request_gets_its_own_partition(self):
        self.make_computer("COMP-0", partitions=3)
        partitions = {self.allocated("site-%d" % i).partition for i in range(3)}
        self.assertEqual(len(partitions), 3)
        self.assertEqual(self.free_partitions("COMP-0"), [])

    def test_full_computer_leaves_the_request_pending(self):
        self.make_computer("COMP-0", partitions=1)
        self.allocated("first")
        self.refused("second")

    def test_request_moves_on_to_another_computer_when_one_is_full(self):
        self.make_computer("COMP-0", partitions=1)
        self.make_computer("COMP-1", partitions=1, subnet=1)
        computers = {self.allocated("a").computer, self.allocated("b").computer}
        self.assertEqual(computers, {"COMP-0", "COMP-1"})

    def test_release_not_supplied_to_any_computer_is_never_allocated(self):
        self.make_computer("COMP-0", partitions=2, supply=(OTHER_SR,))
        self.refused("site", software_release=SR)
        self.assertEqual(len(self.free_partitions("COMP-0")), 2)

    def test_request_goes_to_the_computer_that_has_the_release(self):
        self.make_computer("COMP-0", partitions=2, supply=(OTHER_SR,))
        self.make_computer("COMP-1", partitions=2, subnet=1, supply=(SR,))
        self.assertEqual(self.allocated("site").computer, "COMP-1")

    def test_supplied_release_need_not_be_built_yet(self):
        self.make_computer("COMP-0", partitions=1)
        self.call("supply.report", self.admin, url=SR, computer="COMP-0", state="building")
        self.allocated("site")

    def test_release_whose_supply_is_to_be_destroyed_is_not_allocated_on_that_computer(self):
        self.make_computer("COMP-0", partitions=2)
        self.call("supply.supply", self.admin, url=SR, computer="COMP-0", state="destroyed")
        self.refused("site")

    def test_closed_computer_is_never_used(self):
        self.make_computer("COMP-0", partitions=2, allocation_scope="close")
        self.refused("site")
        self.refused("pinned", sla={"computer_guid": "COMP-0"})

    def test_closing_a_computer_stops_new_allocations_on_it(self):
        self.make_computer("COMP-0", partitions=2)
        self.allocated("before")
        self.call("computer.update", self.admin, reference="COMP-0", allocation_scope="close")
        self.refused("after")
        self.call("computer.update", self.admin, reference="COMP-0", allocation_scope="open")
        self.allocated("after")

    def test_closing_a_computer_keeps_instances_already_there(self):
        self.make_computer("COMP-0", partitions=2)
        view = self.allocated("before")
        self.call("computer.update", self.admin, reference="COMP-0", allocation_scope="close")
        self.assertEqual(self.request(self.alice, "before").partition, view.partition)

    def test_freed_partition_is_allocated_again(self):
        node = self.make_computer("COMP-0", partitions=1)
        first = self.allocated("first")
        self.request(self.alice, "first", state="destroyed")
        self.call("instance.report_destroyed", node, computer="COMP-0",
                  partition=first.partition)
        second = self.allocated("second")
        self.assertEqual(second.partition, first.partition)
        self.assertNotEqual(second.reference, first.reference)


class LocationKeyTests(AllocationTestCase):
    """computer_guid, network_guid, project_guid and the instance_guid refusal."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-0", partitions=2, subnet=0, network_guid="NET-A",
                           project_guid="PROJ-1")
        self.make_computer("COMP-1", partitions=2, subnet=1, network_guid="NET-B",
                           project_guid="PROJ-2")

    def test_computer_guid_puts_the_instance_on_that_computer(self):
        self.assertEqual(self.allocated("a", sla={"computer_guid": "COMP-1"}).computer, "COMP-1")
        self.assertEqual(self.allocated("b", sla={"computer_guid": "COMP-0"}).computer, "COMP-0")

    def test_computer_guid_of_a_full_computer_is_not_ready_even_if_others_are_free(self):
        self.allocated("a", sla={"computer_guid": "COMP-1"})
        self.allocated("b", sla={"computer_guid": "COMP-1"})
        self.refused("c", sla={"computer_guid": "COMP-1"})

    def test_unknown_computer_guid_is_never_allocated(self):
        self.refused("a", sla={"computer_guid": "COMP-404"})

    def test_network_guid_selects_computers_of_that_network(self):
        self.assertEqual(self.allocated("a", sla={"network_guid": "NET-B"}).computer, "COMP-1")
        self.assertEqual(self.allocated("b", sla={"network_guid": "NET-A"}).computer, "COMP-0")
        self.refused("c", sla={"network_guid": "NET-C"})

    def test_project_guid_selects_computers_of_that_project(self):
        self.assertEqual(self.allocated("a", sla={"project_guid": "PROJ-2"}).computer, "COMP-1")
        self.refused("b", sla={"project_guid": "PROJ-3"})

    def test_location_keys_combine(self):
        self.refused("a", sla={"computer_guid": "COMP-0", "network_guid": "NET-B"})
        view = self.allocated("b", sla={"computer_guid": "COMP-1", "network_guid": "NET-B",
                                        "project_guid": "PROJ-2"})
        self.assertEqual(view.computer, "COMP-1")

    def test_instance_guid_on_a_regular_instance_is_never_allocated(self):
        host = self.allocated("host")
        self.refused("a", sla={"instance_guid": host.reference})

    def test_empty_location_values_do_not_restrict(self):
        view = self.allocated("a", sla={"computer_guid": "", "network_guid": ""})
        self.assertIn(view.computer, ("COMP-0", "COMP-1"))


class UniqueByNetworkTests(AllocationTestCase):
    """mode=unique_by_network spreads one tree over distinct networks."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-A", partitions=3, subnet=0, network_guid="NET-A")
        self.make_computer("COMP-B", partitions=3, subnet=1, network_guid="NET-B")

    def test_tree_instances_land_on_distinct_networks(self):
        root = self.allocated("root", sla={"mode": "unique_by_network"})
        child = self.request(self.partition_agent(root), "replica",
                             sla={"mode": "unique_by_network"})
        self.assertTrue(child.allocated)
        self.assertNotEqual(child.computer, root.computer)

    def test_no_free_network_left_for_the_tree_is_not_ready(self):
        root = self.allocated("root")
        agent = self.partition_agent(root)
        self.request(agent, "second", sla={"computer_guid": "COMP-B"})
        error = self.assertRaises(errors.NotReady, self.request, agent, "third",
                                  sla={"mode": "unique_by_network"})
        self.assertFalse(error.result.allocated)

    def test_networks_of_other_trees_do_not_count(self):
        self.allocated("other-a", principal=self.bob, sla={"computer_guid": "COMP-A"})
        self.allocated("other-b", principal=self.bob, sla={"computer_guid": "COMP-B"})
        self.allocated("mine", sla={"mode": "unique_by_network"})

    def test_computer_without_network_is_never_used(self):
        self.make_computer("COMP-N", partitions=3, subnet=2)
        self.call("computer.update", self.admin, reference="COMP-A", allocation_scope="close")
        self.call("computer.update", self.admin, reference="COMP-B", allocation_scope="close")
        self.allocated("plain")  # COMP-N is usable without the mode
        self.refused("unique", sla={"mode": "unique_by_network"})

    def test_unique_by_network_combines_with_network_guid(self):
        root = self.allocated("root", sla={"network_guid": "NET-A"})
        self.refused("other", principal=self.partition_agent(root),
                     sla={"mode": "unique_by_network", "network_guid": "NET-A"})

    def test_unknown_mode_is_never_allocated(self):
        self.refused("site", sla={"mode": "unique_by_computer"})


class CapabilityTests(AllocationTestCase):
    """Partitions with capabilities are only given to requests asking for one of them."""

    def setUp(self):
        super().setUp()
        # slappart0: none; slappart1: gpu; slappart2: gpu + ssd
        self.make_computer("COMP-0", partitions=3,
                           capabilities={1: ["gpu"], 2: ["gpu", "ssd"]})

    def test_request_without_capability_only_gets_partitions_without_capabilities(self):
        self.assertEqual(self.allocated("plain").partition, "slappart0")
        self.refused("plain-2")
        self.assertEqual(self.free_partitions("COMP-0"), ["slappart1", "slappart2"])

    def test_capability_selects_a_partition_offering_it(self):
        self.assertEqual(self.allocated("fast", sla={"capability": "ssd"}).partition,
                         "slappart2")

    def test_capability_shared_by_several_partitions_fills_them_all(self):
        partitions = {self.allocated("g%d" % i, sla={"capability": "gpu"}).partition
                      for i in range(2)}
        self.assertEqual(partitions, {"slappart1", "slappart2"})
        self.refused("g2", sla={"capability": "gpu"})

    def test_capability_nobody_offers_is_not_ready(self):
        self.refused("tpu", sla={"capability": "tpu"})

    def test_format_can_add_a_capability_to_a_partition(self):
        configuration = {
            "reference": "COMP-0",
            "partition_list": [
                {"reference": "slappart%d" % i, "capability_list": capabilities,
                 "address_list": [{"addr": "10.0.1.%d" % (i + 1)}]}
                for i, capabilities in enumerate([["tpu"], ["gpu"], ["gpu", "ssd"]])
            ],
        }
        self.call("computer.format", self.admin, reference="COMP-0", configuration=configuration)
        self.assertEqual(self.allocated("tpu", sla={"capability": "tpu"}).partition, "slappart0")
        self.refused("plain")


class CategoryTests(AllocationTestCase):
    """Category keys match the computer's attributes, exactly or as a parent category."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-EU", partitions=2, subnet=0,
                           attributes={"region": "europe/france", "cpu_core": "8",
                                       "cpu_type": "x86/x86_64"})
        self.make_computer("COMP-US", partitions=2, subnet=1,
                           attributes={"region": "america", "cpu_core": "4",
                                       "cpu_type": "x86"})
        self.make_computer("COMP-BARE", partitions=2, subnet=2)

    def test_category_equal_to_the_computers_value_matches(self):
        self.assertEqual(self.allocated("a", sla={"region": "america"}).computer, "COMP-US")
        self.assertEqual(self.allocated("b", sla={"cpu_core": "8"}).computer, "COMP-EU")

    def test_computer_in_a_subcategory_matches_the_parent_category(self):
        self.assertEqual(self.allocated("a", sla={"region": "europe"}).computer, "COMP-EU")

    def test_computer_in_the_parent_category_does_not_match_a_subcategory(self):
        view = self.allocated("a", sla={"cpu_type": "x86/x86_64"})
        self.assertEqual(view.computer, "COMP-EU")
        self.allocated("b", sla={"cpu_type": "x86/x86_64"})
        self.refused("c", sla={"cpu_type": "x86/x86_64"})

    def test_category_prefix_that_is_not_a_parent_does_not_match(self):
        self.refused("a", sla={"region": "eur"})
        self.refused("b", sla={"cpu_type": "x86/x86"})

    def test_category_value_no_computer_has_is_not_ready(self):
        self.refused("a", sla={"region": "asia"})

    def test_computer_without_the_attribute_does_not_match(self):
        self.call("computer.update", self.admin, reference="COMP-EU", allocation_scope="close")
        self.call("computer.update", self.admin, reference="COMP-US", allocation_scope="close")
        self.allocated("plain")  # COMP-BARE is open and free
        self.refused("a", sla={"memory_size": "16"})

    def test_every_category_key_must_match(self):
        self.refused("a", sla={"region": "europe", "cpu_core": "4"})
        view = self.allocated("b", sla={"region": "europe", "cpu_core": "8", "cpu_type": "x86"})
        self.assertEqual(view.computer, "COMP-EU")

    def test_categories_combine_with_computer_guid(self):
        self.refused("a", sla={"computer_guid": "COMP-US", "region": "europe"})

    def test_every_category_key_is_understood(self):
        keys = ("group", "cpu_core", "cpu_frequency", "cpu_type", "local_area_network_type",
                "region", "memory_size", "memory_type", "storage_capacity",
                "storage_interface", "storage_redundancy")
        attributes = {key: "value-of-%s" % key for key in keys}
        self.make_computer("COMP-ALL", partitions=len(keys), subnet=3, attributes=attributes)
        for key in keys:
            view = self.allocated("by-" + key, sla={key: attributes[key]})
            self.assertEqual(view.computer, "COMP-ALL", key)

    def test_changed_attributes_change_what_matches(self):
        self.refused("a", sla={"region": "asia"})
        self.call("computer.update", self.admin, reference="COMP-BARE",
                  attributes={"region": "asia/japan"})
        self.assertEqual(self.request(self.alice, "a").computer, "COMP-BARE")


class UnderstoodKeysTests(AllocationTestCase):
    """Pass-through keys are ignored; unknown keys allocate nothing."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-0", partitions=2)

    def test_pass_through_keys_do_not_restrict_allocation(self):
        sla = {"retention_delay": "7.0", "fw_restricted_access": "on",
               "fw_rejected_sources": "10.0.0.0/8", "fw_authorized_sources": "10.1.0.0/16"}
        view = self.allocated("site", sla=sla)
        self.assertEqual(view.sla, sla)
        self.assertEqual(self.poll("COMP-0")[view.partition].filter_dict, sla)

    def test_unknown_sla_key_is_never_allocated(self):
        view = self.refused("site", sla={"colour": "blue"})
        self.assertEqual(view.sla, {"colour": "blue"})
        self.assertEqual(len(self.free_partitions("COMP-0")), 2)

    def test_unknown_key_next_to_understood_ones_is_never_allocated(self):
        self.refused("site", sla={"computer_guid": "COMP-0", "colour": "blue"})

    def test_dropping_the_unknown_key_on_a_rerequest_allocates(self):
        pending = self.refused("site", sla={"colour": "blue"})
        view = self.allocated("site", sla={})
        self.assertEqual(view.reference, pending.reference)
