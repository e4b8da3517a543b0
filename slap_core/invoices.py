"""Invoices: one per person and period, issued by an invoice run (``invoice.generate``).

A run for a period that has ended bills everyone with anything to bill in it (see
:mod:`slap_core.invoice_lines`) who has no invoice for it yet, in the currency and at the VAT
rate of the price list in force at the period's end; running it again adds nothing that was
billed. Numbers are ``YYYY-NNNNNN``, sequential without a gap within the year of issue, assigned
in the run's transaction. An issued invoice is never changed: usage of an invoiced period that
arrives later goes on a later invoice as a dated late line. A person sees their own invoices
only (another's is NotFound, as if it did not exist); an admin or an accountant sees all.
"""

import datetime
import re

from sqlalchemy import func, select, update

from slap_core import errors
from slap_core.access import accounts_read, require_admin
from slap_core.billing import period, totals
from slap_core.clock import now
from slap_core.invoice_lines import PriceBook, bills, unbilled_usage, usage_ranges
from slap_core.models import (
    Invoice,
    InvoiceLine,
    InvoiceRun,
    InvoiceSequence,
    Person,
    Subscription,
    UsageRecord,
)
from slap_core.operations import operation
from slap_core.pricing import price_list_at
from slap_core.views import ConsumptionLineView, InvoiceRunView, InvoiceSummaryView, InvoiceView

BATCH = 500  # people billed per statement: bounds the memory of a run, whatever its size
_PERIOD = re.compile(r"\A(\d{4})-(\d{2})\Z")


def parse_period(text):
    """The Period a ``YYYY-MM`` text names; Invalid otherwise."""
    match = _PERIOD.match(text) if isinstance(text, str) else None
    if match is None:
        raise errors.Invalid("a period is a month written YYYY-MM (2026-11), not %r"
                             % (text[:20] if isinstance(text, str) else type(text).__name__))
    return period(int(match.group(1)), int(match.group(2)))


def _numbers(session, year, count):
    """``count`` new consecutive numbers of ``year``, taken in this transaction (no gap)."""
    if session.get(InvoiceSequence, year) is None:
        session.add(InvoiceSequence(year=year, last=0))
        session.flush()
    session.execute(update(InvoiceSequence).where(InvoiceSequence.year == year)
                    .values(last=InvoiceSequence.last + count))
    last = session.scalar(select(InvoiceSequence.last).where(InvoiceSequence.year == year))
    return ["%04d-%06d" % (year, n) for n in range(last - count + 1, last + 1)]


def _to_bill(session, billed, ranges, up_to):
    """Ids of the people with anything to bill in ``billed`` and no invoice for it, ascending."""
    subscribers = select(Subscription.person_id).where(
        Subscription.start_at < billed.end,
        (Subscription.stop_at.is_(None)) | (Subscription.stop_at > billed.start))
    consumers = select(UsageRecord.person_id).where(
        unbilled_usage(ranges, None, up_to), UsageRecord.person_id.is_not(None))
    invoiced = select(Invoice.person_id).where(Invoice.period == billed.name)
    candidates = set(session.scalars(subscribers.union(consumers)))
    already = set(session.scalars(invoiced))
    return sorted(candidates - already), len(already)


@operation("invoice.generate", writes=True, callers="admin", returns=InvoiceRunView,
           raises=((errors.Invalid, "a period not ended, no price list in force"),))
