"""Shared ("slave") instances: choosing the host, the host's slave_instance_list, timestamps,
connection parameters published by the host, and destruction."""

from slap_core import errors
from tests.fixtures import OTHER_SR, SR, MasterTestCase


class SharedTestCase(MasterTestCase):
    """Two computers with SR and OTHER_SR; alice's regular instance 'host' on COMP-0."""

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=3, supply=(SR, OTHER_SR))
        self.other_node = self.make_computer("COMP-1", partitions=3, subnet=1,
                                             supply=(SR, OTHER_SR))
        self.host = self.request(self.alice, "host", software_type="frontend",
                                 sla={"computer_guid": "COMP-0"})

    def shared(self, title, principal=None, **arguments):
        """Request a shared instance (as bob by default: anyone may share a host)."""
        return self.request(principal or self.bob, title, shared=True, **arguments)

    def not_ready(self, title, principal=None, **arguments):
        """Request a shared instance expecting NotReady; returns the recorded view."""
        error = self.assertRaises(errors.NotReady, self.shared, title, principal, **arguments)
        self.assertIsNone(error.result.host)
        return error.result

    def host_view(self, host=None):
        """The host's partition as its node polls it."""
        host = host or self.host
        return self.poll(host.computer)[host.partition]

    def entries(self, host=None):
        """The host's slave_instance_list, by slave_title."""
        return {e["slave_title"]: e
                for e in self.host_view(host).parameter_dict["slave_instance_list"]}

    def get(self, reference, principal=None):
        return self.call("instance.get", principal or self.bob, reference=reference)


class HostChoiceTests(SharedTestCase):
    """Which instance hosts a shared one."""

    def test_shared_instance_is_hosted_by_a_live_instance_of_the_same_release(self):
        view = self.shared("site")
        self.assertTrue(view.shared)
        self.assertTrue(view.allocated)
        self.assertEqual(view.host, self.host.reference)
        self.assertEqual((view.computer, view.partition),
                         (self.host.computer, self.host.partition))

    def test_shared_instance_takes_no_partition(self):
        before = sum(p.instance is None for p in self.poll("COMP-0").values())
        view = self.shared("site")
        after = sum(p.instance is None for p in self.poll("COMP-0").values())
        self.assertEqual(after, before)
        self.assertNotIn(view.reference, [p.instance for p in self.poll("COMP-0").values()])

    def test_shared_instance_of_a_release_nobody_runs_is_not_ready_but_recorded(self):
        view = self.not_ready("site", software_release=OTHER_SR)
        self.assertFalse(view.allocated)
        self.assertTrue(view.shared)
        self.assertEqual([v.reference for v in self.call("instance.list", self.bob)],
                         [view.reference])

    def test_pending_shared_instance_is_hosted_by_a_rerequest_once_a_host_exists(self):
        pending = self.not_ready("site", software_release=OTHER_SR)
        other_host = self.request(self.alice, "other-host", software_release=OTHER_SR)
        view = self.shared("site", software_release=OTHER_SR)
        self.assertEqual(view.reference, pending.reference)
        self.assertEqual(view.host, other_host.reference)
        self.assertIn("site", self.entries(other_host))

    def test_requested_software_type_must_match_the_hosts(self):
        self.not_ready("site", software_type="database")
        self.assertEqual(self.shared("other", software_type="frontend").host,
                         self.host.reference)

    def test_shared_instance_without_software_type_accepts_a_host_of_any_type(self):
        view = self.shared("site")
        self.assertEqual(view.host, self.host.reference)
        self.assertEqual(view.software_type, "default")

    def test_instance_guid_pins_the_host(self):
        second = self.request(self.alice, "second-host", software_type="frontend")
        view = self.shared("site", sla={"instance_guid": second.reference})
        self.assertEqual(view.host, second.reference)
        self.assertIn("site", self.entries(second))
        self.assertNotIn("site", self.entries())

    def test_instance_guid_of_an_unknown_instance_is_not_ready(self):
        self.not_ready("site", sla={"instance_guid": "SOFTINST-404"})

    def test_instance_guid_of_an_instance_of_another_release_is_not_ready(self):
        other = self.request(self.alice, "other", software_release=OTHER_SR)
        self.not_ready("site", sla={"instance_guid": other.reference})

    def test_computer_guid_restricts_the_host(self):
        remote = self.request(self.alice, "remote", sla={"computer_guid": "COMP-1"})
        view = self.shared("site", sla={"computer_guid": "COMP-1"})
        self.assertEqual(view.host, remote.reference)
        self.assertEqual(view.computer, "COMP-1")

    def test_computer_guid_without_a_host_there_is_not_ready(self):
        self.not_ready("site", sla={"computer_guid": "COMP-1"})

    def test_instance_being_destroyed_cannot_host(self):
        self.request(self.alice, "host", state="destroyed")
        self.not_ready("site")

    def test_stopped_instance_can_still_host(self):
        self.request(self.alice, "host", state="stopped")
        self.assertEqual(self.shared("site").host, self.host.reference)

    def test_pending_regular_instance_cannot_host(self):
        self.assertRaises(errors.NotReady, self.request, self.alice, "waiting",
                          software_release=OTHER_SR, sla={"computer_guid": "COMP-404"})
        self.not_ready("site", software_release=OTHER_SR)

    def test_shared_instance_cannot_host_another_one(self):
        first = self.shared("first")
        self.not_ready("second", sla={"instance_guid": first.reference})

    def test_unknown_sla_key_never_hosts(self):
        self.not_ready("site", sla={"colour": "blue"})

    def test_shared_instance_can_be_requested_by_a_partition_in_its_tree(self):
        view = self.shared("frontend-entry", principal=self.partition_agent(self.host))
        self.assertEqual(view.tree, "host")
        self.assertEqual(view.requester, self.host.reference)
        self.assertEqual(view.host, self.host.reference)

    def test_rerequest_as_regular_instance_is_a_conflict(self):
        self.shared("site")
        self.assertRaises(errors.Conflict, self.request, self.bob, "site")


