"""Shared ("slave") instances: hosting, the host's list, connection publishing, destruction."""

from slap_core import errors
from slap_core.principals import ComputerAgent
from tests.fixtures import OTHER_SR, SR, MasterTestCase


class SharedInstanceTests(MasterTestCase):
    """A frontend host and shared instances requested on it."""

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=4, supply=(SR, OTHER_SR))
        self.host = self.request(self.admin, "frontend", software_type="frontend")

    def host_view(self):
        return self.poll("COMP-0")[self.host.partition]

    def test_shared_instance_is_hosted_and_listed_with_its_parameters(self):
        before = self.host_view().timestamp
        shared = self.request(self.alice, "site", shared=True, parameters={"url": "http://a"})
        self.assertEqual((shared.host, shared.computer, shared.partition, shared.shared),
                         (self.host.reference, "COMP-0", self.host.partition, True))
        after = self.host_view()
        self.assertGreater(after.timestamp, before)
        entry, = after.parameter_dict["slave_instance_list"]
        self.assertEqual(entry["slave_title"], "site")
        self.assertEqual(entry["slave_reference"], shared.reference)
        self.assertEqual(entry["slap_software_type"], "default")
        self.assertEqual(entry["url"], "http://a")
        self.assertIsInstance(entry["timestamp"], int)

    def test_software_type_given_must_match_the_host(self):
        shared = self.request(self.alice, "site", shared=True, software_type="frontend")
        self.assertEqual(shared.host, self.host.reference)
        error = self.assertRaises(errors.NotReady, self.request, self.alice, "other",
                                  shared=True, software_type="backend")
        self.assertIn("can host it", str(error))

    def test_instance_guid_pins_the_host(self):
        second = self.request(self.admin, "frontend2", software_type="frontend")
        shared = self.request(self.alice, "site", shared=True,
                              sla={"instance_guid": second.reference})
        self.assertEqual(shared.host, second.reference)
        self.assertRaises(errors.NotReady, self.request, self.alice, "nowhere", shared=True,
                          sla={"instance_guid": "SOFTINST-999"})

    def test_no_host_for_the_release_is_not_ready_and_hosted_later(self):
        pending = self.assertRaises(errors.NotReady, self.request, self.alice, "site", OTHER_SR,
                                    shared=True)
        host = self.request(self.admin, "other-frontend", OTHER_SR)
        placed = self.request(self.alice, "site", OTHER_SR, shared=True)
        self.assertEqual((placed.reference, placed.host),
                         (pending.result.reference, host.reference))

    def test_host_publishes_connection_for_the_shared_instance(self):
        shared = self.request(self.alice, "site", shared=True)
        before = self.host_view().timestamp
        self.call("instance.set_connection", self.node, computer="COMP-0",
                  partition=self.host.partition, connection={"domain": "site.example"},
                  slave_reference=shared.reference)
        seen = self.request(self.alice, "site", shared=True)
        self.assertEqual(seen.connection, {"domain": "site.example"})
        host = self.host_view()
        self.assertEqual(self.host_view().connection_dict, {})
        self.assertEqual(host.parameter_dict["slave_instance_list"][0]["domain"], "site.example")
        self.assertGreater(host.timestamp, before)

    def test_instance_parameter_wins_over_connection_value_in_the_host_list(self):
        shared = self.request(self.alice, "site", shared=True, parameters={"domain": "asked"})
        self.call("instance.set_connection", self.node, computer="COMP-0",
                  partition=self.host.partition, connection={"domain": "given", "x": "1"},
                  slave_reference=shared.reference)
        entry = self.host_view().parameter_dict["slave_instance_list"][0]
        self.assertEqual((entry["domain"], entry["x"]), ("asked", "1"))

    def test_slave_reference_none_string_means_the_host_itself(self):
        self.request(self.alice, "site", shared=True)
        self.call("instance.set_connection", self.node, computer="COMP-0",
                  partition=self.host.partition, connection={"ip": "10.0.0.1"},
                  slave_reference="None")
        self.assertEqual(self.host_view().connection_dict, {"ip": "10.0.0.1"})

    def test_unknown_slave_reference_is_not_found(self):
        self.assertRaises(errors.NotFound, self.call, "instance.set_connection", self.node,
                          computer="COMP-0", partition=self.host.partition,
                          connection={}, slave_reference="SOFTINST-404")

    def test_destroying_a_shared_instance_removes_it_from_the_host(self):
        self.request(self.alice, "site", shared=True)
        kept = self.request(self.bob, "blog", shared=True)
        before = self.host_view().timestamp
        self.request(self.alice, "site", shared=True, state="destroyed")
        host = self.host_view()
        self.assertEqual([e["slave_reference"] for e in host.parameter_dict["slave_instance_list"]],
                         [kept.reference])
        self.assertGreater(host.timestamp, before)
        self.assertEqual(self.call("instance.list", self.alice), [])

    def test_shared_and_regular_instances_cannot_share_a_title(self):
        self.request(self.alice, "site", shared=True)
        self.assertRaises(errors.Conflict, self.request, self.alice, "site")

    def test_shared_requester_sees_connection_but_other_users_do_not(self):
        shared = self.request(self.alice, "site", shared=True)
        self.assertRaises(errors.NotFound, self.call, "instance.get", self.bob,
                          reference=shared.reference)
        self.assertEqual(self.call("instance.get", ComputerAgent("COMP-0"),
                                   reference=shared.reference).title, "site")

    def test_guests_of_a_freed_host_wait_for_a_new_one(self):
        shared = self.request(self.alice, "site", shared=True, software_type="frontend")
        self.request(self.admin, "frontend", state="destroyed")
        self.call("instance.report_destroyed", self.node, computer="COMP-0",
                  partition=self.host.partition)
        waiting = self.call("instance.get", self.alice, reference=shared.reference)
        self.assertEqual((waiting.host, waiting.allocated), (None, False))
        new_host = self.request(self.admin, "frontend", software_type="frontend")
        again = self.request(self.alice, "site", shared=True, software_type="frontend")
        self.assertEqual(again.host, new_host.reference)
