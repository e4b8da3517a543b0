"""The catalogue (products and releases), supplies and their reports, computer.format, and the
shape of a node's poll (free partitions, and busy ones with the reserved keys of spec 1.3)."""

from slap_core import errors
from slap_core.principals import ComputerAgent
from tests.fixtures import OTHER_SR, SR, MasterTestCase, format_configuration

RESERVED_KEYS = {
    "instance_title", "root_instance_title", "slap_computer_id", "slap_computer_partition_id",
    "slap_software_type", "slap_software_release_url", "ip_list", "full_ip_list",
    "slave_instance_list", "timestamp",
}


def kvm(version):
    return "http://sr.example.invalid/kvm-%s.cfg" % version


class CatalogueTests(MasterTestCase):
    """catalogue.add_release, list_products, list_releases, product_release_urls."""

    def add(self, version, product="kvm", principal=None):
        return self.call("catalogue.add_release", principal or self.operator, url=kvm(version),
                         product=product, version=version)

    def test_product_release_urls_are_newest_first(self):
        for version in ("1.0", "1.1", "2.0"):
            self.add(version)
        self.assertEqual(self.call("catalogue.product_release_urls", self.alice, product="kvm"),
                         [kvm("2.0"), kvm("1.1"), kvm("1.0")])

    def test_product_release_urls_by_one_of_its_urls_names_the_whole_product(self):
        for version in ("1.0", "2.0"):
            self.add(version)
        self.add("9.0", product="other")
        self.assertEqual(self.call("catalogue.product_release_urls", self.alice,
                                   url=kvm("1.0")), [kvm("2.0"), kvm("1.0")])

    def test_url_outside_any_product_has_no_product_releases(self):
        self.call("catalogue.add_release", self.operator, url=SR)
        self.assertEqual(self.call("catalogue.product_release_urls", self.alice, url=SR), [])
        self.assertEqual(self.call("catalogue.product_release_urls", self.alice,
                                   url="http://unknown.invalid/x.cfg"), [])

    def test_unknown_product_has_no_release_urls(self):
        self.assertEqual(self.call("catalogue.product_release_urls", self.alice,
                                   product="nothing"), [])

    def test_product_release_urls_needs_exactly_one_of_product_and_url(self):
        self.assertRaises(errors.Invalid, self.call, "catalogue.product_release_urls",
                          self.alice)
        self.assertRaises(errors.Invalid, self.call, "catalogue.product_release_urls",
                          self.alice, product="kvm", url=kvm("1.0"))

    def test_list_products_gives_each_product_its_releases_newest_first(self):
        self.add("1.0")
        self.add("2.0")
        self.add("0.1", product="apache")
        products = self.call("catalogue.list_products", self.alice)
        self.assertEqual([p.reference for p in products], ["apache", "kvm"])
        self.assertEqual([r.version for r in products[1].releases], ["2.0", "1.0"])
        self.assertEqual({r.product for r in products[1].releases}, {"kvm"})

    def test_list_releases_of_one_product(self):
        self.add("1.0")
        self.add("0.1", product="apache")
        self.assertEqual([r.url for r in self.call("catalogue.list_releases", self.alice,
                                                  product="kvm")], [kvm("1.0")])
        self.assertRaises(errors.NotFound, self.call, "catalogue.list_releases", self.alice,
                          product="nothing")

    def test_release_belongs_to_one_product_only(self):
        self.add("1.0")
        self.assertRaises(errors.Conflict, self.add, "1.0", product="other")
        self.assertEqual(self.call("catalogue.product_release_urls", self.alice,
                                   product="other"), [])

    def test_adding_a_release_again_sets_its_version(self):
        self.call("catalogue.add_release", self.operator, url=kvm("x"), product="kvm")
        view = self.call("catalogue.add_release", self.operator, url=kvm("x"), product="kvm",
                         version="3.1")
        self.assertEqual((view.product, view.version), ("kvm", "3.1"))
        self.assertEqual(len(self.call("catalogue.list_releases", self.alice)), 1)

    def test_product_title_defaults_to_its_reference(self):
        self.add("1.0")
        self.call("catalogue.add_release", self.admin, url=kvm("b"), product="web",
                  product_title="Web server")
        titles = {p.reference: p.title for p in self.call("catalogue.list_products", self.alice)}
        self.assertEqual(titles, {"kvm": "kvm", "web": "Web server"})

    def test_only_fleet_managers_add_releases(self):
        self.assertRaises(errors.Forbidden, self.add, "1.0", principal=self.alice)
        self.assertEqual(self.call("catalogue.list_releases", self.alice), [])

    def test_malformed_release_url_is_invalid(self):
        for url in ("", "http://a b", "x" * 2000):
            self.assertRaises(errors.Invalid, self.call, "catalogue.add_release",
                              self.operator, url=url)


