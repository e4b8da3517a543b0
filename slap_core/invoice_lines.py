"""The lines of a person's bill for a period: what an invoice and the running total are made of.

- A line per subscription that ran in the period, prorated to the second (to the period's end
  while open) at the monthly price it opened with.
- Usage summed per tree, resource and unit price, each record priced at the unit price in force
  at its stop instant. A record belongs to the period of its stop instant; one of an earlier
  period that was invoiced already (an :class:`~slap_core.models.InvoiceRun` exists) and that no
  invoice billed is a ``late_usage`` line dated with its own period; one of an earlier period
  never invoiced waits for that period's run.
- What has no price (a subscription opened before any price list or in another currency, a
  resource missing from the list) is a line of amount 0, named in ``unpriced``.

Records are summed by the database (floats) and the sums rounded to 6 places, the precision
usage quantities are accepted with.
"""

import bisect
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, func, or_, select

from slap_core.billing import QUANTITY_PLACES, day, line_amount, period_of, prorated_quantity
from slap_core.models import (
    InstanceTree,
    InvoiceRun,
    PriceList,
    SoftwareInstance,
    SoftwareProduct,
    SoftwareRelease,
    Subscription,
    UsagePrice,
    UsageRecord,
)
from slap_core.views import ConsumptionLineView

_KIND_ORDER = {"subscription": 0, "usage": 1, "late_usage": 2}


@dataclass
class Bill:
    """One person's lines for a period, and what among them has no price."""

    lines: list = field(default_factory=list)
    unpriced: list = field(default_factory=list)

    def name_unpriced(self, what):
        """Record that ``what`` has no price (once)."""
        if what not in self.unpriced:
            self.unpriced.append(what)


class PriceBook:
    """Every price list by date: the unit price of a resource in force at an instant."""

    def __init__(self, session):
        rows = session.execute(select(PriceList.id, PriceList.effective_from, PriceList.currency)
                               .order_by(PriceList.effective_from, PriceList.id)).all()
        self._starts = [row[1] for row in rows]
        self._lists = [(row[0], row[2]) for row in rows]
        self._usage = {}
        for list_id, resource, unit, price in session.execute(
                select(UsagePrice.price_list_id, UsagePrice.resource, UsagePrice.unit,
                       UsagePrice.unit_price)):
            self._usage.setdefault(list_id, {})[resource] = (unit, price)

    def usage_price(self, instant, resource, currency):
        """(unit, unit price) of ``resource`` in the list in force at ``instant``, or None when
        none is in force, it has no such price, or its currency is not ``currency``."""
        index = bisect.bisect_right(self._starts, instant) - 1
        if index < 0:
            return None
        list_id, list_currency = self._lists[index]
        if list_currency != currency:
            return None
        return self._usage.get(list_id, {}).get(resource)


def usage_ranges(session, billed):
    """The [start, end) ranges whose uninvoiced usage a bill for ``billed`` takes: the period
    itself and every earlier period already invoiced, adjacent ones merged."""
    ranges = [(billed.start, billed.end)]
    for start, end in session.execute(select(InvoiceRun.start, InvoiceRun.end)
                                      .where(InvoiceRun.end <= billed.start)
                                      .order_by(InvoiceRun.start.desc())):
        if end == ranges[-1][0]:
            ranges[-1] = (start, ranges[-1][1])
        else:
            ranges.append((start, end))
    return ranges


def running_in(billed):
    """The condition on Subscription of those that ran for some of period ``billed``."""
    return and_(Subscription.start_at < billed.end,
                Subscription.stop_at.is_(None) | (Subscription.stop_at > billed.start))


def unbilled_usage(ranges, person_ids, up_to=None):
    """The condition on UsageRecord of what bills of ``person_ids`` (None: anyone) over
    ``ranges`` take: not invoiced yet, stopped in one of the ranges, up to record id ``up_to``
    (when set)."""
    condition = and_(UsageRecord.invoice_id.is_(None),
                     or_(*[and_(UsageRecord.stop_at >= start, UsageRecord.stop_at < end)
                           for start, end in ranges]))
    if person_ids is not None:
        condition = and_(UsageRecord.person_id.in_(person_ids), condition)
    if up_to is not None:
        condition = and_(condition, UsageRecord.id <= up_to)
    return condition


def _text(value):
    return format(value.normalize(), "f") if value else "0"


