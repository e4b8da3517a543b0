"""instance.request: idempotence, updates and timestamps, requester scopes, states, NotReady."""

from slap_core import errors
from slap_core.principals import ComputerAgent, PartitionAgent
from tests.fixtures import OTHER_SR, SR, MasterTestCase


class IdempotenceTests(MasterTestCase):
    """Asking again returns the same instance; changes update it."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-0", partitions=4, supply=(SR, OTHER_SR))

    def test_second_identical_request_returns_same_instance_without_bumping_timestamp(self):
        first = self.request(self.alice, "web", parameters={"a": "1"})
        second = self.request(self.alice, "web", parameters={"a": "1"})
        self.assertEqual(second.reference, first.reference)
        self.assertEqual(second.partition, first.partition)
        self.assertEqual(second.timestamp, first.timestamp)
        self.assertEqual(len(self.call("instance.list", self.alice)), 1)

    def test_changed_parameters_update_the_instance_and_bump_its_timestamp(self):
        first = self.request(self.alice, "web", parameters={"a": "1"})
        second = self.request(self.alice, "web", parameters={"a": "2", "b": "x"})
        self.assertEqual(second.reference, first.reference)
        self.assertEqual(second.parameters, {"a": "2", "b": "x"})
        self.assertGreater(second.timestamp, first.timestamp)
        node_view = self.poll("COMP-0")[first.partition]
        self.assertEqual(node_view.parameter_dict["a"], "2")
        self.assertEqual(node_view.timestamp, second.timestamp)

    def test_changed_software_type_and_release_bump_the_timestamp(self):
        first = self.request(self.alice, "web")
        typed = self.request(self.alice, "web", software_type="frontend")
        self.assertEqual(typed.software_type, "frontend")
        self.assertGreater(typed.timestamp, first.timestamp)
        upgraded = self.request(self.alice, "web", OTHER_SR)
        self.assertEqual(upgraded.software_release, OTHER_SR)
        self.assertGreater(upgraded.timestamp, typed.timestamp)
        self.assertEqual(upgraded.partition, first.partition)

    def test_none_keeps_state_parameters_and_type(self):
        self.request(self.alice, "web", parameters={"a": "1"}, software_type="t",
                     state="stopped")
        again = self.request(self.alice, "web")
        self.assertEqual((again.state, again.parameters, again.software_type),
                         ("stopped", {"a": "1"}, "t"))

    def test_new_instance_defaults_to_started_and_software_type_default(self):
        view = self.request(self.alice, "web")
        self.assertEqual((view.state, view.software_type, view.tree, view.owner),
                         ("started", "default", "web", "alice"))

    def test_same_title_for_two_users_makes_two_trees(self):
        mine = self.request(self.alice, "web")
        theirs = self.request(self.bob, "web")
        self.assertNotEqual(mine.reference, theirs.reference)
        self.assertNotEqual(mine.partition, theirs.partition)

    def test_parameter_values_are_kept_as_strings_and_nested_values_refused(self):
        view = self.request(self.alice, "web", parameters={"n": 3, "flag": True, "none": None})
        self.assertEqual(view.parameters, {"n": "3", "flag": "True", "none": None})
        self.assertRaises(errors.Invalid, self.request, self.alice, "web2",
                          parameters={"x": {"nested": "1"}})

    def test_bad_inputs_are_invalid(self):
        self.assertRaises(errors.Invalid, self.request, self.alice, "")
        self.assertRaises(errors.Invalid, self.request, self.alice, "x" * 256)
        self.assertRaises(errors.Invalid, self.request, self.alice, "web", "")
        self.assertRaises(errors.Invalid, self.request, self.alice, "web", "http://a b")
        self.assertRaises(errors.Invalid, self.request, self.alice, "web", state="running")
        self.assertRaises(errors.Invalid, self.request, self.alice, "web", parameters=["a"])

    def test_computers_cannot_request_and_anonymous_is_unauthenticated(self):
        from slap_core.principals import Anonymous

        self.assertRaises(errors.Forbidden, self.request, ComputerAgent("COMP-0"), "x")
        self.assertRaises(errors.Unauthenticated, self.request, Anonymous(), "x")


class ChildRequestTests(MasterTestCase):
    """Instances requested by a partition belong to the requester's tree."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-0", partitions=5)
        self.root = self.request(self.alice, "root")
        self.agent = self.partition_agent(self.root)

    def test_child_joins_the_requesters_tree_and_records_its_requester(self):
        child = self.request(self.agent, "db", software_type="mariadb")
        self.assertEqual((child.tree, child.owner, child.requester),
                         ("root", "alice", self.root.reference))
        params = self.poll("COMP-0")[child.partition].parameter_dict
        self.assertEqual((params["instance_title"], params["root_instance_title"]), ("db", "root"))

    def test_child_title_is_scoped_by_tree_not_by_partition(self):
        first = self.request(self.agent, "db")
        sibling = self.partition_agent(self.request(self.agent, "app"))
        again = self.request(sibling, "db")
        self.assertEqual(again.reference, first.reference)
        self.assertEqual(again.requester, self.request(self.agent, "app").reference)

    def test_an_instance_cannot_become_its_own_requester(self):
        db = self.request(self.agent, "db")
        self.assertRaises(errors.Conflict, self.request, self.partition_agent(db), "db")
        grandchild = self.request(self.partition_agent(db), "cache")
        self.assertRaises(errors.Conflict, self.request, self.partition_agent(grandchild), "db")
        self.assertEqual(self.call("instance.get", self.alice, reference=db.reference).requester,
                         self.root.reference)

    def test_two_trees_may_each_have_a_child_with_the_same_title(self):
        other_root = self.request(self.bob, "root")
        mine = self.request(self.agent, "db")
        theirs = self.request(self.partition_agent(other_root), "db")
        self.assertNotEqual(mine.reference, theirs.reference)
        self.assertEqual(theirs.owner, "bob")

    def test_free_partition_cannot_request(self):
        free = [p for p in self.poll("COMP-0").values() if p.instance is None][0]
        self.assertRaises(errors.Forbidden, self.request,
                          PartitionAgent("COMP-0", free.reference), "x")