class HostListTests(SharedTestCase):
    """The host's poll lists its shared instances; changes bump the host."""

    def test_host_lists_the_shared_instance_with_its_identity_and_timestamp(self):
        view = self.shared("site", software_type="frontend", parameters={"url": "http://a"})
        entry = self.entries()["site"]
        self.assertEqual(entry["slave_reference"], view.reference)
        self.assertEqual(entry["slap_software_type"], "frontend")
        self.assertEqual(entry["timestamp"], self.get(view.reference).timestamp)
        self.assertEqual(entry["url"], "http://a")

    def test_host_entry_keys_come_in_order_fixed_then_connection_then_parameters(self):
        view = self.shared("site", parameters={"p": "1", "shared": "from-parameters"})
        self.call("instance.set_connection", self.node, computer="COMP-0",
                  partition=self.host.partition, slave_reference=view.reference,
                  connection={"c": "2", "shared": "from-connection"})
        entry = self.entries()["site"]
        self.assertEqual(list(entry)[:4],
                         ["slave_title", "slave_reference", "slap_software_type", "timestamp"])
        self.assertEqual(list(entry)[4:], ["c", "shared", "p"])
        self.assertEqual(entry["shared"], "from-parameters")

    def test_adding_a_shared_instance_bumps_the_host(self):
        before = self.host_view().timestamp
        self.shared("site")
        self.assertGreater(self.host_view().timestamp, before)
        self.assertEqual(self.host_view().parameter_dict["timestamp"],
                         self.host_view().timestamp)

    def test_identical_rerequest_does_not_bump_the_host_or_the_shared_instance(self):
        first = self.shared("site", parameters={"a": "1"})
        before = self.host_view().timestamp
        again = self.shared("site", parameters={"a": "1"})
        self.assertEqual(again.reference, first.reference)
        self.assertEqual(again.timestamp, first.timestamp)
        self.assertEqual(self.host_view().timestamp, before)
        self.assertEqual(len(self.entries()), 1)

    def test_changed_parameters_update_the_entry_and_bump_the_host(self):
        first = self.shared("site", parameters={"a": "1"})
        before = self.host_view().timestamp
        second = self.shared("site", parameters={"a": "2"})
        self.assertGreater(second.timestamp, first.timestamp)
        self.assertGreater(self.host_view().timestamp, before)
        self.assertEqual(self.entries()["site"]["a"], "2")
        self.assertEqual(self.entries()["site"]["timestamp"], second.timestamp)

    def test_host_lists_every_shared_instance_it_hosts(self):
        self.shared("one")
        self.shared("two", principal=self.alice)
        self.assertEqual(set(self.entries()), {"one", "two"})

    def test_host_without_shared_instances_has_an_empty_list(self):
        self.assertEqual(self.host_view().parameter_dict["slave_instance_list"], [])

    def test_destroying_a_shared_instance_removes_it_from_the_list_and_bumps_the_host(self):
        self.shared("one")
        view = self.shared("two")
        before = self.host_view().timestamp
        self.shared("two", state="destroyed")
        self.assertEqual(set(self.entries()), {"one"})
        self.assertGreater(self.host_view().timestamp, before)
        self.assertTrue(self.get(view.reference).archived)

    def test_renaming_a_shared_instance_updates_the_entry_and_bumps_the_host(self):
        view = self.shared("site")
        before = self.host_view().timestamp
        renamed = self.call("instance.rename", self.node, computer="COMP-0",
                            partition=self.host.partition, slave_reference=view.reference,
                            new_name="www")
        self.assertEqual((renamed.reference, renamed.title), (view.reference, "www"))
        self.assertEqual(set(self.entries()), {"www"})
        self.assertGreater(self.host_view().timestamp, before)

    def test_destroying_a_shared_instance_by_reference_removes_it_and_bumps_the_host(self):
        view = self.shared("site")
        before = self.host_view().timestamp
        self.call("instance.destroy", self.bob, reference=view.reference)
        self.assertEqual(self.entries(), {})
        self.assertGreater(self.host_view().timestamp, before)

    def test_destroyed_shared_title_can_be_requested_again(self):
        first = self.shared("site")
        self.shared("site", state="destroyed")
        again = self.shared("site")
        self.assertNotEqual(again.reference, first.reference)
        self.assertEqual(self.entries()["site"]["slave_reference"], again.reference)

    def test_freed_host_drops_its_shared_instances_which_find_a_new_host(self):
        view = self.shared("site")
        self.request(self.alice, "host", state="destroyed")
        self.call("instance.report_destroyed", self.node, computer="COMP-0",
                  partition=self.host.partition)
        orphan = self.get(view.reference)
        self.assertIsNone(orphan.host)
        self.assertFalse(orphan.allocated)
        new_host = self.request(self.alice, "new-host", sla={"computer_guid": "COMP-1"})
        rehosted = self.shared("site")
        self.assertEqual(rehosted.host, new_host.reference)
        self.assertIn("site", self.entries(new_host))