class CatalogueEntryTests(MasterTestCase):
    """Catalogue entries apart from the URLs requests merely named; removing an entry."""

    TYPO = "http://example.invalid/memcahced/software.cfg"

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=2, supply=(SR,))
        self.call("catalogue.add_release", self.admin, url=SR, product="demo")

    def listed(self):
        return {r.url: r.catalogued for r in self.call("catalogue.list_releases", self.alice)}

    def archive(self, view):
        """Destroy an instance and have it reported gone, so it is archived."""
        self.request(self.alice, view.title, software_release=view.software_release,
                     state="destroyed")
        if view.partition is not None:
            self.call("instance.report_destroyed", self.node, computer="COMP-0",
                      partition=view.partition)

    def test_a_mistyped_url_is_listed_apart_while_used_and_leaves_with_its_instance(self):
        error = self.assertRaises(errors.NotReady, self.request, self.alice, "typo",
                                  software_release=self.TYPO)
        self.assertEqual(self.listed(), {SR: True, self.TYPO: False})
        self.archive(error.result)
        self.assertEqual(self.listed(), {SR: True})

    def test_an_entry_is_removed_once_nothing_uses_it(self):
        self.call("catalogue.add_release", self.admin, url=OTHER_SR, product="demo")
        self.call("catalogue.remove_release", self.operator, url=OTHER_SR)
        self.assertEqual(self.listed(), {SR: True})
        self.assertEqual(self.call("catalogue.product_release_urls", self.alice, product="demo"),
                         [SR])
        self.assertRaises(errors.NotFound, self.call, "catalogue.remove_release", self.admin,
                          url=OTHER_SR)

    def test_removal_is_refused_while_supplied_or_used_then_allowed(self):
        error = self.assertRaises(errors.Conflict, self.call, "catalogue.remove_release",
                                  self.admin, url=SR)
        self.assertIn("supplied on COMP-0", str(error))
        self.call("supply.supply", self.admin, url=OTHER_SR, computer="COMP-0")
        used = self.request(self.alice, "used", software_release=OTHER_SR)
        self.call("supply.supply", self.admin, url=OTHER_SR, computer="COMP-0",
                  state="destroyed")
        self.call("supply.report", self.node, url=OTHER_SR, computer="COMP-0",
                  state="destroyed")
        error = self.assertRaises(errors.Conflict, self.call, "catalogue.remove_release",
                                  self.admin, url=OTHER_SR)
        self.assertIn("used by instance %s" % used.reference, str(error))
        self.archive(used)
        # archived instances still name it: it leaves the catalogue, its row stays for them
        self.call("catalogue.remove_release", self.admin, url=OTHER_SR)
        self.assertNotIn(OTHER_SR, self.listed())
        archived = self.call("instance.list", self.alice, include_archived=True)
        self.assertEqual([v.software_release for v in archived if v.archived], [OTHER_SR])

    def test_get_release_and_product_read_one_entry_and_only_what_is_listed(self):
        self.call("catalogue.add_release", self.admin, url=OTHER_SR, product="demo")
        self.assertEqual(self.call("catalogue.get_release", self.alice, url=SR).product, "demo")
        product = self.call("catalogue.get_product", self.alice, product="demo")
        self.assertEqual([r.url for r in product.releases], [OTHER_SR, SR])
        self.call("catalogue.remove_release", self.admin, url=OTHER_SR)
        self.assertRaises(errors.NotFound, self.call, "catalogue.get_release", self.alice,
                          url=OTHER_SR)
        self.assertRaises(errors.NotFound, self.call, "catalogue.get_product", self.alice,
                          product="nothing")

    def test_only_fleet_managers_remove_releases(self):
        for principal in (self.alice, self.node):
            self.assertRaises(errors.Forbidden, self.call, "catalogue.remove_release",
                              principal, url=SR)