class StateTests(MasterTestCase):
    """A stopped or destroyed root imposes its state on its tree."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-0", partitions=5)
        self.root = self.request(self.alice, "root")
        self.child = self.request(self.partition_agent(self.root), "child")

    def test_stopped_root_stops_started_children_and_bumps_them(self):
        before = self.poll("COMP-0")[self.child.partition]
        self.request(self.alice, "root", state="stopped")
        after = self.poll("COMP-0")[self.child.partition]
        self.assertEqual((before.state, after.state), ("started", "stopped"))
        self.assertGreater(after.timestamp, before.timestamp)
        self.assertEqual(self.call("instance.get", self.alice,
                                   reference=self.child.reference).requested_state, "started")

    def test_restarting_the_root_restarts_the_children(self):
        self.request(self.alice, "root", state="stopped")
        self.request(self.alice, "root", state="started")
        self.assertEqual(self.poll("COMP-0")[self.child.partition].state, "started")

    def test_destroyed_root_destroys_the_whole_tree(self):
        self.request(self.alice, "root", state="destroyed")
        partitions = self.poll("COMP-0")
        self.assertEqual(partitions[self.root.partition].state, "destroyed")
        self.assertEqual(partitions[self.child.partition].state, "destroyed")
        self.assertIsNotNone(partitions[self.child.partition].instance)

    def test_destroyed_root_frees_its_title_for_a_new_tree(self):
        self.request(self.alice, "root", state="destroyed")
        again = self.request(self.alice, "root")
        self.assertNotEqual(again.reference, self.root.reference)
        self.assertNotEqual(again.partition, self.root.partition)
        self.assertEqual([t.root for t in self.call("tree.list", self.alice)], [again.reference])

    def test_restarting_a_child_being_destroyed_is_a_conflict(self):
        agent = self.partition_agent(self.root)
        self.request(agent, "child", state="destroyed")
        self.assertRaises(errors.Conflict, self.request, agent, "child", state="started")
        kept = self.request(agent, "child")
        self.assertEqual(kept.state, "destroyed")

    def test_destroying_an_unknown_title_is_not_found_and_creates_nothing(self):
        self.assertRaises(errors.NotFound, self.request, self.alice, "ghost", state="destroyed")
        self.assertEqual(len(self.call("instance.list", self.alice)), 2)


class NotReadyTests(MasterTestCase):
    """A request that cannot be allocated is kept and answered NotReady until it can."""

    def test_request_without_free_partition_is_recorded_and_allocated_later(self):
        self.make_computer("COMP-0", partitions=1)
        self.request(self.alice, "first")
        pending = self.assertRaises(errors.NotReady, self.request, self.bob, "second")
        self.assertFalse(pending.result.allocated)
        self.assertIn("no free partition", str(pending))
        listed = self.call("instance.list", self.bob)
        self.assertEqual([(i.reference, i.allocated) for i in listed],
                         [(pending.result.reference, False)])
        self.make_computer("COMP-1", partitions=1, subnet=1)
        placed = self.request(self.bob, "second")
        self.assertEqual((placed.reference, placed.computer), (pending.result.reference, "COMP-1"))

    def test_request_for_an_unsupplied_release_is_not_ready(self):
        self.make_computer("COMP-0", partitions=2)
        error = self.assertRaises(errors.NotReady, self.request, self.alice, "x", OTHER_SR)
        self.assertEqual(error.result.software_release, OTHER_SR)

    def test_destroying_a_pending_instance_archives_it_at_once(self):
        self.assertRaises(errors.NotReady, self.request, self.alice, "x")
        self.request(self.alice, "x", state="destroyed")
        self.assertEqual(self.call("instance.list", self.alice), [])
        archived = self.call("instance.list", self.alice, include_archived=True)
        self.assertEqual([(i.title, i.archived) for i in archived], [("x", True)])
