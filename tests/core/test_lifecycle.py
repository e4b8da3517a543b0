"""What the node side reports about instances: connection parameters and the timestamps they bump,
bangs, renames, news (status) and the destruction of partitions, children first."""

from slap_core import errors
from tests.fixtures import MasterTestCase


class TreeTestCase(MasterTestCase):
    """COMP-0 (6 partitions) runs alice's tree: root -> child -> grandchild."""

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=6)
        self.root = self.request(self.alice, "root")
        self.child = self.request(self.partition_agent(self.root), "child")
        self.grandchild = self.request(self.partition_agent(self.child), "grandchild")

    def node_call(self, name, view, principal=None, **arguments):
        """Call a node-side operation for the partition of ``view`` (as the computer by default)."""
        return self.call(name, principal or self.node, computer=view.computer,
                         partition=view.partition, **arguments)

    def timestamp(self, view):
        """The timestamp the node sees now for the partition of ``view``."""
        return self.poll(view.computer)[view.partition].timestamp

    def get(self, view, principal=None):
        return self.call("instance.get", principal or self.alice, reference=view.reference)


class ConnectionTests(TreeTestCase):
    """instance.set_connection."""

    def test_partition_publishes_connection_visible_to_its_requester(self):
        self.node_call("instance.set_connection", self.child,
                       principal=self.partition_agent(self.child), connection={"url": "db://"})
        seen = self.call("instance.get", self.partition_agent(self.root),
                         reference=self.child.reference)
        self.assertEqual(seen.connection, {"url": "db://"})
        again = self.request(self.partition_agent(self.root), "child")
        self.assertEqual(again.connection, {"url": "db://"})

    def test_computer_publishes_connection_for_one_of_its_partitions(self):
        self.node_call("instance.set_connection", self.root, connection={"url": "http://site"})
        self.assertEqual(self.get(self.root).connection, {"url": "http://site"})
        self.assertEqual(self.request(self.alice, "root").connection, {"url": "http://site"})
        self.assertEqual(self.poll("COMP-0")[self.root.partition].connection_dict,
                         {"url": "http://site"})

    def test_partition_may_not_publish_for_another_partition(self):
        self.assertRaises(errors.Forbidden, self.node_call, "instance.set_connection",
                          self.root, principal=self.partition_agent(self.child),
                          connection={"url": "x"})
        self.assertEqual(self.get(self.root).connection, {})

    def test_other_computer_may_not_publish(self):
        other = self.make_computer("COMP-1", partitions=1, subnet=1)
        self.assertRaises(errors.Forbidden, self.node_call, "instance.set_connection",
                          self.root, principal=other, connection={"url": "x"})

    def test_connection_change_bumps_the_direct_requester(self):
        self.node_call("instance.set_connection", self.child, connection={"url": "db://"})
        self.assertGreater(self.timestamp(self.root), self.root.timestamp)

    def test_connection_change_bumps_one_level_only(self):
        child_before = self.timestamp(self.child)
        root_before = self.timestamp(self.root)
        self.node_call("instance.set_connection", self.grandchild, connection={"k": "v"})
        self.assertGreater(self.timestamp(self.child), child_before)
        self.assertEqual(self.timestamp(self.root), root_before)
        self.assertEqual(self.timestamp(self.grandchild), self.grandchild.timestamp)

    def test_unchanged_connection_bumps_nobody(self):
        self.node_call("instance.set_connection", self.child, connection={"url": "db://"})
        before = self.timestamp(self.root)
        self.node_call("instance.set_connection", self.child, connection={"url": "db://"})
        self.assertEqual(self.timestamp(self.root), before)

    def test_root_connection_change_bumps_nothing_on_the_node(self):
        before = {r: p.timestamp for r, p in self.poll("COMP-0").items()}
        self.node_call("instance.set_connection", self.root, connection={"url": "x"})
        after = {r: p.timestamp for r, p in self.poll("COMP-0").items()}
        self.assertEqual(after, before)

    def test_new_connection_replaces_the_old_one(self):
        self.node_call("instance.set_connection", self.child, connection={"a": "1", "b": "2"})
        self.node_call("instance.set_connection", self.child, connection={"a": "3"})
        self.assertEqual(self.get(self.child).connection, {"a": "3"})

    def test_slave_reference_none_string_means_the_partition_itself(self):
        self.node_call("instance.set_connection", self.child, slave_reference="None",
                       connection={"url": "db://"})
        self.assertEqual(self.get(self.child).connection, {"url": "db://"})

    def test_unknown_slave_reference_is_not_found(self):
        self.assertRaises(errors.NotFound, self.node_call, "instance.set_connection",
                          self.child, slave_reference="SOFTINST-404", connection={"a": "b"})

    def test_free_partition_has_no_instance_to_publish_for(self):
        self.assertRaises(errors.NotFound, self.call, "instance.set_connection", self.node,
                          computer="COMP-0", partition="slappart5", connection={"a": "b"})