class SupplyTests(MasterTestCase):
    """supply.supply, supply.list and supply.report."""

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=1, supply=())

    def supply(self, url=SR, state="available"):
        return self.call("supply.supply", self.admin, url=url, computer="COMP-0", state=state)

    def report(self, state, url=SR, **extra):
        return self.call("supply.report", self.node, url=url, computer="COMP-0", state=state,
                         **extra)

    def software(self):
        info = self.call("computer.information", self.node, reference="COMP-0")
        return [(s.url, s.state) for s in info.software]

    def test_supplied_release_is_in_the_poll_as_available(self):
        view = self.supply()
        self.assertEqual((view.desired_state, view.reported_state), ("available", None))
        self.assertEqual(self.software(), [(SR, "available")])

    def test_supplying_twice_keeps_one_supply(self):
        self.supply()
        self.supply()
        self.assertEqual(len(self.call("supply.list", self.admin, computer="COMP-0")), 1)
        self.assertEqual(self.software(), [(SR, "available")])

    def test_supplies_are_listed_per_computer_in_supply_order(self):
        self.supply(OTHER_SR)
        self.supply(SR)
        self.assertEqual(self.software(), [(OTHER_SR, "available"), (SR, "available")])

    def test_get_reads_one_supply_of_one_computer(self):
        self.supply()
        self.report("building")
        view = self.call("supply.get", self.node, computer="COMP-0", url=SR)
        self.assertEqual((view.desired_state, view.reported_state), ("available", "building"))
        error = self.assertRaises(errors.NotFound, self.call, "supply.get", self.admin,
                                  computer="COMP-0", url=OTHER_SR)
        self.assertEqual(str(error), "%s is not supplied to COMP-0" % OTHER_SR)
        self.assertRaises(errors.Forbidden, self.call, "supply.get", self.bob,
                          computer="COMP-0", url=SR)

    def test_report_building_then_available_is_recorded(self):
        self.supply()
        self.assertEqual(self.report("building").reported_state, "building")
        view = self.report("available")
        self.assertEqual(view.reported_state, "available")
        self.assertIsNotNone(view.reported_at)
        listed, = self.call("supply.list", self.admin, computer="COMP-0")
        self.assertEqual(listed.reported_state, "available")

    def test_report_error_keeps_its_text_until_available(self):
        self.supply()
        failed = self.report("error", error_text="buildout: missing section")
        self.assertEqual((failed.reported_state, failed.error_text),
                         ("error", "buildout: missing section"))
        self.assertEqual(self.report("building").error_text, "buildout: missing section")
        self.assertIsNone(self.report("available").error_text)

    def test_long_error_text_keeps_its_end(self):
        self.supply()
        failed = self.report("error", error_text="x" * 100000 + "the real cause")
        self.assertTrue(failed.error_text.endswith("the real cause"))
        self.assertEqual(len(failed.error_text), 64 * 1024)

    def test_report_destroyed_is_refused_until_removal_was_asked(self):
        self.supply()
        self.assertRaises(errors.NotFound, self.report, "destroyed")
        self.assertEqual(self.software(), [(SR, "available")])

    def test_removal_shows_in_the_poll_as_destroyed(self):
        self.supply()
        self.assertEqual(self.supply(state="destroyed").desired_state, "destroyed")
        self.assertEqual(self.software(), [(SR, "destroyed")])

    def test_report_destroyed_after_removal_was_asked_deletes_the_supply(self):
        self.supply()
        self.supply(state="destroyed")
        self.assertIsNone(self.report("destroyed"))
        self.assertEqual(self.software(), [])
        self.assertEqual(self.call("supply.list", self.admin, computer="COMP-0"), [])

    def test_release_can_be_supplied_again_after_removal(self):
        self.supply()
        self.supply(state="destroyed")
        self.assertEqual(self.supply().desired_state, "available")
        self.assertEqual(self.software(), [(SR, "available")])

    def test_report_about_a_release_that_is_not_supplied_is_not_found(self):
        self.supply()
        self.assertRaises(errors.NotFound, self.report, "building", url=OTHER_SR)

    def test_invalid_states_are_refused(self):
        self.assertRaises(errors.Invalid, self.supply, state="started")
        self.supply()
        self.assertRaises(errors.Invalid, self.report, "installed")

    def test_another_computer_may_not_report_for_this_one(self):
        self.supply()
        other = self.make_computer("COMP-1", partitions=1, supply=())
        self.assertRaises(errors.Forbidden, self.call, "supply.report", other, url=SR,
                          computer="COMP-0", state="available")

    def test_supply_registers_the_release_in_the_catalogue(self):
        self.supply(OTHER_SR)
        self.assertEqual([r.url for r in self.call("catalogue.list_releases", self.alice)],
                         [OTHER_SR])


