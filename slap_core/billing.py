"""The arithmetic of invoices: billing periods, prorated subscription lines, VAT and totals.

A period is a calendar month in UTC, ``[start, next start)``. A subscription that ran for part of
a period is billed for that part to the second: quantity = seconds run / seconds in the period,
kept to 6 places, and each line's amount is rounded once, half up, to the currency's minor unit;
VAT is computed on the subtotal and rounded once. Money is ``decimal.Decimal`` throughout.
"""

import calendar
import datetime
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from slap_core import errors
from slap_core.currencies import MINOR_UNITS

QUANTITY_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class Period:
    """A billing period: ``start`` and ``end`` in seconds since the epoch, ``[start, end)``."""

    year: int
    month: int
    start: float
    end: float

    @property
    def seconds(self):
        """Its length in seconds."""
        return int(self.end - self.start)

    @property
    def name(self):
        """``2024-04``."""
        return "%04d-%02d" % (self.year, self.month)


def period(year, month):
    """The calendar month ``year``-``month`` in UTC; Invalid for a month that does not exist."""
    if not (isinstance(year, int) and isinstance(month, int) and 1970 <= year <= 9999
            and 1 <= month <= 12):
        raise errors.Invalid("a period is a year from 1970 and a month from 1 to 12")
    start = calendar.timegm((year, month, 1, 0, 0, 0))
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return Period(year, month, float(start), float(calendar.timegm((next_year, next_month, 1,
                                                                    0, 0, 0))))


def period_of(instant):
    """The period holding ``instant`` (seconds since the epoch)."""
    moment = datetime.datetime.fromtimestamp(instant, datetime.timezone.utc)
    return period(moment.year, moment.month)


def day(instant):
    """The UTC day of ``instant`` (seconds since the epoch), ``2024-04-04``."""
    return datetime.datetime.fromtimestamp(instant, datetime.timezone.utc).strftime("%Y-%m-%d")


def stop_instant(text, fallback):
    """The instant a TioXML date (``2026-11-02 at 00:00:00``, or ISO) names, else ``fallback``:
    the day decides the period a usage movement is billed in."""
    try:
        day = time.strptime(text.strip()[:10], "%Y-%m-%d")
    except ValueError:
        return fallback
    return float(calendar.timegm(day))


def money(amount, currency):
    """``amount`` rounded half up to the minor unit of ``currency`` (ISO 4217)."""
    return Decimal(amount).quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]),
                                    rounding=ROUND_HALF_UP)


def prorated_quantity(start_at, stop_at, billed):
    """The part of period ``billed`` a subscription from ``start_at`` to ``stop_at`` (None: still
    running) covers, to 6 places: 1 for the whole period, 0 when it ran outside it."""
    begin = max(start_at, billed.start)
    end = billed.end if stop_at is None else min(stop_at, billed.end)
    if end <= begin:
        return Decimal(0)
    seconds = Decimal(int(round(end - begin)))
    return (seconds / Decimal(billed.seconds)).quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP)


def line_amount(quantity, unit_price, currency):
    """A line's amount: quantity x unit price, rounded once to the currency's minor unit."""
    return money(Decimal(quantity) * Decimal(unit_price), currency)


def totals(amounts, vat_rate, currency):
    """(subtotal, VAT, total) of line amounts at ``vat_rate`` per cent, VAT rounded once."""
    subtotal = money(sum((Decimal(a) for a in amounts), Decimal(0)), currency)
    vat = money(subtotal * Decimal(vat_rate) / Decimal(100), currency)
    return subtotal, vat, subtotal + vat