class BangTests(TreeTestCase):
    """instance.bang and computer.bang."""

    def test_instance_bang_bumps_every_instance_of_the_tree(self):
        before = self.poll("COMP-0")
        self.node_call("instance.bang", self.grandchild, message="again")
        after = self.poll("COMP-0")
        for view in (self.root, self.child, self.grandchild):
            self.assertGreater(after[view.partition].timestamp,
                               before[view.partition].timestamp, view.title)

    def test_instance_bang_leaves_other_trees_alone(self):
        other = self.request(self.bob, "other")
        self.node_call("instance.bang", self.child)
        self.assertEqual(self.timestamp(other), other.timestamp)

    def test_instance_bang_records_its_message_as_news(self):
        self.node_call("instance.bang", self.child, message="config changed")
        self.assertEqual(self.get(self.child).status_text, "#access bang: config changed")

    def test_computer_bang_bumps_every_instance_on_the_computer(self):
        other = self.request(self.bob, "other")
        before = self.poll("COMP-0")
        count = self.call("computer.bang", self.node, reference="COMP-0", message="reboot")
        after = self.poll("COMP-0")
        self.assertEqual(count, 4)
        for view in (self.root, self.child, self.grandchild, other):
            self.assertGreater(after[view.partition].timestamp,
                               before[view.partition].timestamp, view.title)

    def test_computer_bang_leaves_other_computers_alone(self):
        self.make_computer("COMP-1", partitions=1, subnet=1)
        remote = self.request(self.bob, "remote", sla={"computer_guid": "COMP-1"})
        self.call("computer.bang", self.node, reference="COMP-0")
        self.assertEqual(self.timestamp(remote), remote.timestamp)

    def test_computer_bang_records_news_on_the_computer(self):
        self.call("computer.bang", self.node, reference="COMP-0", message="reboot")
        status = self.call("computer.status", self.admin, reference="COMP-0")
        self.assertEqual(status["text"], "#access bang: reboot")


class RenameTests(TreeTestCase):
    """instance.rename."""

    def test_renamed_child_keeps_its_reference_and_is_bumped(self):
        view = self.node_call("instance.rename", self.child, new_name="database")
        self.assertEqual((view.reference, view.title), (self.child.reference, "database"))
        polled = self.poll("COMP-0")[self.child.partition]
        self.assertEqual(polled.title, "database")
        self.assertEqual(polled.parameter_dict["instance_title"], "database")
        self.assertGreater(polled.timestamp, self.child.timestamp)

    def test_renamed_child_is_requested_under_its_new_title(self):
        self.node_call("instance.rename", self.child, new_name="database")
        agent = self.partition_agent(self.root)
        self.assertEqual(self.request(agent, "database").reference, self.child.reference)
        fresh = self.request(agent, "child")
        self.assertNotEqual(fresh.reference, self.child.reference)

    def test_rename_to_a_title_taken_in_the_tree_is_a_conflict(self):
        self.assertRaises(errors.Conflict, self.node_call, "instance.rename", self.child,
                          new_name="grandchild")
        self.assertEqual(self.get(self.child).title, "child")

    def test_rename_to_a_title_used_in_another_tree_is_allowed(self):
        other = self.request(self.alice, "other")
        self.request(self.partition_agent(other), "cache")
        view = self.node_call("instance.rename", self.child, new_name="cache")
        self.assertEqual(view.title, "cache")

    def test_rename_root_to_a_title_of_another_root_is_a_conflict(self):
        self.request(self.alice, "other")
        self.assertRaises(errors.Conflict, self.node_call, "instance.rename", self.root,
                          new_name="other")

    def test_rename_root_to_another_users_root_title_is_allowed(self):
        self.request(self.bob, "taken-by-bob")
        self.assertEqual(self.node_call("instance.rename", self.root,
                                        new_name="taken-by-bob").title, "taken-by-bob")

    def test_renaming_the_root_renames_the_tree_everywhere(self):
        self.node_call("instance.rename", self.root, new_name="website")
        polled = self.poll("COMP-0")
        self.assertEqual(polled[self.root.partition].parameter_dict["instance_title"], "website")
        for view in (self.root, self.child, self.grandchild):
            parameters = polled[view.partition].parameter_dict
            self.assertEqual(parameters["root_instance_title"], "website", view.title)
            self.assertGreater(polled[view.partition].timestamp, view.timestamp, view.title)
        self.assertEqual(self.get(self.grandchild).tree, "website")
        self.assertEqual(self.request(self.alice, "website").reference, self.root.reference)

    def test_renaming_to_the_same_title_changes_nothing(self):
        self.node_call("instance.rename", self.child, new_name="child")
        self.assertEqual(self.timestamp(self.child), self.child.timestamp)

    def test_invalid_new_title_is_refused(self):
        self.assertRaises(errors.Invalid, self.node_call, "instance.rename", self.child,
                          new_name="")