def _add_subscriptions(session, bills, person_ids, billed, currency):
    rows = session.execute(
        select(Subscription.person_id, Subscription.start_at, Subscription.stop_at,
               Subscription.currency, Subscription.monthly, InstanceTree.title,
               SoftwareRelease.url, SoftwareProduct.title)
        .join(InstanceTree, Subscription.tree_id == InstanceTree.id)
        .outerjoin(SoftwareInstance, InstanceTree.root_instance_id == SoftwareInstance.id)
        .outerjoin(SoftwareRelease, SoftwareInstance.release_id == SoftwareRelease.id)
        .outerjoin(SoftwareProduct, SoftwareRelease.product_id == SoftwareProduct.id)
        .where(Subscription.person_id.in_(person_ids), running_in(billed))
        .order_by(Subscription.person_id, Subscription.start_at, Subscription.id))
    for person, start, stop, line_currency, monthly, title, url, product in rows:
        bill = bills.setdefault(person, Bill())
        quantity = prorated_quantity(start, stop, billed)
        what = "%s (%s)" % (title, product or url) if (product or url) else title
        if start > billed.start or (stop is not None and stop < billed.end):
            what += ", %s to %s" % (day(max(start, billed.start)),
                                    day(min(stop or billed.end, billed.end) - 1))
        if monthly is None or line_currency != currency:
            bill.name_unpriced("subscription of %s" % title)
            price = amount = Decimal(0)
        else:
            price = Decimal(monthly)
            amount = line_amount(quantity, price, currency)
        bill.lines.append(ConsumptionLineView("subscription", title, what, _text(quantity),
                                              "month", _text(price), str(amount),
                                              billed.name))


def _add_usage(session, bills, person_ids, billed, currency, book, ranges, up_to):
    rows = session.execute(
        select(UsageRecord.person_id, InstanceTree.id, InstanceTree.title, UsageRecord.resource,
               UsageRecord.stop_at, func.sum(UsageRecord.quantity))
        .outerjoin(SoftwareInstance, UsageRecord.instance_id == SoftwareInstance.id)
        .outerjoin(InstanceTree, SoftwareInstance.tree_id == InstanceTree.id)
        .where(unbilled_usage(ranges, person_ids, up_to))
        .group_by(UsageRecord.person_id, InstanceTree.id, InstanceTree.title,
                  UsageRecord.resource, UsageRecord.stop_at))
    sums = {}
    for person, tree_id, title, resource, stop, quantity in rows:
        late = not billed.start <= stop < billed.end
        price = book.usage_price(stop, resource, currency)
        key = ("late_usage" if late else "usage", period_of(stop).name if late else billed.name,
               title or "", tree_id or 0, resource, price)
        per_person = sums.setdefault(person, {})
        per_person[key] = per_person.get(key, Decimal(0)) + Decimal(repr(quantity or 0.0))
    for person, lines in sums.items():
        bill = bills.setdefault(person, Bill())
        for key in sorted(lines, key=lambda k: (_KIND_ORDER[k[0]], k[1], k[2], k[3], k[4],
                                                k[5] or ("", ""))):
            kind, line_period, title, _, resource, price = key
            quantity = lines[key].quantize(QUANTITY_PLACES, rounding=ROUND_HALF_UP)
            if price is None:
                bill.name_unpriced(resource)
                unit, unit_price, amount = "unit", Decimal(0), Decimal(0)
            else:
                unit, unit_price = price[0], Decimal(price[1])
                amount = line_amount(quantity, unit_price, currency)
            what = "%s of %s" % (resource, title) if title else "%s of the computer" % resource
            if kind == "late_usage":
                what += " in %s, received late" % line_period
            bill.lines.append(ConsumptionLineView(kind, title or None, what, _text(quantity),
                                                  unit, _text(unit_price), str(amount),
                                                  line_period))


def bills(session, person_ids, billed, currency, *, up_to=None, book=None, ranges=None):
    """{person id: Bill} for each of ``person_ids`` with anything to bill in period ``billed``,
    priced in ``currency``; usage received after record id ``up_to`` (when set) is left out."""
    found = {}
    if not person_ids:
        return found
    book = book or PriceBook(session)
    ranges = ranges if ranges is not None else usage_ranges(session, billed)
    _add_subscriptions(session, found, person_ids, billed, currency)
    _add_usage(session, found, person_ids, billed, currency, book, ranges, up_to)
    return found