class SharedConnectionTests(SharedTestCase):
    """The host publishes a shared instance's connection parameters with slave_reference."""

    def publish(self, shared, connection, principal=None):
        return self.call("instance.set_connection", principal or self.node, computer="COMP-0",
                         partition=self.host.partition, slave_reference=shared.reference,
                         connection=connection)

    def test_host_publishes_connection_visible_to_the_requester(self):
        view = self.shared("site")
        self.publish(view, {"url": "https://site.example"})
        self.assertEqual(self.get(view.reference).connection, {"url": "https://site.example"})
        self.assertEqual(self.shared("site").connection, {"url": "https://site.example"})

    def test_host_partition_itself_may_publish_the_connection(self):
        view = self.shared("site")
        self.publish(view, {"url": "u"}, principal=self.partition_agent(self.host))
        self.assertEqual(self.get(view.reference).connection, {"url": "u"})

    def test_publishing_shared_connection_leaves_the_hosts_own_connection_alone(self):
        view = self.shared("site")
        self.publish(view, {"url": "u"})
        self.assertEqual(self.host_view().connection_dict, {})
        self.assertEqual(self.entries()["site"]["url"], "u")

    def test_shared_connection_change_bumps_the_host(self):
        view = self.shared("site")
        before = self.host_view().timestamp
        self.publish(view, {"url": "u"})
        self.assertGreater(self.host_view().timestamp, before)

    def test_shared_connection_change_bumps_the_shared_instances_requester(self):
        client = self.request(self.alice, "client", sla={"computer_guid": "COMP-1"})
        view = self.shared("entry", principal=self.partition_agent(client))
        self.publish(view, {"url": "u"})
        requester = self.poll("COMP-1")[client.partition]
        self.assertGreater(requester.timestamp, client.timestamp)
        entry = self.call("instance.get", self.partition_agent(client), reference=view.reference)
        self.assertEqual(entry.connection, {"url": "u"})

    def test_unchanged_shared_connection_bumps_nothing(self):
        view = self.shared("site")
        self.publish(view, {"url": "u"})
        before = self.host_view().timestamp
        self.publish(view, {"url": "u"})
        self.assertEqual(self.host_view().timestamp, before)

    def test_slave_reference_hosted_elsewhere_is_not_found(self):
        remote = self.request(self.alice, "remote", sla={"computer_guid": "COMP-1"})
        view = self.shared("site", sla={"instance_guid": remote.reference})
        self.assertRaises(errors.NotFound, self.publish, view, {"url": "u"})

    def test_destroyed_shared_instance_no_longer_accepts_a_connection(self):
        view = self.shared("site")
        self.shared("site", state="destroyed")
        self.assertRaises(errors.NotFound, self.publish, view, {"url": "u"})

    def test_report_error_on_a_shared_instance_sets_its_status_only(self):
        view = self.shared("site")
        self.call("instance.report_error", self.node, computer="COMP-0",
                  partition=self.host.partition, slave_reference=view.reference,
                  message="bad url")
        self.assertEqual(self.get(view.reference).status_text, "#error bad url")
        self.assertIsNone(self.call("instance.get", self.alice,
                                    reference=self.host.reference).status_text)


