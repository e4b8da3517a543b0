"""instance.request: idempotence on (requester, title), updates and timestamps, state propagation
through a tree, destruction of roots and children, and the NotReady path of a pending request."""

from slap_core import errors
from tests.fixtures import OTHER_SR, SR, MasterTestCase


class RequestTestCase(MasterTestCase):
    """A master with one open computer of six partitions supplied with SR and OTHER_SR."""

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=6, supply=(SR, OTHER_SR))

    def get(self, reference, principal=None):
        """instance.get as the owner (alice by default)."""
        return self.call("instance.get", principal or self.alice, reference=reference)

    def pending(self, principal, title, **arguments):
        """Request expecting NotReady; returns the recorded InstanceView."""
        error = self.assertRaises(errors.NotReady, self.request, principal, title, **arguments)
        self.assertIsNotNone(error.result)
        return error.result

    def child(self, parent, title, **arguments):
        """Request ``title`` from the partition of ``parent`` (an InstanceView)."""
        return self.request(self.partition_agent(parent), title, **arguments)


class IdempotenceTests(RequestTestCase):
    """The same (requester, title) always names the same instance."""

    def test_second_identical_request_returns_same_instance_without_bumping_timestamp(self):
        first = self.request(self.alice, "site", parameters={"a": "1"}, software_type="web")
        again = self.request(self.alice, "site", parameters={"a": "1"}, software_type="web")
        self.assertEqual(again.reference, first.reference)
        self.assertEqual(again.partition, first.partition)
        self.assertEqual(again.timestamp, first.timestamp)
        self.assertEqual(self.poll("COMP-0")[first.partition].timestamp, first.timestamp)

    def test_repeated_request_does_not_take_another_partition(self):
        self.request(self.alice, "site")
        self.request(self.alice, "site")
        self.request(self.alice, "site")
        busy = [p for p in self.poll("COMP-0").values() if p.instance is not None]
        self.assertEqual(len(busy), 1)
        self.assertEqual(len(self.call("instance.list", self.alice)), 1)

    def test_same_title_requested_by_another_user_is_another_instance(self):
        mine = self.request(self.alice, "site")
        theirs = self.request(self.bob, "site")
        self.assertNotEqual(mine.reference, theirs.reference)
        self.assertNotEqual(mine.partition, theirs.partition)
        self.assertEqual((mine.owner, theirs.owner), ("alice", "bob"))

    def test_same_child_title_in_two_trees_is_two_instances(self):
        first_root = self.request(self.alice, "first")
        second_root = self.request(self.alice, "second")
        first_db = self.child(first_root, "mysql")
        second_db = self.child(second_root, "mysql")
        self.assertNotEqual(first_db.reference, second_db.reference)
        self.assertEqual((first_db.tree, second_db.tree), ("first", "second"))

    def test_child_request_repeated_by_its_partition_returns_same_child(self):
        root = self.request(self.alice, "root")
        first = self.child(root, "db", parameters={"size": "1"})
        again = self.child(root, "db", parameters={"size": "1"})
        self.assertEqual(again.reference, first.reference)
        self.assertEqual(again.timestamp, first.timestamp)
        self.assertEqual(again.requester, root.reference)

    def test_child_title_is_scoped_to_the_tree_not_to_the_requesting_partition(self):
        root = self.request(self.alice, "root")
        middle = self.child(root, "middle")
        from_root = self.child(root, "shared-name")
        from_middle = self.child(middle, "shared-name")
        self.assertEqual(from_middle.reference, from_root.reference)
        self.assertEqual(from_middle.requester, middle.reference)

    def test_child_title_does_not_clash_with_a_root_title_of_the_same_person(self):
        root = self.request(self.alice, "root")
        other_root = self.request(self.alice, "db")
        child = self.child(root, "db")
        self.assertNotEqual(child.reference, other_root.reference)
        self.assertEqual(child.tree, "root")

    def test_new_instance_is_started_with_default_software_type_and_empty_parameters(self):
        view = self.request(self.alice, "site")
        self.assertEqual(view.requested_state, "started")
        self.assertEqual(view.state, "started")
        self.assertEqual(view.software_type, "default")
        self.assertEqual(view.parameters, {})
        self.assertTrue(view.allocated)
        self.assertTrue(view.reference.startswith("SOFTINST-"))
        self.assertEqual(self.poll("COMP-0")[view.partition].state, "started")

    def test_new_instance_requested_stopped_is_stopped(self):
        view = self.request(self.alice, "site", state="stopped")
        self.assertEqual(view.requested_state, "stopped")
        self.assertEqual(self.poll("COMP-0")[view.partition].state, "stopped")

    def test_requesting_a_regular_title_as_shared_is_a_conflict(self):
        self.request(self.alice, "site")
        self.assertRaises(errors.Conflict, self.request, self.alice, "site", shared=True)

    def test_invalid_state_is_refused(self):
        self.assertRaises(errors.Invalid, self.request, self.alice, "site", state="running")
        self.assertEqual(self.call("instance.list", self.alice), [])

    def test_non_string_parameter_values_are_refused(self):
        self.assertRaises(errors.Invalid, self.request, self.alice, "site",
                          parameters={"nested": {"a": "b"}})

    def test_empty_title_is_refused(self):
        self.assertRaises(errors.Invalid, self.request, self.alice, "  ")


