"""What the node reports: connection parameters and timestamps, news, bang, rename, destruction."""

from slap_core import errors
from slap_core.principals import ComputerAgent, PartitionAgent
from tests.fixtures import MasterTestCase


class NodeReportTests(MasterTestCase):
    """A tree root -> child -> grandchild on one computer."""

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=5)
        self.root = self.request(self.alice, "root")
        self.child = self.request(self.partition_agent(self.root), "child")
        self.grandchild = self.request(self.partition_agent(self.child), "grandchild")

    def timestamps(self):
        views = self.poll("COMP-0")
        return {name: views[v.partition].timestamp
                for name, v in (("root", self.root), ("child", self.child),
                                ("grandchild", self.grandchild))}

    def publish(self, view, connection, principal=None):
        return self.call("instance.set_connection", principal or self.node, computer="COMP-0",
                         partition=view.partition, connection=connection)

    def test_publishing_bumps_the_direct_requester_only(self):
        before = self.timestamps()
        self.publish(self.grandchild, {"url": "mysql://x"})
        after = self.timestamps()
        self.assertGreater(after["child"], before["child"])
        self.assertEqual(after["root"], before["root"])
        self.assertEqual(after["grandchild"], before["grandchild"])
        seen = self.request(self.partition_agent(self.child), "grandchild")
        self.assertEqual(seen.connection, {"url": "mysql://x"})

    def test_publishing_the_same_parameters_again_bumps_nothing(self):
        self.publish(self.grandchild, {"url": "mysql://x"})
        before = self.timestamps()
        self.publish(self.grandchild, {"url": "mysql://x"})
        self.assertEqual(self.timestamps(), before)

    def test_root_connection_is_read_by_its_owner(self):
        self.publish(self.root, {"site": "https://r"}, PartitionAgent("COMP-0",
                                                                      self.root.partition))
        self.assertEqual(self.call("instance.get", self.alice,
                                   reference=self.root.reference).connection,
                         {"site": "https://r"})
        self.assertEqual(self.poll("COMP-0")[self.root.partition].connection_dict,
                         {"site": "https://r"})

    def test_a_partition_may_only_publish_for_itself(self):
        self.assertRaises(errors.Forbidden, self.publish, self.child, {"x": "1"},
                          PartitionAgent("COMP-0", self.root.partition))

    def test_a_partition_reads_what_it_requested_but_not_its_grandchildren(self):
        agent = self.partition_agent(self.root)
        self.assertEqual(self.call("instance.get", agent, reference=self.child.reference).title,
                         "child")
        self.assertRaises(errors.NotFound, self.call, "instance.get", agent,
                          reference=self.grandchild.reference)

    def test_news_start_empty_then_follow_reports(self):
        self.assertEqual(self.poll("COMP-0")[self.child.partition].access_status,
                         "#error no data found for %s" % self.child.reference)
        arguments = dict(computer="COMP-0", partition=self.child.partition)
        self.call("instance.report_started", self.node, **arguments)
        self.assertEqual(self.poll("COMP-0")[self.child.partition].access_status,
                         "#access Instance correctly started")
        self.call("instance.report_error", self.node, message="buildout failed", **arguments)
        view = self.call("instance.get", self.alice, reference=self.child.reference)
        self.assertEqual(view.status_text, "#error buildout failed")
        self.call("instance.report_stopped", self.node, **arguments)
        self.assertEqual(self.poll("COMP-0")[self.child.partition].access_status,
                         "#access Instance correctly stopped")

    def test_reports_on_a_free_partition_are_not_found(self):
        free = [p for p in self.poll("COMP-0").values() if p.instance is None][0]
        self.assertRaises(errors.NotFound, self.call, "instance.report_started", self.node,
                          computer="COMP-0", partition=free.reference)

    def test_bang_bumps_the_whole_tree(self):
        before = self.timestamps()
        self.call("instance.bang", self.node, computer="COMP-0",
                  partition=self.grandchild.partition, message="please")
        after = self.timestamps()
        self.assertTrue(all(after[k] > before[k] for k in before), (before, after))

    def test_computer_bang_bumps_every_instance_on_the_computer(self):
        other = self.request(self.bob, "other")
        before = self.poll("COMP-0")[other.partition].timestamp
        count = self.call("computer.bang", self.node, reference="COMP-0", message="reboot")
        self.assertEqual(count, 4)
        self.assertGreater(self.poll("COMP-0")[other.partition].timestamp, before)
        status = self.call("computer.status", self.node, reference="COMP-0")
        self.assertEqual(status["text"], "#access bang: reboot")

    def test_rename_child_keeps_it_and_frees_the_old_title(self):
        renamed = self.call("instance.rename", self.node, computer="COMP-0",
                            partition=self.child.partition, new_name="primary")
        self.assertEqual((renamed.reference, renamed.title), (self.child.reference, "primary"))
        self.assertEqual(self.poll("COMP-0")[self.child.partition]
                         .parameter_dict["instance_title"], "primary")
        fresh = self.request(self.partition_agent(self.root), "child")
        self.assertNotEqual(fresh.reference, self.child.reference)

    def test_rename_to_a_taken_title_is_a_conflict(self):
        self.request(self.partition_agent(self.root), "taken")
        self.assertRaises(errors.Conflict, self.call, "instance.rename", self.node,
                          computer="COMP-0", partition=self.child.partition, new_name="taken")

    def test_renaming_the_root_renames_the_tree(self):
        self.call("instance.rename", self.node, computer="COMP-0",
                  partition=self.root.partition, new_name="renamed-root")
        params = self.poll("COMP-0")[self.grandchild.partition].parameter_dict
        self.assertEqual(params["root_instance_title"], "renamed-root")
        self.assertEqual([t.title for t in self.call("tree.list", self.alice)], ["renamed-root"])

    def test_hosting_ip_list_covers_the_whole_tree(self):
        addresses = self.call("instance.hosting_ip_list", self.node, computer="COMP-0",
                              partition=self.grandchild.partition)
        self.assertEqual(sorted(ip for _, ip in addresses),
                         sorted(self.poll("COMP-0")[v.partition].parameter_dict["ip_list"][0][1]
                                for v in (self.root, self.child, self.grandchild)))


