"""The master's monthly invoice loop (gateway.invoicing), on a started master with its clock
moved: the month just closed is invoiced once, by one of the processes sharing the database."""

import calendar
from unittest import mock

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from gateway.config import ConfigError, load
from gateway.core_calls import CoreCalls
from gateway.invoicing import InvoiceLoop
from slap_core.billing import period_of
from slap_core.principals import ComputerAgent, User
from tests.fixtures import SR, format_configuration, start_test_master

PAST = 1577836800.0  # 2020-01-01T00:00Z
DAY = 86400.0


def at(year, month, day, hour=0):
    return float(calendar.timegm((year, month, day, hour, 0, 0)))


class InvoiceLoopTests(unittest.TestCase):
    """A tree requested now; the loop's clock and the core's are moved together."""

    timeout = 60

    def setUp(self):
        self.running = start_test_master(self)
        self.master, self.admin = self.running.master, User("admin", {"admin"})
        self.instant = 0.0
        patcher = mock.patch("slap_core.invoices.now", lambda: self.instant)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.clock = task.Clock()

    def prices_and_a_tree(self):
        with mock.patch("slap_core.pricing.now", return_value=PAST):
            self.master.call("pricing.set", self.admin, currency="EUR", vat_rate="20",
                             effective_from=PAST, subscriptions=[{"monthly": "30.00"}])
        self.master.call("computer.create", self.admin, reference="COMP-0")
        self.master.call("computer.format", ComputerAgent("COMP-0"), reference="COMP-0",
                         configuration=format_configuration("COMP-0", 1))
        self.master.call("supply.supply", self.admin, url=SR, computer="COMP-0")
        self.master.call("instance.request", self.admin, title="site", software_release=SR)

    def loop(self):
        loop = InvoiceLoop(CoreCalls(self.master, reactor), self.admin, DAY, self.clock,
                           now=lambda: self.instant)
        self.addCleanup(loop.stop)
        return loop

    def invoices(self):
        return [(i.number, i.period) for i in self.master.call("invoice.list", self.admin)]

    @defer.inlineCallbacks
    def test_the_month_just_closed_is_invoiced_once_a_day_after_its_end(self):
        self.prices_and_a_tree()
        billed = period_of(self.master.call("subscription.list", self.admin)[0].start_at)
        loop = self.loop()
        # within a day of the month's end, the month before it is the one due
        self.instant = billed.end + DAY / 2
        self.assertEqual(loop.due(), period_of(billed.start - 1).name)
        yield loop.check()
        self.assertEqual(self.invoices(), [])
        self.instant = billed.end + DAY + 1
        self.assertEqual(loop.due(), billed.name)
        yield loop.check()
        (invoice,) = self.invoices()
        self.assertEqual(invoice[1], billed.name)
        self.assertIsNone(loop.due())  # done: the next check calls nothing
        # another process sharing the database runs it too: nothing more is issued
        other = self.loop()
        yield other.check()
        self.assertEqual(self.invoices(), [invoice])

    @defer.inlineCallbacks
    def test_started_it_checks_at_once_and_every_interval(self):
        self.prices_and_a_tree()
        loop = self.loop()
        self.instant = at(2020, 3, 5)  # February 2020: a price list, nothing to bill
        loop.start(3600)
        yield self.until(lambda: loop.done == "2020-02")
        self.instant = at(2020, 4, 5)
        self.clock.advance(3599)
        self.assertEqual(loop.done, "2020-02")
        self.clock.advance(1)
        yield self.until(lambda: loop.done == "2020-03")

    @defer.inlineCallbacks
    def until(self, condition):
        """Wait (in real time: the core runs in threads) until ``condition()`` holds."""
        for _ in range(100):
            if condition():
                return
            yield task.deferLater(reactor, 0.05, lambda: None)
        self.fail("still not so after 5 s")

    @defer.inlineCallbacks
    def test_a_month_with_no_price_list_is_skipped(self):
        loop = self.loop()
        self.instant = at(2024, 5, 3)
        yield loop.check()  # April 2024: no price list at its end; logged, not raised
        self.assertEqual((loop.done, loop.due()), ("2024-04", None))
        self.assertEqual(self.invoices(), [])
        self.flushLoggedErrors()


class InvoiceSettingsTests(unittest.TestCase):
    """[master] invoice_interval and invoice_delay."""

    def test_read_and_checked(self):
        path = self.mktemp()
        with open(path, "w") as handle:
            handle.write("[master]\ninvoice_interval = 600\ninvoice_delay = 7200\n")
        config = load(path)
        self.assertEqual((config.invoice_interval, config.invoice_delay), (600.0, 7200.0))
        self.assertEqual((load(None).invoice_interval, load(None).invoice_delay),
                         (3600.0, 86400.0))
        with open(path, "w") as handle:
            handle.write("[master]\ninvoice_delay = -1\n")
        self.assertRaises(ConfigError, load, path)
        with open(path, "w") as handle:
            handle.write("[master]\ninvoice_interval = hourly\n")
        self.assertRaises(ConfigError, load, path)
