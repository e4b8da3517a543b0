"""The catalogue, supplies, computer registration and format, and the shape of a node's poll."""

from slap_core import errors
from slap_core.principals import ComputerAgent
from tests.fixtures import OTHER_SR, SR, MasterTestCase, format_configuration


class CatalogueTests(MasterTestCase):
    """Products and releases, newest first."""

    def test_product_releases_are_listed_newest_first(self):
        for version in ("1.0", "1.1", "2.0"):
            self.call("catalogue.add_release", self.operator,
                      url="http://sr/kvm-%s.cfg" % version, product="kvm", version=version)
        urls = self.call("catalogue.product_release_urls", self.alice, product="kvm")
        self.assertEqual(urls, ["http://sr/kvm-2.0.cfg", "http://sr/kvm-1.1.cfg",
                                "http://sr/kvm-1.0.cfg"])
        self.assertEqual(self.call("catalogue.product_release_urls", self.alice,
                                   url="http://sr/kvm-1.0.cfg"), urls)
        product, = self.call("catalogue.list_products", self.alice)
        self.assertEqual([r.version for r in product.releases], ["2.0", "1.1", "1.0"])

    def test_unknown_product_has_no_releases_and_exactly_one_selector_is_required(self):
        self.assertEqual(self.call("catalogue.product_release_urls", self.alice, product="x"), [])
        self.assertRaises(errors.Invalid, self.call, "catalogue.product_release_urls",
                          self.alice)
        self.assertRaises(errors.NotFound, self.call, "catalogue.list_releases", self.alice,
                          product="x")

    def test_a_release_belongs_to_one_product(self):
        self.call("catalogue.add_release", self.admin, url=SR, product="a")
        self.call("catalogue.add_release", self.admin, url=SR, product="a", version="3")
        self.assertRaises(errors.Conflict, self.call, "catalogue.add_release", self.admin,
                          url=SR, product="b")

    def test_requested_and_supplied_urls_are_registered(self):
        self.make_computer("COMP-0", partitions=1)
        self.assertEqual([r.url for r in self.call("catalogue.list_releases", self.alice)], [SR])


class SupplyTests(MasterTestCase):
    """Supplies and what the node reports about them."""

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=2, supply=())

    def report(self, state, url=SR, **extra):
        return self.call("supply.report", self.node, url=url, computer="COMP-0", state=state,
                         **extra)

    def test_supply_appears_in_the_poll_and_its_reports_are_kept(self):
        self.call("supply.supply", self.admin, url=SR, computer="COMP-0")
        info = self.call("computer.information", self.node, reference="COMP-0")
        self.assertEqual([(s.url, s.state) for s in info.software], [(SR, "available")])
        self.assertEqual(self.report("building").reported_state, "building")
        failed = self.report("error", error_text="x" * 70000 + "tail")
        self.assertEqual(failed.reported_state, "error")
        self.assertTrue(failed.error_text.endswith("tail"))
        self.assertEqual(len(failed.error_text), 64 * 1024)
        done = self.report("available")
        self.assertEqual((done.reported_state, done.error_text), ("available", None))

    def test_destroyed_is_accepted_only_after_removal_was_asked(self):
        self.call("supply.supply", self.admin, url=SR, computer="COMP-0")
        self.assertRaises(errors.NotFound, self.report, "destroyed")
        self.call("supply.supply", self.admin, url=SR, computer="COMP-0", state="destroyed")
        info = self.call("computer.information", self.node, reference="COMP-0")
        self.assertEqual([(s.url, s.state) for s in info.software], [(SR, "destroyed")])
        self.assertIsNone(self.report("destroyed"))
        self.assertEqual(self.call("supply.list", self.admin, computer="COMP-0"), [])

    def test_bad_states_and_unsupplied_releases_are_refused(self):
        self.assertRaises(errors.Invalid, self.call, "supply.supply", self.admin, url=SR,
                          computer="COMP-0", state="installed")
        self.assertRaises(errors.NotFound, self.report, "building", url=OTHER_SR)
        self.assertRaises(errors.Invalid, self.report, "finished")
        self.assertRaises(errors.NotFound, self.call, "supply.supply", self.admin, url=SR,
                          computer="COMP-404")

    def test_owner_supplies_own_computer_only(self):
        self.call("computer.create", self.alice, reference="ALICE-1")
        self.call("supply.supply", self.alice, url=SR, computer="ALICE-1")
        self.assertRaises(errors.Forbidden, self.call, "supply.supply", self.alice, url=SR,
                          computer="COMP-0")
        self.assertEqual([s.computer for s in self.call("supply.list", self.alice)], ["ALICE-1"])