class NewsTests(TreeTestCase):
    """report_started / report_stopped / report_error: the instance's status text."""

    def access_status(self, view):
        return self.poll("COMP-0")[view.partition].access_status

    def test_access_status_before_any_news_is_no_data(self):
        self.assertEqual(self.access_status(self.child),
                         "#error no data found for %s" % self.child.reference)
        self.assertIsNone(self.get(self.child).status_text)

    def test_report_started_sets_an_access_status(self):
        self.node_call("instance.report_started", self.child)
        self.assertEqual(self.access_status(self.child), "#access Instance correctly started")
        view = self.get(self.child)
        self.assertEqual(view.status_text, "#access Instance correctly started")
        self.assertIsNotNone(view.status_at)

    def test_report_stopped_sets_an_access_status(self):
        self.node_call("instance.report_stopped", self.child,
                       principal=self.partition_agent(self.child))
        self.assertEqual(self.access_status(self.child), "#access Instance correctly stopped")

    def test_report_error_keeps_the_message(self):
        self.node_call("instance.report_error", self.child, message="buildout failed")
        self.assertEqual(self.access_status(self.child), "#error buildout failed")

    def test_latest_news_replaces_the_previous_one(self):
        self.node_call("instance.report_error", self.child, message="boom")
        self.node_call("instance.report_started", self.child)
        self.assertEqual(self.access_status(self.child), "#access Instance correctly started")

    def test_news_concern_one_instance_only(self):
        self.node_call("instance.report_error", self.child, message="boom")
        self.assertEqual(self.access_status(self.root),
                         "#error no data found for %s" % self.root.reference)

    def test_news_do_not_bump_the_timestamp(self):
        self.node_call("instance.report_started", self.child)
        self.assertEqual(self.timestamp(self.child), self.child.timestamp)