class UpdateTests(RequestTestCase):
    """A repeated request updates the instance; a real change bumps its timestamp."""

    def test_changed_parameters_replace_stored_ones_and_bump_timestamp(self):
        first = self.request(self.alice, "site", parameters={"a": "1", "b": "2"})
        second = self.request(self.alice, "site", parameters={"a": "3"})
        self.assertEqual(second.reference, first.reference)
        self.assertEqual(second.parameters, {"a": "3"})
        self.assertGreater(second.timestamp, first.timestamp)
        polled = self.poll("COMP-0")[first.partition]
        self.assertEqual(polled.parameter_dict["a"], "3")
        self.assertNotIn("b", polled.parameter_dict)
        self.assertEqual(polled.timestamp, second.timestamp)

    def test_parameters_none_keeps_stored_parameters_and_timestamp(self):
        first = self.request(self.alice, "site", parameters={"a": "1"})
        second = self.request(self.alice, "site", parameters=None)
        self.assertEqual(second.parameters, {"a": "1"})
        self.assertEqual(second.timestamp, first.timestamp)

    def test_empty_parameters_clear_stored_ones_and_bump_timestamp(self):
        first = self.request(self.alice, "site", parameters={"a": "1"})
        second = self.request(self.alice, "site", parameters={})
        self.assertEqual(second.parameters, {})
        self.assertGreater(second.timestamp, first.timestamp)

    def test_changed_software_type_bumps_timestamp(self):
        first = self.request(self.alice, "site", software_type="web")
        second = self.request(self.alice, "site", software_type="db")
        self.assertEqual(second.software_type, "db")
        self.assertGreater(second.timestamp, first.timestamp)
        self.assertEqual(self.poll("COMP-0")[first.partition].software_type, "db")

    def test_software_type_none_keeps_stored_type_and_timestamp(self):
        first = self.request(self.alice, "site", software_type="web")
        second = self.request(self.alice, "site")
        self.assertEqual(second.software_type, "web")
        self.assertEqual(second.timestamp, first.timestamp)

    def test_changed_release_bumps_timestamp_and_reaches_the_node(self):
        first = self.request(self.alice, "site")
        second = self.request(self.alice, "site", software_release=OTHER_SR)
        self.assertEqual(second.reference, first.reference)
        self.assertEqual(second.software_release, OTHER_SR)
        self.assertGreater(second.timestamp, first.timestamp)
        polled = self.poll("COMP-0")[first.partition]
        self.assertEqual(polled.software_release, OTHER_SR)
        self.assertEqual(polled.parameter_dict["slap_software_release_url"], OTHER_SR)

    def test_changed_state_bumps_timestamp_and_reaches_the_node(self):
        first = self.request(self.alice, "site")
        second = self.request(self.alice, "site", state="stopped")
        self.assertEqual(second.requested_state, "stopped")
        self.assertGreater(second.timestamp, first.timestamp)
        polled = self.poll("COMP-0")[first.partition]
        self.assertEqual(polled.state, "stopped")
        self.assertEqual(polled.timestamp, second.timestamp)

    def test_state_none_keeps_current_state_and_timestamp(self):
        first = self.request(self.alice, "site", state="stopped")
        second = self.request(self.alice, "site", state=None, parameters={})
        self.assertEqual(second.requested_state, "stopped")
        self.assertEqual(second.timestamp, first.timestamp)

    def test_same_state_again_does_not_bump_timestamp(self):
        first = self.request(self.alice, "site", state="stopped")
        second = self.request(self.alice, "site", state="stopped")
        self.assertEqual(second.timestamp, first.timestamp)

    def test_changed_sla_of_allocated_instance_is_stored_without_moving_it(self):
        first = self.request(self.alice, "site")
        second = self.request(self.alice, "site", sla={"retention_delay": "7"})
        self.assertEqual(second.sla, {"retention_delay": "7"})
        self.assertEqual(second.partition, first.partition)

    def test_child_update_by_its_partition_bumps_only_the_child(self):
        root = self.request(self.alice, "root")
        first = self.child(root, "db", parameters={"size": "1"})
        second = self.child(root, "db", parameters={"size": "2"})
        self.assertGreater(second.timestamp, first.timestamp)
        self.assertEqual(self.get(root.reference).timestamp, root.timestamp)