class ComputerTests(MasterTestCase):
    """Registration, settings and format."""

    def test_created_computer_gets_a_reference_and_its_owner(self):
        view = self.call("computer.create", self.alice, title="my laptop")
        self.assertTrue(view.reference.startswith("COMP-"))
        self.assertEqual((view.owner, view.title, view.allocation_scope),
                         ("alice", "my laptop", "open"))
        self.assertEqual([c.reference for c in self.call("computer.list", self.alice)],
                         [view.reference])
        self.assertEqual(self.call("computer.list", self.bob), [])
        self.assertEqual(len(self.call("computer.list", self.operator)), 1)

    def test_bad_computer_settings_are_invalid_and_duplicates_conflict(self):
        self.call("computer.create", self.admin, reference="COMP-0")
        self.assertRaises(errors.Conflict, self.call, "computer.create", self.admin,
                          reference="COMP-0")
        for settings in ({"reference": "has space"}, {"reference": "a/b"},
                         {"allocation_scope": "personal"}, {"attributes": {"colour": "red"}}):
            self.assertRaises(errors.Invalid, self.call, "computer.create", self.admin,
                              **settings)

    def test_format_creates_partitions_with_addresses_and_tap_interfaces(self):
        self.call("computer.create", self.admin, reference="COMP-0")
        view = self.call("computer.format", ComputerAgent("COMP-0"), reference="COMP-0",
                         configuration=format_configuration("COMP-0", 3))
        self.assertEqual((view.partition_count, view.free_partition_count, view.address),
                         (3, 3, "10.0.0.1"))
        partition = self.poll("COMP-0")["slappart1"]
        self.assertEqual([(a.network_interface, a.address) for a in partition.addresses],
                         [("slaptap1", "10.0.1.2")])

    def test_format_with_tap_ipv4_gives_a_full_ip_list_entry(self):
        configuration = format_configuration("COMP-0", 1)
        configuration["partition_list"][0]["tap"].update(
            ipv4_addr="10.8.0.2", ipv4_gateway="10.8.0.1", ipv4_netmask="255.255.255.0",
            ipv4_network="10.8.0.0")
        self.make_computer("COMP-0", partitions=0)
        self.call("computer.format", ComputerAgent("COMP-0"), reference="COMP-0",
                  configuration=configuration)
        view = self.request(self.alice, "vm")
        params = self.poll("COMP-0")[view.partition].parameter_dict
        self.assertEqual(params["full_ip_list"],
                         [("slaptap0", "10.8.0.2", "10.8.0.1", "255.255.255.0", "10.8.0.0")])
        self.assertEqual(len(params["ip_list"]), 2)

    def test_reformat_keeps_busy_partitions_and_drops_missing_free_ones(self):
        node = self.make_computer("COMP-0", partitions=3)
        view = self.request(self.alice, "kept")
        self.call("computer.format", node, reference="COMP-0",
                  configuration=format_configuration("COMP-0", 1))
        partitions = self.poll("COMP-0")
        self.assertEqual(sorted(partitions), ["slappart0"])
        self.assertEqual(partitions["slappart0"].instance, view.reference)

    def test_reformat_that_drops_a_busy_partition_is_refused_whole(self):
        node = self.make_computer("COMP-0", partitions=3)
        self.request(self.alice, "a")
        self.request(self.alice, "b")
        error = self.assertRaises(errors.Conflict, self.call, "computer.format", node,
                                  reference="COMP-0",
                                  configuration=format_configuration("COMP-0", 1))
        self.assertIn("slappart1", str(error))
        self.assertEqual(len(self.poll("COMP-0")), 3)

    def test_malformed_format_documents_are_invalid(self):
        node = self.make_computer("COMP-0", partitions=1)
        for configuration in ("not a dict", {"partition_list": "x"},
                              {"partition_list": [{"no": "reference"}]},
                              {"partition_list": [{"reference": "p"}, {"reference": "p"}]},
                              {"partition_list": [{"reference": "p",
                                                   "address_list": [{"netmask": "x"}]}]}):
            self.assertRaises(errors.Invalid, self.call, "computer.format", node,
                              reference="COMP-0", configuration=configuration)

    def test_node_of_an_unknown_computer_cannot_format_but_an_admin_creates_it(self):
        self.assertRaises(errors.NotFound, self.call, "computer.format",
                          ComputerAgent("COMP-9"), reference="COMP-9",
                          configuration=format_configuration("COMP-9", 1))
        view = self.call("computer.format", self.admin, reference="COMP-9",
                         configuration=format_configuration("COMP-9", 2))
        self.assertEqual(view.partition_count, 2)


class PollShapeTests(MasterTestCase):
    """What computer.information gives the node (spec sections 1.3 and 3.2)."""

    def test_free_and_busy_partitions_have_the_upstream_shape(self):
        self.make_computer("COMP-0", partitions=2)
        view = self.request(self.alice, "web", parameters={"name": "alice"},
                            software_type="front", sla={"retention_delay": "2"})
        partitions = self.poll("COMP-0")
        busy = partitions[view.partition]
        free = partitions["slappart1"]
        self.assertEqual((free.state, free.instance, free.software_release, free.parameter_dict,
                          free.connection_dict, free.access_status), ("destroyed", None, None,
                                                                      {}, {}, None))
        self.assertEqual((busy.state, busy.instance, busy.software_release, busy.filter_dict),
                         ("started", view.reference, SR, {"retention_delay": "2"}))
        params = busy.parameter_dict
        self.assertEqual(params["name"], "alice")
        expected = {
            "instance_title": "web",
            "root_instance_title": "web",
            "slap_computer_id": "COMP-0",
            "slap_computer_partition_id": view.partition,
            "slap_software_type": "front",
            "slap_software_release_url": SR,
            "ip_list": [("slaptap0", "10.0.1.1")],
            "full_ip_list": [],
            "slave_instance_list": [],
            "timestamp": busy.timestamp,
        }
        self.assertEqual({k: params[k] for k in expected}, expected)
        self.assertIsInstance(busy.timestamp, int)

    def test_reserved_keys_override_parameters_of_the_same_name(self):
        self.make_computer("COMP-0", partitions=1)
        view = self.request(self.alice, "web", parameters={"slap_computer_id": "spoofed"})
        self.assertEqual(self.poll("COMP-0")[view.partition].parameter_dict["slap_computer_id"],
                         "COMP-0")

    def test_a_computer_cannot_poll_another(self):
        self.make_computer("COMP-0", partitions=1)
        self.make_computer("COMP-1", partitions=1, subnet=1)
        self.assertRaises(errors.Forbidden, self.call, "computer.information",
                          ComputerAgent("COMP-1"), reference="COMP-0")
        self.assertRaises(errors.NotFound, self.call, "computer.information",
                          ComputerAgent("COMP-2"), reference="COMP-2")
