"""instance.change (a root requested again by reference), whether a request or a registration
created what it answers, and tree.get."""

from slap_core import errors
from tests.fixtures import OTHER_SR, SR, MasterTestCase


class CreatedTests(MasterTestCase):
    """``created`` is true only in the answer of the call that made the thing."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-0", partitions=2)

    def test_a_first_request_created_and_a_repeated_one_did_not(self):
        self.assertTrue(self.request(self.alice, "blog").created)
        self.assertFalse(self.request(self.alice, "blog").created)
        self.assertFalse(self.call("instance.get", self.alice,
                                   reference=self.request(self.alice, "blog").reference).created)

    def test_a_request_left_waiting_says_it_created_too(self):
        self.request(self.alice, "one")
        self.request(self.alice, "two")
        error = self.assertRaises(errors.NotReady, self.request, self.alice, "three")
        self.assertTrue(error.result.created)
        again = self.assertRaises(errors.NotReady, self.request, self.alice, "three")
        self.assertFalse(again.result.created)

    def test_a_shared_request_says_it_created(self):
        self.request(self.alice, "host")
        self.assertTrue(self.request(self.bob, "share", shared=True).created)
        self.assertFalse(self.request(self.bob, "share", shared=True).created)

    def test_a_release_registered_first_by_this_call_is_created(self):
        self.assertTrue(self.call("catalogue.add_release", self.admin, url=OTHER_SR).created)
        self.assertFalse(self.call("catalogue.add_release", self.admin, url=OTHER_SR).created)
        # SR was recorded when it was supplied: registering it creates nothing
        self.assertFalse(self.call("catalogue.add_release", self.admin, url=SR).created)


class ChangeTests(MasterTestCase):
    """instance.change: only the owner, only a root, not once destroyed."""

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=3)
        self.root = self.request(self.alice, "blog", parameters={"colour": "red"},
                                 software_type="front")

    def change(self, principal=None, reference=None, **arguments):
        return self.call("instance.change", principal or self.alice,
                         reference=reference or self.root.reference, **arguments)

    def test_the_owner_changes_what_is_given_and_keeps_the_rest(self):
        view = self.change(parameters={"colour": "blue"})
        self.assertEqual((view.reference, view.parameters, view.software_type, view.created),
                         (self.root.reference, {"colour": "blue"}, "front", False))
        self.assertGreater(view.timestamp, self.root.timestamp)
        stopped = self.change(state="stopped", software_release=OTHER_SR)
        self.assertEqual((stopped.state, stopped.software_release, stopped.parameters),
                         ("stopped", OTHER_SR, {"colour": "blue"}))

    def test_someone_else_is_refused(self):
        self.assertRaises(errors.Forbidden, self.change, self.admin, parameters={})
        self.assertRaises((errors.Forbidden, errors.NotFound), self.change, self.bob,
                          parameters={})

    def test_an_instance_requested_by_another_changes_only_through_it(self):
        child = self.request(self.partition_agent(self.root), "child")
        error = self.assertRaises(errors.Conflict, self.change, reference=child.reference,
                                  parameters={})
        self.assertIn("only its requester changes it", str(error))

    def test_a_destroyed_instance_is_not_found(self):
        self.change(state="destroyed")
        self.call("instance.report_destroyed", self.node, computer="COMP-0",
                  partition=self.root.partition)
        error = self.assertRaises(errors.NotFound, self.change, parameters={})
        self.assertIn("was destroyed", str(error))


class TreeGetTests(MasterTestCase):
    """tree.get: one of the caller's live trees by title."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-0", partitions=2)
        self.root = self.request(self.alice, "blog")

    def test_the_owner_and_an_admin_read_it(self):
        for principal in (self.alice, self.admin):
            tree = self.call("tree.get", principal, title="blog")
            self.assertEqual((tree.root, tree.owner), (self.root.reference, "alice"))

    def test_another_users_tree_and_an_unknown_title_are_not_found(self):
        self.assertRaises(errors.NotFound, self.call, "tree.get", self.bob, title="blog")
        self.assertRaises(errors.NotFound, self.call, "tree.get", self.alice, title="nothing")
