"""The arithmetic of invoices: calendar-month periods, proration to the second, rounding."""

import calendar
from decimal import Decimal

from twisted.trial import unittest

from slap_core import errors
from slap_core.billing import (line_amount, money, period, period_of, prorated_quantity,
                               totals)


def at(year, month, day, hour=0):
    return float(calendar.timegm((year, month, day, hour, 0, 0)))


class PeriodTests(unittest.TestCase):
    """Calendar months in UTC."""

    def test_a_period_is_a_calendar_month(self):
        april = period(2024, 4)
        self.assertEqual((april.start, april.end, april.seconds, april.name),
                         (at(2024, 4, 1), at(2024, 5, 1), 30 * 86400, "2024-04"))
        self.assertEqual(period(2024, 12).end, at(2025, 1, 1))
        self.assertEqual(period(2024, 2).seconds, 29 * 86400)  # a leap year
        self.assertEqual(period_of(at(2024, 4, 30, 23)), april)

    def test_a_month_that_does_not_exist_is_invalid(self):
        for year, month in ((2024, 0), (2024, 13), (1969, 5), ("2024", 4)):
            self.assertRaises(errors.Invalid, period, year, month)


class ProrationTests(unittest.TestCase):
    """The worked example of ../shared/spec/accounting.md, section 4.5."""

    def test_the_worked_example_to_the_cent(self):
        # EUR, 42.00 a month, VAT 20 %, April 2024, tree requested 2024-04-04T00:00Z, still running
        quantity = prorated_quantity(at(2024, 4, 4), None, period(2024, 4))
        self.assertEqual(quantity, Decimal("0.900000"))
        amount = line_amount(quantity, "42.00", "EUR")
        self.assertEqual(amount, Decimal("37.80"))
        self.assertEqual(totals([amount], "20", "EUR"),
                         (Decimal("37.80"), Decimal("7.56"), Decimal("45.36")))

    def test_a_whole_month_a_stop_mid_month_and_a_subscription_outside(self):
        april = period(2024, 4)
        self.assertEqual(prorated_quantity(at(2024, 1, 1), None, april), Decimal(1))
        self.assertEqual(prorated_quantity(at(2024, 4, 1), at(2024, 4, 16), april),
                         Decimal("0.5"))
        self.assertEqual(prorated_quantity(at(2024, 3, 1), at(2024, 3, 31), april), Decimal(0))
        self.assertEqual(prorated_quantity(at(2024, 5, 2), None, april), Decimal(0))
        # a single second is below the 6 places a quantity keeps
        self.assertEqual(prorated_quantity(at(2024, 4, 30, 23) + 3599, None, april),
                         Decimal("0.000000"))

    def test_rounding_is_half_up_at_the_currency_minor_unit(self):
        self.assertEqual(money(Decimal("0.125"), "EUR"), Decimal("0.13"))
        self.assertEqual(money(Decimal("2.5"), "JPY"), Decimal("3"))
        self.assertEqual(money(Decimal("1.0005"), "KWD"), Decimal("1.001"))
        self.assertEqual(line_amount("0.516", "42", "EUR"), Decimal("21.67"))
        # VAT on the subtotal, rounded once (not per line)
        self.assertEqual(totals(["0.01", "0.01", "0.01"], "20", "EUR"),
                         (Decimal("0.03"), Decimal("0.01"), Decimal("0.04")))