class StatePropagationTests(RequestTestCase):
    """A stopped root stops the started instances of its tree until it is started again."""

    def setUp(self):
        super().setUp()
        self.root = self.request(self.alice, "root")
        self.started_child = self.child(self.root, "web")
        self.stopped_child = self.child(self.root, "batch", state="stopped")
        self.grandchild = self.child(self.started_child, "cache")

    def test_stopped_root_stops_started_children_in_the_poll(self):
        self.request(self.alice, "root", state="stopped")
        polled = self.poll("COMP-0")
        self.assertEqual(polled[self.root.partition].state, "stopped")
        self.assertEqual(polled[self.started_child.partition].state, "stopped")
        self.assertEqual(polled[self.grandchild.partition].state, "stopped")
        self.assertEqual(polled[self.stopped_child.partition].state, "stopped")

    def test_stopped_root_keeps_the_childrens_own_requested_state(self):
        self.request(self.alice, "root", state="stopped")
        view = self.get(self.started_child.reference)
        self.assertEqual(view.requested_state, "started")
        self.assertEqual(view.state, "stopped")

    def test_stopping_root_bumps_every_instance_of_the_tree(self):
        self.request(self.alice, "root", state="stopped")
        polled = self.poll("COMP-0")
        for view in (self.root, self.started_child, self.stopped_child, self.grandchild):
            self.assertGreater(polled[view.partition].timestamp, view.timestamp, view.title)

    def test_stopping_root_does_not_bump_another_tree(self):
        other = self.request(self.alice, "other")
        self.request(self.alice, "root", state="stopped")
        self.assertEqual(self.poll("COMP-0")[other.partition].timestamp, other.timestamp)
        self.assertEqual(self.poll("COMP-0")[other.partition].state, "started")

    def test_restarting_root_restores_started_children_and_bumps_them(self):
        self.request(self.alice, "root", state="stopped")
        stopped = self.poll("COMP-0")
        self.request(self.alice, "root", state="started")
        polled = self.poll("COMP-0")
        self.assertEqual(polled[self.started_child.partition].state, "started")
        self.assertEqual(polled[self.grandchild.partition].state, "started")
        self.assertEqual(polled[self.stopped_child.partition].state, "stopped")
        for view in (self.root, self.started_child, self.grandchild):
            self.assertGreater(polled[view.partition].timestamp,
                               stopped[view.partition].timestamp, view.title)

    def test_child_requested_under_a_stopped_root_is_effectively_stopped(self):
        self.request(self.alice, "root", state="stopped")
        late = self.child(self.root, "late")
        self.assertEqual(late.requested_state, "started")
        self.assertEqual(late.state, "stopped")
        self.assertEqual(self.poll("COMP-0")[late.partition].state, "stopped")

    def test_stopping_a_child_does_not_stop_the_root_or_its_siblings(self):
        self.child(self.root, "web", state="stopped")
        polled = self.poll("COMP-0")
        self.assertEqual(polled[self.started_child.partition].state, "stopped")
        self.assertEqual(polled[self.root.partition].state, "started")
        self.assertEqual(polled[self.grandchild.partition].state, "started")