class DestroyTests(TreeTestCase):
    """instance.report_destroyed: children before parents, then the partition is free."""

    def report(self, view):
        return self.node_call("instance.report_destroyed", view)

    def test_report_destroyed_is_refused_unless_the_instance_is_to_be_destroyed(self):
        self.assertRaises(errors.Conflict, self.report, self.grandchild)
        self.request(self.alice, "root", state="stopped")
        self.assertRaises(errors.Conflict, self.report, self.grandchild)
        self.assertEqual(self.poll("COMP-0")[self.grandchild.partition].instance,
                         self.grandchild.reference)

    def test_report_destroyed_frees_the_partition_in_the_poll(self):
        self.request(self.partition_agent(self.child), "grandchild", state="destroyed")
        outcome = self.report(self.grandchild)
        self.assertTrue(outcome.freed)
        polled = self.poll("COMP-0")[self.grandchild.partition]
        self.assertEqual(polled.state, "destroyed")
        self.assertIsNone(polled.instance)
        self.assertEqual(polled.parameter_dict, {})
        view = self.call("instance.get", self.alice, reference=self.grandchild.reference)
        self.assertTrue(view.archived)
        self.assertFalse(view.allocated)
        self.assertEqual(view.status_text, "#access Instance destroyed")

    def test_reporting_a_free_partition_destroyed_is_harmless(self):
        outcome = self.call("instance.report_destroyed", self.node, computer="COMP-0",
                            partition="slappart5")
        self.assertTrue(outcome.freed)
        self.assertIsNone(self.poll("COMP-0")["slappart5"].instance)

    def test_reporting_twice_is_harmless(self):
        self.request(self.partition_agent(self.child), "grandchild", state="destroyed")
        self.report(self.grandchild)
        self.assertTrue(self.report(self.grandchild).freed)

    def test_parent_with_live_children_is_not_freed_and_its_children_are_destroyed(self):
        self.request(self.partition_agent(self.root), "child", state="destroyed")
        outcome = self.report(self.child)
        self.assertFalse(outcome.freed)
        self.assertEqual(outcome.waiting_for, ("grandchild",))
        polled = self.poll("COMP-0")
        self.assertEqual(polled[self.child.partition].instance, self.child.reference)
        self.assertEqual(polled[self.grandchild.partition].state, "destroyed")
        self.assertGreater(polled[self.grandchild.partition].timestamp,
                           self.grandchild.timestamp)
        self.assertEqual(polled[self.root.partition].state, "started")

    def test_parent_is_freed_once_its_children_are_freed(self):
        self.request(self.alice, "root", state="destroyed")
        self.assertFalse(self.report(self.root).freed)
        self.assertFalse(self.report(self.child).freed)
        self.assertTrue(self.report(self.grandchild).freed)
        self.assertTrue(self.report(self.child).freed)
        self.assertTrue(self.report(self.root).freed)
        self.assertEqual([p.instance for p in self.poll("COMP-0").values()], [None] * 6)
        self.assertEqual(self.call("instance.list", self.alice), [])

    def test_children_that_were_never_allocated_do_not_hold_the_parent(self):
        error = self.assertRaises(errors.NotReady, self.request, self.partition_agent(self.child),
                                  "pending", sla={"computer_guid": "COMP-404"})
        self.request(self.partition_agent(self.child), "grandchild", state="destroyed")
        self.report(self.grandchild)
        self.request(self.partition_agent(self.root), "child", state="destroyed")
        self.assertTrue(self.report(self.child).freed)
        self.assertTrue(self.call("instance.get", self.alice,
                                  reference=error.result.reference).archived)

    def test_shared_instances_requested_by_the_partition_do_not_hold_it(self):
        shared = self.request(self.partition_agent(self.grandchild), "entry", shared=True)
        self.request(self.partition_agent(self.child), "grandchild", state="destroyed")
        self.assertTrue(self.report(self.grandchild).freed)
        self.assertTrue(self.call("instance.get", self.alice,
                                  reference=shared.reference).archived)

    def test_freed_partition_can_be_used_by_another_request(self):
        for title in ("a", "b", "c"):
            self.request(self.bob, title)
        self.assertRaises(errors.NotReady, self.request, self.bob, "d")
        self.request(self.partition_agent(self.child), "grandchild", state="destroyed")
        self.report(self.grandchild)
        self.assertEqual(self.request(self.bob, "d").partition, self.grandchild.partition)

    def test_partition_may_report_its_own_destruction(self):
        self.request(self.partition_agent(self.child), "grandchild", state="destroyed")
        outcome = self.node_call("instance.report_destroyed", self.grandchild,
                                 principal=self.partition_agent(self.grandchild))
        self.assertTrue(outcome.freed)


class HostingIpListTests(TreeTestCase):
    """instance.hosting_ip_list: the addresses of every partition of the tree."""

    def test_lists_the_addresses_of_every_partition_of_the_tree(self):
        self.request(self.bob, "other")
        addresses = self.node_call("instance.hosting_ip_list", self.grandchild)
        expected = []
        for view in (self.root, self.child, self.grandchild):
            expected.extend(self.poll("COMP-0")[view.partition].parameter_dict["ip_list"])
        self.assertEqual(sorted(addresses), sorted(expected))
        self.assertEqual(len(addresses), 3)