class FormatTests(MasterTestCase):
    """computer.format upserts partitions and addresses."""

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=3)

    def format(self, configuration, principal=None):
        return self.call("computer.format", principal or self.node, reference="COMP-0",
                         configuration=configuration)

    def computer(self):
        return self.call("computer.get", self.admin, reference="COMP-0")

    def test_format_creates_partitions_and_records_the_computer_address(self):
        view = self.computer()
        self.assertEqual((view.partition_count, view.free_partition_count), (3, 3))
        self.assertEqual((view.address, view.netmask), ("10.0.0.1", "255.255.0.0"))
        self.assertEqual(sorted(self.poll("COMP-0")), ["slappart0", "slappart1", "slappart2"])

    def test_format_again_adds_new_partitions(self):
        self.format(format_configuration("COMP-0", 5))
        self.assertEqual(self.computer().partition_count, 5)
        self.assertIn("slappart4", self.poll("COMP-0"))

    def test_format_again_replaces_the_addresses(self):
        configuration = format_configuration("COMP-0", 3, subnet=7)
        self.format(configuration)
        addresses = self.poll("COMP-0")["slappart1"].addresses
        self.assertEqual([(a.network_interface, a.address) for a in addresses],
                         [("slaptap1", "10.7.1.2")])

    def test_free_partitions_missing_from_the_new_list_are_removed(self):
        self.format(format_configuration("COMP-0", 1))
        self.assertEqual(list(self.poll("COMP-0")), ["slappart0"])
        self.assertEqual(self.computer().partition_count, 1)

    def test_removing_a_busy_partition_is_a_conflict_and_changes_nothing(self):
        view = self.request(self.alice, "site")
        self.assertEqual(view.partition, "slappart0")
        configuration = format_configuration("COMP-0", 3)
        configuration["partition_list"] = configuration["partition_list"][1:]
        configuration["partition_list"][0]["address_list"] = [{"addr": "10.9.9.9"}]
        self.assertRaises(errors.Conflict, self.format, configuration)
        polled = self.poll("COMP-0")
        self.assertEqual(sorted(polled), ["slappart0", "slappart1", "slappart2"])
        self.assertEqual(polled["slappart0"].instance, view.reference)
        self.assertEqual(polled["slappart1"].addresses[0].address, "10.0.1.2")

    def test_busy_partition_keeps_its_instance_and_gets_its_new_addresses(self):
        view = self.request(self.alice, "site")
        self.format(format_configuration("COMP-0", 3, subnet=5))
        polled = self.poll("COMP-0")[view.partition]
        self.assertEqual(polled.instance, view.reference)
        self.assertEqual(polled.parameter_dict["ip_list"], [("slaptap0", "10.5.1.1")])
        self.assertEqual(self.call("instance.get", self.alice,
                                   reference=view.reference).ip_list, (("slaptap0", "10.5.1.1"),))

    def test_partition_without_tap_uses_its_reference_as_interface(self):
        self.format({"partition_list": [{"reference": "slappart0",
                                         "address_list": [{"addr": "fd00::1"}]}]})
        self.assertEqual(self.poll("COMP-0")["slappart0"].addresses[0].network_interface,
                         "slappart0")

    def test_explicit_network_interface_of_an_address_wins_over_the_tap(self):
        configuration = format_configuration("COMP-0", 1)
        configuration["partition_list"][0]["address_list"][0]["network_interface"] = "eth9"
        self.format(configuration)
        self.assertEqual(self.poll("COMP-0")["slappart0"].addresses[0].network_interface,
                         "eth9")

    def test_format_by_another_computer_is_forbidden(self):
        other = self.make_computer("COMP-1", partitions=1, subnet=1)
        self.assertRaises(errors.Forbidden, self.format, format_configuration("COMP-0", 5),
                          principal=other)
        self.assertEqual(self.computer().partition_count, 3)

    def test_admin_format_creates_a_missing_computer(self):
        self.call("computer.format", self.admin, reference="COMP-NEW",
                  configuration=format_configuration("COMP-NEW", 2))
        self.assertEqual(len(self.poll("COMP-NEW")), 2)

    def test_format_of_an_unknown_computer_by_its_agent_is_not_found(self):
        self.assertRaises(errors.NotFound, self.call, "computer.format",
                          ComputerAgent("COMP-NEW"), reference="COMP-NEW",
                          configuration=format_configuration("COMP-NEW", 2))

    def test_malformed_partition_lists_are_invalid(self):
        duplicated = format_configuration("COMP-0", 1)
        duplicated["partition_list"] *= 2
        no_address = {"partition_list": [{"reference": "p", "address_list": [{"netmask": "x"}]}]}
        for configuration in ("not a dict", {"partition_list": [{}]}, duplicated, no_address):
            self.assertRaises(errors.Invalid, self.format, configuration)
        self.assertEqual(self.computer().partition_count, 3)

    def test_format_records_news_on_the_computer(self):
        status = self.call("computer.status", self.admin, reference="COMP-0")
        self.assertEqual(status["text"], "#access computer formatted with 3 partitions")