class DestructionRequestTests(RequestTestCase):
    """Requesting state 'destroyed': the whole tree for a root, the title freed at once."""

    def setUp(self):
        super().setUp()
        self.root = self.request(self.alice, "root")
        self.kid = self.child(self.root, "kid")
        self.grandkid = self.child(self.kid, "grandkid")

    def test_destroying_root_marks_every_instance_of_the_tree_destroyed(self):
        view = self.request(self.alice, "root", state="destroyed")
        self.assertEqual(view.requested_state, "destroyed")
        polled = self.poll("COMP-0")
        for instance in (self.root, self.kid, self.grandkid):
            self.assertEqual(polled[instance.partition].state, "destroyed", instance.title)
            self.assertEqual(self.get(instance.reference).requested_state, "destroyed")

    def test_destroying_root_bumps_every_instance_of_the_tree(self):
        self.request(self.alice, "root", state="destroyed")
        polled = self.poll("COMP-0")
        for instance in (self.root, self.kid, self.grandkid):
            self.assertGreater(polled[instance.partition].timestamp, instance.timestamp)

    def test_destroyed_root_title_is_free_for_a_new_tree_at_once(self):
        self.request(self.alice, "root", state="destroyed")
        again = self.request(self.alice, "root")
        self.assertNotEqual(again.reference, self.root.reference)
        self.assertNotEqual(again.partition, self.root.partition)
        self.assertEqual(again.requested_state, "started")
        self.assertEqual(self.get(self.root.reference).requested_state, "destroyed")

    def test_destroying_root_twice_is_not_found_the_second_time(self):
        self.request(self.alice, "root", state="destroyed")
        self.assertRaises(errors.NotFound, self.request, self.alice, "root", state="destroyed")

    def test_destroying_an_unknown_instance_is_not_found_and_records_nothing(self):
        self.assertRaises(errors.NotFound, self.request, self.alice, "ghost", state="destroyed")
        titles = [v.title for v in self.call("instance.list", self.alice)]
        self.assertNotIn("ghost", titles)

    def test_destroying_a_child_leaves_root_and_siblings_alone(self):
        sibling = self.child(self.root, "sibling")
        self.child(self.root, "kid", state="destroyed")
        polled = self.poll("COMP-0")
        self.assertEqual(polled[self.kid.partition].state, "destroyed")
        self.assertEqual(polled[self.root.partition].state, "started")
        self.assertEqual(polled[sibling.partition].state, "started")

    def test_rerequesting_a_destroyed_child_is_a_conflict_until_it_is_gone(self):
        self.child(self.root, "kid", state="destroyed")
        self.assertRaises(errors.Conflict, self.child, self.root, "kid", state="started")
        self.assertRaises(errors.Conflict, self.child, self.root, "kid", state="stopped")
        self.assertEqual(self.get(self.kid.reference).requested_state, "destroyed")

    def test_rerequesting_a_destroyed_child_without_state_keeps_it_destroyed(self):
        self.child(self.root, "kid", state="destroyed")
        view = self.child(self.root, "kid")
        self.assertEqual(view.reference, self.kid.reference)
        self.assertEqual(view.requested_state, "destroyed")

    def test_destroyed_child_can_be_requested_again_once_its_partition_is_freed(self):
        self.child(self.root, "kid", state="destroyed")
        # the grandchild goes first, then the child's partition is freed
        self.call("instance.report_destroyed", self.node, computer="COMP-0",
                  partition=self.kid.partition)
        self.call("instance.report_destroyed", self.node, computer="COMP-0",
                  partition=self.grandkid.partition)
        outcome = self.call("instance.report_destroyed", self.node, computer="COMP-0",
                            partition=self.kid.partition)
        self.assertTrue(outcome.freed)
        again = self.child(self.root, "kid")
        self.assertNotEqual(again.reference, self.kid.reference)
        self.assertEqual(again.requested_state, "started")

    def test_destroying_a_pending_instance_frees_its_title_at_once(self):
        pending = self.pending(self.alice, "pending", sla={"computer_guid": "COMP-NONE"})
        self.request(self.alice, "pending", state="destroyed")
        self.assertTrue(self.get(pending.reference).archived)
        again = self.request(self.alice, "pending")
        self.assertNotEqual(again.reference, pending.reference)
        self.assertTrue(again.allocated)

    def test_instance_destroy_by_reference_destroys_the_tree(self):
        self.call("instance.destroy", self.alice, reference=self.root.reference)
        self.assertEqual(self.get(self.grandkid.reference).requested_state, "destroyed")
        self.assertNotEqual(self.request(self.alice, "root").reference, self.root.reference)


