"""A first request answers from the rows it just wrote (slap_core/instance_creation.py): the
answer must be exactly what ``instance.get`` reads back, allocated or pending, root or child."""

from slap_core import errors
from tests.fixtures import OTHER_SR, SR, MasterTestCase


class FirstRequestAnswerTests(MasterTestCase):
    """Each first request's answer equals the view read back afterwards."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-0", partitions=3, supply=(SR,))

    def assertReadBack(self, view):
        self.assertEqual(self.call("instance.get", self.admin, reference=view.reference), view)

    def test_root_and_children_read_back_the_same(self):
        root = self.request(self.alice, "root", parameters={"a": "1", "b": None},
                            software_type="web", sla={"computer_guid": "COMP-0"})
        self.assertTrue(root.allocated)
        self.assertTrue(root.ip_list or root.full_ip_list)
        self.assertReadBack(root)
        agent = self.partition_agent(root)
        child = self.request(agent, "db", parameters={"size": 3}, state="stopped")
        self.assertEqual((child.tree, child.requester, child.state), ("root", root.reference,
                                                                      "stopped"))
        self.assertReadBack(child)

    def test_a_child_of_a_stopped_root_answers_stopped(self):
        root = self.request(self.alice, "root", state="stopped")
        child = self.request(self.partition_agent(root), "db")
        self.assertEqual((child.requested_state, child.state), ("started", "stopped"))
        self.assertReadBack(child)

    def test_a_pending_request_records_what_it_answers(self):
        error = self.assertRaises(errors.NotReady, self.request, self.bob, "waiting",
                                  software_release=OTHER_SR, parameters={"x": "y"})
        self.assertFalse(error.result.allocated)
        self.assertReadBack(error.result)
        # It is placed later, once a node supplies its release, with a new timestamp.
        self.call("supply.supply", self.admin, url=OTHER_SR, computer="COMP-0")
        self.assertEqual(self.call("instance.allocate_pending", self.admin), 1)
        placed = self.call("instance.get", self.admin, reference=error.result.reference)
        self.assertTrue(placed.allocated)
        self.assertGreater(placed.timestamp, error.result.timestamp)

    def test_the_node_sees_a_new_instance_at_once(self):
        self.assertEqual(self.poll("COMP-0")["slappart0"].instance, None)
        first = self.request(self.alice, "first")
        self.assertEqual(self.poll("COMP-0")[first.partition].timestamp, first.timestamp)
        second = self.request(self.alice, "second")
        self.assertEqual(self.poll("COMP-0")[second.partition].timestamp, second.timestamp)
