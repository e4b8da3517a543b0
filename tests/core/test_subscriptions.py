"""Subscriptions: one per instance tree, opened at its root's first request with the price then in
force, closed when its destruction is asked, belonging to the tree's owner."""

from unittest import mock

from slap_core import errors
from tests.fixtures import OTHER_SR, SR, MasterTestCase


class SubscriptionTests(MasterTestCase):
    """What instance.request and instance.destroy do to subscriptions; subscription.list."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-0", partitions=4, supply=(SR, OTHER_SR))
        self.call("catalogue.add_release", self.admin, url=OTHER_SR, product="kvm")
        self.call("pricing.set", self.admin, currency="EUR", vat_rate="20", subscriptions=[
            {"monthly": "42.00"}, {"shared": True, "monthly": "5.00"},
            {"product": "kvm", "monthly": "99.00"}])

    def subscriptions(self, principal=None, **arguments):
        return self.call("subscription.list", principal or self.alice, **arguments)

    def test_a_root_opens_one_subscription_at_the_price_in_force(self):
        root = self.request(self.alice, "blog")
        self.request(self.alice, "blog")  # asked again: still one
        self.request(self.partition_agent(root), "child")  # in the tree: no new subscription
        (subscription,) = self.subscriptions()
        self.assertEqual((subscription.tree, subscription.owner, subscription.currency,
                          subscription.monthly, subscription.stop_at),
                         ("blog", "alice", "EUR", "42.00", None))
        self.assertAlmostEqual(subscription.start_at,
                               self.call("instance.get", self.alice,
                                         reference=root.reference).created_at)

    def test_the_product_price_and_the_shared_price_apply(self):
        self.request(self.alice, "vm", software_release=OTHER_SR)
        self.request(self.bob, "share", shared=True, software_release=OTHER_SR)
        self.assertEqual([s.monthly for s in self.subscriptions()], ["99.00"])
        self.assertEqual([s.monthly for s in self.subscriptions(self.bob)], ["5.00"])

    def test_a_later_price_list_applies_to_later_trees_only(self):
        self.request(self.alice, "before")
        with mock.patch("slap_core.pricing.now", return_value=0):
            self.call("pricing.set", self.admin, currency="EUR", vat_rate="20",
                      subscriptions=[{"monthly": "50.00"}], effective_from=1.0)
        self.request(self.alice, "after")
        self.assertEqual([(s.tree, s.monthly) for s in self.subscriptions()],
                         [("before", "42.00"), ("after", "42.00")])

    def test_destroying_the_tree_closes_it(self):
        root = self.request(self.alice, "blog")
        self.call("instance.destroy", self.alice, reference=root.reference)
        self.assertEqual(self.subscriptions(), [])
        (closed,) = self.subscriptions(include_closed=True)
        self.assertIsNotNone(closed.stop_at)
        self.assertGreaterEqual(closed.stop_at, closed.start_at)
        self.request(self.alice, "blog")  # the title again: a new tree, a new subscription
        self.assertEqual(len(self.subscriptions(include_closed=True)), 2)

    def test_without_a_price_list_a_tree_is_unpriced(self):
        with mock.patch("slap_core.instance_creation.now", return_value=0.0):
            self.request(self.alice, "free")  # created before any price list took effect
        (subscription,) = self.subscriptions()
        self.assertEqual((subscription.currency, subscription.monthly), (None, None))

    def test_each_sees_their_own_and_an_admin_anyones(self):
        self.request(self.alice, "a")
        self.request(self.bob, "b")
        self.assertEqual([s.tree for s in self.subscriptions(self.bob)], ["b"])
        self.assertEqual([s.tree for s in self.subscriptions(self.admin)], ["a", "b"])
        self.assertEqual([s.tree for s in self.subscriptions(self.admin, login="bob")], ["b"])
        self.assertRaises(errors.Forbidden, self.subscriptions, self.bob, login="alice")
        self.assertRaises(errors.NotFound, self.subscriptions, self.admin, login="nobody")