class NotReadyTests(RequestTestCase):
    """A request nothing can satisfy yet is recorded and answered NotReady."""

    def fill(self):
        """Take every free partition of COMP-0 with other trees."""
        taken = []
        while True:
            try:
                taken.append(self.request(self.bob, "filler-%d" % len(taken)))
            except errors.NotReady:
                self.request(self.bob, "filler-%d" % len(taken), state="destroyed")
                return taken

    def test_request_without_free_partition_raises_not_ready_and_records_the_instance(self):
        self.fill()
        view = self.pending(self.alice, "late", parameters={"a": "1"})
        self.assertFalse(view.allocated)
        self.assertIsNone(view.partition)
        self.assertEqual(view.parameters, {"a": "1"})
        self.assertEqual([v.reference for v in self.call("instance.list", self.alice)],
                         [view.reference])
        self.assertFalse(self.get(view.reference).allocated)

    def test_not_ready_rerequest_names_the_same_pending_instance(self):
        self.fill()
        first = self.pending(self.alice, "late")
        second = self.pending(self.alice, "late")
        self.assertEqual(second.reference, first.reference)
        self.assertEqual(len(self.call("instance.list", self.alice)), 1)

    def test_pending_instance_is_allocated_by_a_rerequest_once_a_partition_is_free(self):
        taken = self.fill()
        pending = self.pending(self.alice, "late")
        victim = taken[0]
        self.request(self.bob, victim.title, state="destroyed")
        self.call("instance.report_destroyed", self.node, computer="COMP-0",
                  partition=victim.partition)
        view = self.request(self.alice, "late")
        self.assertEqual(view.reference, pending.reference)
        self.assertTrue(view.allocated)
        self.assertEqual(view.partition, victim.partition)
        self.assertGreater(view.timestamp, pending.timestamp)
        self.assertEqual(self.poll("COMP-0")[victim.partition].instance, pending.reference)

    def test_pending_instance_is_allocated_once_a_new_computer_appears(self):
        self.fill()
        pending = self.pending(self.alice, "late")
        self.make_computer("COMP-1", partitions=1, subnet=1)
        view = self.request(self.alice, "late")
        self.assertEqual((view.reference, view.computer), (pending.reference, "COMP-1"))

    def test_pending_instance_is_allocated_once_its_release_is_supplied(self):
        url = "http://sr.example.invalid/unsupplied.cfg"
        pending = self.pending(self.alice, "late", software_release=url)
        self.call("supply.supply", self.admin, url=url, computer="COMP-0")
        view = self.request(self.alice, "late", software_release=url)
        self.assertEqual(view.reference, pending.reference)
        self.assertTrue(view.allocated)

    def test_pending_child_requested_by_a_partition_is_recorded_in_the_tree(self):
        root = self.request(self.alice, "root")
        child = self.pending(self.partition_agent(root), "db",
                             sla={"computer_guid": "COMP-NONE"})
        self.assertEqual((child.tree, child.requester), ("root", root.reference))
        view = self.get(child.reference)
        self.assertFalse(view.allocated)

    def test_rerequest_with_a_satisfiable_sla_allocates_the_pending_instance(self):
        pending = self.pending(self.alice, "late", sla={"computer_guid": "COMP-NONE"})
        view = self.request(self.alice, "late", sla={"computer_guid": "COMP-0"})
        self.assertEqual(view.reference, pending.reference)
        self.assertEqual(view.computer, "COMP-0")