class SharedTimestampTests(MasterTestCase):
    """Whatever bumps a shared instance bumps its host, which deploys it."""

    def test_bang_of_the_shared_instances_tree_bumps_its_host(self):
        node = self.make_computer("COMP-0", partitions=3)
        host = self.request(self.admin, "frontend")
        root = self.request(self.alice, "root")
        self.request(self.partition_agent(root), "site", shared=True)
        before = self.poll("COMP-0")[host.partition].timestamp
        self.call("instance.bang", node, computer="COMP-0", partition=root.partition)
        self.assertGreater(self.poll("COMP-0")[host.partition].timestamp, before)


class SharedReportTests(SharedTestCase):
    """What a node reports about a shared instance its partition hosts: a shared instance runs no
    process of its own."""

    def node_call(self, name, reference, **arguments):
        return self.call(name, self.node, computer="COMP-0", partition=self.host.partition,
                         slave_reference=reference, **arguments)

    def test_state_reports_are_accepted_and_change_nothing(self):
        shared = self.shared("blog")
        before = self.get(shared.reference)
        self.assertIsNone(self.node_call("instance.report_started", shared.reference))
        self.assertIsNone(self.node_call("instance.report_stopped", shared.reference))
        outcome = self.node_call("instance.report_destroyed", shared.reference)
        self.assertFalse(outcome.freed)
        self.assertEqual(self.get(shared.reference), before)
        self.assertEqual(self.get(self.host.reference, self.alice).status_text, None)

    def test_a_shared_instance_cannot_be_banged(self):
        shared = self.shared("blog")
        error = self.assertRaises(errors.Forbidden, self.node_call, "instance.bang",
                                  shared.reference, message="again")
        self.assertEqual(str(error), "a shared instance cannot be banged")

    def test_a_report_about_a_shared_instance_hosted_elsewhere_is_not_found(self):
        self.assertRaises(errors.NotFound, self.node_call, "instance.report_started",
                          "SOFTINST-999")