class DestructionTests(MasterTestCase):
    """report_destroyed frees a partition only once the instances it requested are gone."""

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=5)
        self.root = self.request(self.alice, "root")
        self.child = self.request(self.partition_agent(self.root), "child")

    def destroyed(self, view):
        return self.call("instance.report_destroyed", self.node, computer="COMP-0",
                         partition=view.partition)

    def test_instance_not_asked_to_be_destroyed_cannot_be_reported_destroyed(self):
        self.assertRaises(errors.Conflict, self.destroyed, self.child)
        self.assertEqual(self.poll("COMP-0")[self.child.partition].instance, self.child.reference)

    def test_root_waits_for_its_children_before_being_freed(self):
        self.request(self.alice, "root", state="destroyed")
        outcome = self.destroyed(self.root)
        self.assertEqual((outcome.freed, outcome.waiting_for), (False, ("child",)))
        self.assertIn("child partitions: child", outcome.message)
        self.assertEqual(self.poll("COMP-0")[self.root.partition].instance, self.root.reference)
        self.assertTrue(self.destroyed(self.child).freed)
        self.assertTrue(self.destroyed(self.root).freed)
        free = self.poll("COMP-0")[self.root.partition]
        self.assertEqual((free.instance, free.state, free.parameter_dict), (None, "destroyed", {}))

    def test_destroyed_child_is_freed_and_its_title_can_be_requested_again(self):
        agent = self.partition_agent(self.root)
        self.request(agent, "child", state="destroyed")
        self.assertTrue(self.destroyed(self.child).freed)
        again = self.request(agent, "child")
        self.assertNotEqual(again.reference, self.child.reference)
        old = self.call("instance.get", self.alice, reference=self.child.reference)
        self.assertTrue(old.archived)

    def test_reporting_a_free_partition_destroyed_is_harmless(self):
        free = [p for p in self.poll("COMP-0").values() if p.instance is None][0]
        outcome = self.call("instance.report_destroyed", self.node, computer="COMP-0",
                            partition=free.reference)
        self.assertTrue(outcome.freed)

    def test_owner_destroys_by_reference(self):
        view = self.call("instance.destroy", self.alice, reference=self.root.reference)
        self.assertEqual(view.state, "destroyed")
        self.assertEqual(self.poll("COMP-0")[self.child.partition].state, "destroyed")
        self.assertRaises(errors.NotFound, self.call, "instance.destroy", self.bob,
                          reference=self.child.reference)

    def test_another_computer_cannot_report_for_this_one(self):
        self.make_computer("COMP-1", partitions=1, subnet=1)
        self.request(self.alice, "root", state="destroyed")
        self.assertRaises(errors.Forbidden, self.call, "instance.report_destroyed",
                          ComputerAgent("COMP-1"), computer="COMP-0",
                          partition=self.root.partition)
