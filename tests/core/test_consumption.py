"""consumption.current: the running total of the current month, to the cent."""

import calendar
from unittest import mock

from slap_core import errors
from tests.core.test_usage import journal, movement
from tests.fixtures import SR, MasterTestCase


def at(year, month, day):
    return float(calendar.timegm((year, month, day, 0, 0, 0)))


class ConsumptionTests(MasterTestCase):
    """April 2024 with the clock moved: the spec's worked example plus usage."""

    def setUp(self):
        super().setUp()
        self.node = self.make_computer("COMP-0", partitions=3)
        self.clock("slap_core.pricing.now", at(2024, 3, 1))
        self.call("pricing.set", self.admin, currency="EUR", vat_rate="20",
                  subscriptions=[{"monthly": "42.00"}],
                  usage=[{"resource": "cpu_time", "unit": "s", "unit_price": "0.01"}])
        self.clock("slap_core.instance_creation.now", at(2024, 4, 4))
        self.clock("slap_core.allocation.now", at(2024, 4, 4))  # its partition's tenancy
        self.root = self.request(self.alice, "blog")
        self.clock("slap_core.consumption.now", at(2024, 4, 20))

    def clock(self, where, instant):
        patcher = mock.patch(where, return_value=instant)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_the_worked_example_with_usage_priced_and_unpriced(self):
        self.call("usage.report", self.node, computer="COMP-0", document=journal(
            [movement(self.root.partition, quantity="100"),
             movement(self.root.partition, quantity="23.5"),
             movement(self.root.partition, resource="disk", quantity="3")],
            stop_date="2024-04-10 at 00:00:00"))
        # usage of another month is not this month's
        self.call("usage.report", self.node, computer="COMP-0", document=journal(
            [movement(self.root.partition, quantity="999")], stop_date="2024-03-31 at 00:00:00"))
        view = self.call("consumption.current", self.alice)
        self.assertEqual((view.person, view.period, view.currency, view.vat_rate),
                         ("alice", "2024-04", "EUR", "20"))
        self.assertEqual([(line.kind, line.tree, line.quantity, line.unit_price, line.amount)
                          for line in view.lines],
                         [("subscription", "blog", "0.9", "42", "37.80"),
                          ("usage", "blog", "123.5", "0.01", "1.24"),
                          ("usage", "blog", "3", "0", "0")])
        self.assertEqual((view.subtotal, view.vat, view.total), ("39.04", "7.81", "46.85"))
        self.assertEqual(view.unpriced, ("disk",))

    def test_each_reads_their_own_and_an_admin_anyones(self):
        self.assertEqual(self.call("consumption.current", self.bob).lines, ())
        self.assertEqual(self.call("consumption.current", self.admin, login="alice").total,
                         "45.36")
        self.assertRaises(errors.Forbidden, self.call, "consumption.current", self.bob,
                          login="alice")
        self.assertRaises(errors.NotFound, self.call, "consumption.current", self.admin,
                          login="nobody")

    def test_an_accountant_reads_anyones_accounts_but_sets_no_price(self):
        accountant = self.accountant()
        self.assertEqual(self.call("consumption.current", accountant, login="alice").total,
                         "45.36")
        self.assertEqual([s.tree for s in self.call("subscription.list", accountant)], ["blog"])
        self.assertRaises(errors.Forbidden, self.call, "pricing.set", accountant,
                          currency="EUR", vat_rate="0", subscriptions=[{"monthly": "1"}])

    def accountant(self):
        from slap_core.principals import User

        self.call("person.create", self.admin, login="carol", roles=["accountant"])
        return User("carol", {"accountant"})
