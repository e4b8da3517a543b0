"""What a person's invoice for the current period would be now (``consumption.current``).

Subscriptions are billed for the part of the period they run (to its end while open), at the
monthly price they opened with; usage is summed per tree and resource and priced at the unit
price in force at its transaction's stop date. Lines without a price are kept with amount 0 and
named in ``unpriced``. The currency and VAT rate are the price list's in force now.
"""

import calendar
import time
from decimal import Decimal

from sqlalchemy import select

from slap_core import errors
from slap_core.access import require_user
from slap_core.billing import line_amount, period_of, prorated_quantity, totals
from slap_core.clock import now
from slap_core.models import (
    InstanceTree,
    Person,
    SoftwareInstance,
    Subscription,
    UsageRecord,
    UsageReport,
)
from slap_core.operations import operation
from slap_core.pricing import price_list_at
from slap_core.views import ConsumptionLineView, ConsumptionView


def stop_instant(text, fallback):
    """The instant a TioXML date (``2026-11-02 at 00:00:00``, or ISO) names, else ``fallback``."""
    try:
        day = time.strptime(text.strip()[:10], "%Y-%m-%d")
    except ValueError:
        return fallback
    return float(calendar.timegm(day))


def _decimal_text(value):
    return format(Decimal(value).normalize(), "f") if value else "0"


def _subscription_lines(session, person_id, billed, currency):
    lines, unpriced = [], []
    rows = session.execute(
        select(Subscription, InstanceTree.title)
        .join(InstanceTree, Subscription.tree_id == InstanceTree.id)
        .where(Subscription.person_id == person_id, Subscription.start_at < billed.end,
               (Subscription.stop_at.is_(None)) | (Subscription.stop_at > billed.start))
        .order_by(Subscription.start_at, Subscription.id))
    for subscription, title in rows:
        quantity = prorated_quantity(subscription.start_at, subscription.stop_at, billed)
        if subscription.monthly is None or subscription.currency != currency:
            unpriced.append("subscription of %s" % title)
            price, amount = Decimal(0), Decimal(0)
        else:
            price = Decimal(subscription.monthly)
            amount = line_amount(quantity, price, currency)
        lines.append(ConsumptionLineView("subscription", title, "subscription of %s" % title,
                                         _decimal_text(quantity), "month", _decimal_text(price),
                                         str(amount)))
    return lines, unpriced


def _usage_lines(session, person_id, billed, currency):
    sums = {}
    rows = session.execute(
        select(UsageRecord.resource, UsageRecord.quantity, UsageRecord.stop_date,
               UsageReport.received_at, InstanceTree.title)
        .join(UsageReport, UsageRecord.report_id == UsageReport.id)
        .outerjoin(SoftwareInstance, UsageRecord.instance_id == SoftwareInstance.id)
        .outerjoin(InstanceTree, SoftwareInstance.tree_id == InstanceTree.id)
        .where(UsageRecord.person_id == person_id))
    lists = {}  # stop instant -> the price list then in force: journals share their dates
    for resource, quantity, stop_date, received_at, tree in rows:
        stop = stop_instant(stop_date, received_at)
        if not billed.start <= stop < billed.end:
            continue
        if stop not in lists:
            lists[stop] = price_list_at(session, stop)
        price_list = lists[stop]
        key = (tree, resource)
        price = None
        if price_list is not None and price_list.currency == currency:
            price = next((u for u in price_list.usage if u.resource == resource), None)
        total, known = sums.get(key, (Decimal(0), []))
        sums[key] = (total + Decimal(repr(quantity)), known + [price])
    lines, unpriced = [], []
    for (tree, resource), (quantity, prices) in sorted(
            sums.items(), key=lambda item: (item[0][0] or "", item[0][1])):
        priced = [p for p in prices if p is not None]
        if len(priced) != len(prices) or not priced:
            unpriced.append(resource)
            unit, price, amount = "unit", Decimal(0), Decimal(0)
        else:
            unit, price = priced[-1].unit, Decimal(priced[-1].unit_price)
            amount = line_amount(quantity, price, currency)
        description = "%s of %s" % (resource, tree) if tree else "%s of the computer" % resource
        lines.append(ConsumptionLineView("usage", tree, description, _decimal_text(quantity),
                                         unit, _decimal_text(price), str(amount)))
    return lines, unpriced


@operation("consumption.current", writes=False,
           callers="users (their own), admin and accountant (anyone's)", returns=ConsumptionView,
           raises=(errors.NotFound,))
def current(session, principal, *, login=None):
    """What the caller's invoice for the current period would be now (an accountant: anyone's)."""
    user = require_user(principal)
    login = login or user.login
    if login != user.login and not user.reads_accounts:
        raise errors.Forbidden("only an admin or an accountant may read another person's "
                               "consumption")
    person = session.scalar(select(Person).where(Person.login == login))
    if person is None:
        if login != user.login:
            raise errors.NotFound("no person %r" % (login,))
    instant = now()
    billed = period_of(instant)
    price_list = price_list_at(session, instant)
    currency = price_list.currency if price_list is not None else None
    lines, unpriced = [], []
    if person is not None and currency is not None:
        for build in (_subscription_lines, _usage_lines):
            more, missing = build(session, person.id, billed, currency)
            lines += more
            unpriced += missing
    vat_rate = price_list.vat_rate if price_list is not None else "0"
    if currency is None:
        subtotal = vat = total = Decimal(0)
    else:
        subtotal, vat, total = totals([line.amount for line in lines], vat_rate, currency)
    return ConsumptionView(person=login, period=billed.name, period_start=billed.start,
                           period_end=billed.end, currency=currency, lines=tuple(lines),
                           subtotal=str(subtotal), vat_rate=vat_rate, vat=str(vat),
                           total=str(total), unpriced=tuple(unpriced))