class RequesterTests(MasterTestCase):
    """Who requested what: no loops, and parameters kept as flat strings."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-0", partitions=5)
        self.root = self.request(self.alice, "root")
        self.agent = self.partition_agent(self.root)

    def test_another_partition_of_the_tree_becomes_the_requester(self):
        first = self.request(self.agent, "db")
        app = self.request(self.agent, "app")
        again = self.request(self.partition_agent(app), "db")
        self.assertEqual((again.reference, again.requester), (first.reference, app.reference))

    def test_an_instance_cannot_become_its_own_requester_or_its_descendants(self):
        db = self.request(self.agent, "db")
        self.assertRaises(errors.Conflict, self.request, self.partition_agent(db), "db")
        grandchild = self.request(self.partition_agent(db), "cache")
        self.assertRaises(errors.Conflict, self.request, self.partition_agent(grandchild), "db")
        self.assertEqual(self.call("instance.get", self.alice, reference=db.reference).requester,
                         self.root.reference)

    def test_scalar_parameter_values_are_kept_as_strings(self):
        view = self.request(self.alice, "web", parameters={"n": 3, "flag": True, "none": None})
        self.assertEqual(view.parameters, {"n": "3", "flag": "True", "none": None})

    def test_a_partition_being_destroyed_cannot_request_new_instances(self):
        child = self.request(self.agent, "db")
        self.request(self.alice, "root", state="destroyed")
        self.assertRaises(errors.Conflict, self.request, self.agent, "late")
        kept = self.request(self.agent, "db")
        self.assertEqual((kept.reference, kept.state), (child.reference, "destroyed"))


class AllocatePendingTests(MasterTestCase):
    """instance.allocate_pending places waiting instances without a new request."""

    def test_waiting_instances_are_placed_once_room_appears(self):
        self.make_computer("COMP-0", partitions=1)
        self.request(self.alice, "first")
        waiting = self.assertRaises(errors.NotReady, self.request, self.bob, "second").result
        self.assertRaises(errors.NotReady, self.request, self.bob, "site", OTHER_SR, shared=True)
        self.assertEqual(self.call("instance.allocate_pending", self.admin), 0)
        self.make_computer("COMP-1", partitions=2, subnet=1, supply=(SR, OTHER_SR))
        self.assertEqual(self.call("instance.allocate_pending", self.admin), 1)
        placed = self.call("instance.get", self.bob, reference=waiting.reference)
        self.assertEqual((placed.allocated, placed.computer), (True, "COMP-1"))
        self.request(self.admin, "host", OTHER_SR, software_type="frontend")
        self.assertEqual(self.call("instance.allocate_pending", self.admin), 1)
        site, = [i for i in self.call("instance.list", self.bob) if i.title == "site"]
        self.assertTrue(site.allocated)

    def test_destroyed_and_archived_instances_are_left_alone(self):
        self.assertRaises(errors.NotReady, self.request, self.alice, "gone")
        self.request(self.alice, "gone", state="destroyed")
        self.make_computer("COMP-0", partitions=1)
        self.assertEqual(self.call("instance.allocate_pending", self.admin), 0)