def generate(session, principal, *, period):
    """Issue the invoices of ``period`` (``YYYY-MM``, ended) for everyone not yet invoiced."""
    require_admin(principal)
    billed = parse_period(period)
    issued_at = now()
    if billed.end > issued_at:
        raise errors.Invalid("%s has not ended: a period is invoiced once it is over"
                             % billed.name)
    price_list = price_list_at(session, billed.end - 1)
    if price_list is None:
        raise errors.Invalid("no price list was in force at the end of %s: nothing can be "
                             "invoiced" % billed.name)
    currency, vat_rate = price_list.currency, price_list.vat_rate
    up_to = session.scalar(select(func.max(UsageRecord.id))) or 0
    ranges = usage_ranges(session, billed)
    book = PriceBook(session)
    people, already = _to_bill(session, billed, ranges, up_to)
    year = datetime.datetime.fromtimestamp(issued_at, datetime.timezone.utc).year
    issued, unpriced = [], []
    for first in range(0, len(people), BATCH):
        batch = people[first:first + BATCH]
        found = bills(session, batch, billed, currency, up_to=up_to, book=book, ranges=ranges)
        billed_people = [p for p in batch if p in found]
        for person, number in zip(billed_people, _numbers(session, year, len(billed_people))):
            bill = found[person]
            subtotal, vat, total = totals([line.amount for line in bill.lines], vat_rate,
                                          currency)
            session.add(Invoice(
                number=number, person_id=person, period=billed.name,
                period_start=billed.start, period_end=billed.end, issued_at=issued_at,
                state="issued", currency=currency, vat_rate=vat_rate, subtotal=str(subtotal),
                vat=str(vat), total=str(total),
                lines=[InvoiceLine(position=index, kind=line.kind, period=line.period,
                                   tree=line.tree, description=line.description,
                                   quantity=line.quantity, unit=line.unit,
                                   unit_price=line.unit_price, amount=line.amount)
                       for index, line in enumerate(bill.lines)]))
            issued.append(number)
            unpriced += [what for what in bill.unpriced if what not in unpriced]
        session.flush()
        mine = (select(Invoice.id).where(Invoice.person_id == UsageRecord.person_id,
                                         Invoice.period == billed.name).scalar_subquery())
        session.execute(update(UsageRecord).where(unbilled_usage(ranges, billed_people, up_to))
                        .values(invoice_id=mine).execution_options(synchronize_session=False))
    run = session.get(InvoiceRun, billed.name)
    if run is None:
        session.add(InvoiceRun(period=billed.name, start=billed.start, end=billed.end,
                               ran_at=issued_at))
    else:
        run.ran_at = issued_at
    session.flush()
    return InvoiceRunView(period=billed.name, issued=tuple(issued), already_invoiced=already,
                          unpriced=tuple(unpriced))


def _readable(session, principal, login):
    """The query of invoices (with their person's login) ``principal`` may read, narrowed to
    ``login`` when given."""
    query = select(Invoice, Person.login).join(Person, Invoice.person_id == Person.id)
    person = accounts_read(session, principal, login, "invoices")
    return query if person is None else query.where(Invoice.person_id == person)


@operation("invoice.list", writes=False,
           callers="users (their own), admin and accountant (anyone's, or one person's)",
           returns=[InvoiceSummaryView], raises=(errors.NotFound,))
def list_invoices(session, principal, *, login=None, period=None, limit=1000):
    """List invoices, oldest first: the caller's, or anyone's for an admin or an accountant.

    ``login`` narrows to one person's, ``period`` (``YYYY-MM``) to one period."""
    query = _readable(session, principal, login)
    if period is not None:
        query = query.where(Invoice.period == parse_period(period).name)
    limit = max(1, min(int(limit), 10000))
    return [InvoiceSummaryView(number=row.number, person=owner, period=row.period,
                               issued_at=row.issued_at, state=row.state, currency=row.currency,
                               total=row.total)
            for row, owner in session.execute(query.order_by(Invoice.id).limit(limit))]


@operation("invoice.get", writes=False,
           callers="the person billed, admin and accountant",
           returns=InvoiceView, raises=((errors.NotFound, "no such invoice, or another's"),))
def get_invoice(session, principal, *, number):
    """One invoice with its lines (another person's is NotFound, as if it did not exist)."""
    if not isinstance(number, str):
        raise errors.Invalid("an invoice number is a string such as 2026-000001")
    found = session.execute(_readable(session, principal, None)
                            .where(Invoice.number == number)).first()
    if found is None:
        raise errors.NotFound("no invoice %r" % (number[:40],))
    row, owner = found
    lines = tuple(ConsumptionLineView(line.kind, line.tree, line.description, line.quantity,
                                      line.unit, line.unit_price, line.amount, line.period)
                  for line in row.lines)
    return InvoiceView(number=row.number, person=owner, period=row.period,
                       period_start=row.period_start, period_end=row.period_end,
                       issued_at=row.issued_at, state=row.state, currency=row.currency,
                       lines=lines, subtotal=row.subtotal, vat_rate=row.vat_rate, vat=row.vat,
                       total=row.total)