class PollShapeTests(MasterTestCase):
    """computer.information: what a node sees of free and busy partitions."""

    def setUp(self):
        super().setUp()
        self.call("computer.create", self.admin, reference="COMP-0")
        self.node = ComputerAgent("COMP-0")
        configuration = format_configuration("COMP-0", 3)
        for index, entry in enumerate(configuration["partition_list"]):
            entry["address_list"].append({"addr": "2001:db8::%d" % (index + 1),
                                          "netmask": "ffff:ffff:ffff:ffff::"})
            entry["tap"].update(ipv4_addr="10.99.0.%d" % (index + 2),
                                ipv4_netmask="255.255.255.0", ipv4_gateway="10.99.0.1",
                                ipv4_network="10.99.0.0")
        self.call("computer.format", self.node, reference="COMP-0", configuration=configuration)
        self.call("supply.supply", self.admin, url=SR, computer="COMP-0")
        self.root = self.request(self.alice, "root", software_type="web",
                                 parameters={"color": "blue"}, sla={"retention_delay": "1"})
        self.child = self.request(self.partition_agent(self.root), "db")

    def test_free_partition_is_destroyed_without_instance(self):
        free = self.poll("COMP-0")["slappart2"]
        self.assertEqual(free.state, "destroyed")
        self.assertIsNone(free.instance)
        self.assertIsNone(free.title)
        self.assertIsNone(free.software_release)
        self.assertIsNone(free.timestamp)
        self.assertEqual((free.parameter_dict, free.connection_dict, free.filter_dict),
                         ({}, {}, {}))
        self.assertIsNone(free.access_status)

    def test_busy_partition_has_every_reserved_parameter_key(self):
        parameters = self.poll("COMP-0")[self.root.partition].parameter_dict
        self.assertLessEqual(RESERVED_KEYS, set(parameters))
        self.assertEqual(set(parameters) - RESERVED_KEYS, {"color", "root_instance_short_title"})

    def test_reserved_keys_describe_the_instance_and_its_partition(self):
        parameters = self.poll("COMP-0")[self.child.partition].parameter_dict
        self.assertEqual(parameters["instance_title"], "db")
        self.assertEqual(parameters["root_instance_title"], "root")
        self.assertEqual(parameters["slap_computer_id"], "COMP-0")
        self.assertEqual(parameters["slap_computer_partition_id"], self.child.partition)
        self.assertEqual(parameters["slap_software_type"], "default")
        self.assertEqual(parameters["slap_software_release_url"], SR)
        self.assertEqual(parameters["slave_instance_list"], [])
        self.assertEqual(parameters["timestamp"], self.child.timestamp)

    def test_root_partition_is_its_own_root_and_carries_its_parameters(self):
        polled = self.poll("COMP-0")[self.root.partition]
        self.assertEqual(polled.parameter_dict["instance_title"], "root")
        self.assertEqual(polled.parameter_dict["root_instance_title"], "root")
        self.assertEqual(polled.parameter_dict["slap_software_type"], "web")
        self.assertEqual(polled.parameter_dict["color"], "blue")
        self.assertEqual(polled.filter_dict, {"retention_delay": "1"})
        self.assertEqual((polled.state, polled.instance, polled.title, polled.software_type),
                         ("started", self.root.reference, "root", "web"))

    def test_ip_list_pairs_the_tap_name_with_every_address_without_a_gateway(self):
        # As the master: an address with a gateway and a netmask is only in full_ip_list.
        parameters = self.poll("COMP-0")["slappart1"].parameter_dict
        self.assertEqual(parameters["ip_list"], [("slaptap1", "10.0.1.2"),
                                                 ("slaptap1", "2001:db8::2")])

    def test_full_ip_list_lists_addresses_with_a_gateway(self):
        parameters = self.poll("COMP-0")["slappart1"].parameter_dict
        self.assertEqual(parameters["full_ip_list"],
                         [("slaptap1", "10.99.0.3", "10.99.0.1", "255.255.255.0",
                           "10.99.0.0")])

    def test_reserved_keys_override_parameters_of_the_same_name(self):
        view = self.request(self.alice, "root", parameters={
            "color": "red", "instance_title": "spoofed", "slap_computer_id": "COMP-X"})
        parameters = self.poll("COMP-0")[view.partition].parameter_dict
        self.assertEqual(parameters["instance_title"], "root")
        self.assertEqual(parameters["slap_computer_id"], "COMP-0")
        self.assertEqual(parameters["color"], "red")

    def test_timestamp_is_the_instance_timestamp(self):
        polled = self.poll("COMP-0")[self.root.partition]
        self.assertEqual(polled.timestamp, self.root.timestamp)
        self.assertEqual(polled.parameter_dict["timestamp"], self.root.timestamp)
        self.assertIsInstance(polled.timestamp, int)

    def test_partition_view_matches_the_poll(self):
        one = self.call("computer.partition", self.partition_agent(self.child),
                        reference="COMP-0", partition=self.child.partition)
        self.assertEqual(one, self.poll("COMP-0")[self.child.partition])

    def test_poll_lists_partitions_in_format_order_with_the_supplied_software(self):
        info = self.call("computer.information", self.node, reference="COMP-0")
        self.assertEqual([p.reference for p in info.partitions],
                         ["slappart0", "slappart1", "slappart2"])
        self.assertEqual([(s.url, s.state) for s in info.software], [(SR, "available")])

    def test_another_computer_may_not_poll(self):
        self.call("computer.create", self.admin, reference="COMP-1")
        self.assertRaises(errors.Forbidden, self.call, "computer.information",
                          ComputerAgent("COMP-1"), reference="COMP-0")
