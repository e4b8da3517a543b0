"""Invoices: one per person and period, issued by an invoice run (``invoice.generate``).

A run for a period that has ended bills everyone with anything to bill in it (see
:mod:`slap_core.invoice_lines`) who has no invoice for it yet, in the currency and at the VAT
rate of the price list in force at the period's end; running it again adds nothing that was
billed. Numbers are ``YYYY-NNNNNN``, sequential without a gap within the year of issue, assigned
in the run's transaction. An issued invoice is never changed: usage of an invoiced period that
arrives later goes on a later invoice as a dated late line; an admin records its payment (in
full: it becomes paid) or cancels it with a credit note (the next number, its lines negated: it
becomes credited). A person sees their own invoices
only (another's is NotFound, as if it did not exist); an admin or an accountant sees all.
"""

import math
import re
from decimal import Decimal

from sqlalchemy import func, insert, select, update

from slap_core import errors
from slap_core.access import accounts_read, require_admin
from slap_core.billing import period, period_of, totals
from slap_core.billing_profiles import bounded_text, buyer_snapshots, seller_snapshot, vat_of
from slap_core.clock import now
from slap_core.invoice_lines import PriceBook, bills, running_in, unbilled_usage, usage_ranges
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
from slap_core.pricing import parse_amount, price_list_at
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
    subscribers = select(Subscription.person_id).where(running_in(billed))
    consumers = select(UsageRecord.person_id).where(
        unbilled_usage(ranges, None, up_to), UsageRecord.person_id.is_not(None))
    invoiced = select(Invoice.person_id).where(Invoice.period == billed.name,
                                               Invoice.kind == "invoice")
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
    # The run's row first, locked: a concurrent run of the period (another master process)
    # waits here, then finds everyone invoiced (or loses the insert and is retried).
    run = session.get(InvoiceRun, billed.name, with_for_update=True)
    if run is None:
        run = InvoiceRun(period=billed.name, start=billed.start, end=billed.end,
                         ran_at=issued_at)
        session.add(run)
        session.flush()
    up_to = session.scalar(select(func.max(UsageRecord.id))) or 0
    ranges = usage_ranges(session, billed)
    book = PriceBook(session)
    people, already = _to_bill(session, billed, ranges, up_to)
    year = period_of(issued_at).year
    seller = seller_snapshot(session)
    issued, unpriced = [], []
    for first in range(0, len(people), BATCH):
        batch = people[first:first + BATCH]
        found = bills(session, batch, billed, currency, up_to=up_to, book=book, ranges=ranges)
        billed_people = [p for p in batch if p in found]
        buyers = buyer_snapshots(session, billed_people)
        invoices, lines = [], {}
        for person, number in zip(billed_people, _numbers(session, year, len(billed_people))):
            bill, buyer = found[person], buyers[person]
            rate, vat_note = vat_of(seller, buyer, vat_rate)
            subtotal, vat, total = totals([line.amount for line in bill.lines], rate, currency)
            invoices.append(dict(
                number=number, kind="invoice", person_id=person, period=billed.name,
                period_start=billed.start, period_end=billed.end, issued_at=issued_at,
                state="issued", currency=currency, vat_rate=rate, subtotal=str(subtotal),
                vat=str(vat), total=str(total), seller=seller, buyer=buyer, vat_note=vat_note))
            lines[number] = bill.lines
            issued.append(number)
            unpriced += [what for what in bill.unpriced if what not in unpriced]
        # Core statements, not ORM objects: a run writes tens of thousands of lines.
        if invoices:
            session.execute(insert(Invoice.__table__), invoices)
            ids = dict(session.execute(select(Invoice.number, Invoice.id).where(
                Invoice.number.in_(list(lines)))).all())
            session.execute(insert(InvoiceLine.__table__), [
                dict(invoice_id=ids[number], position=index, kind=line.kind, period=line.period,
                     tree=line.tree, description=line.description, quantity=line.quantity,
                     unit=line.unit, unit_price=line.unit_price, amount=line.amount)
                for number, bill_lines in lines.items()
                for index, line in enumerate(bill_lines)])
        mine = (select(Invoice.id).where(Invoice.person_id == UsageRecord.person_id,
                                         Invoice.period == billed.name,
                                         Invoice.kind == "invoice").scalar_subquery())
        session.execute(update(UsageRecord).where(unbilled_usage(ranges, billed_people, up_to))
                        .values(invoice_id=mine).execution_options(synchronize_session=False))
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
    return [InvoiceSummaryView(number=row.number, kind=row.kind, person=owner, period=row.period,
                               issued_at=row.issued_at, state=row.state, currency=row.currency,
                               total=row.total)
            for row, owner in session.execute(query.order_by(Invoice.id).limit(limit))]


def invoice_view(session, row, owner):
    """The InvoiceView of an invoice row (``owner`` its person's login)."""
    lines = tuple(ConsumptionLineView(line.kind, line.tree, line.description, line.quantity,
                                      line.unit, line.unit_price, line.amount, line.period)
                  for line in row.lines)
    credited_by = session.scalar(select(Invoice.number).where(Invoice.credits_id == row.id))
    return InvoiceView(number=row.number, kind=row.kind, person=owner, period=row.period,
                       period_start=row.period_start, period_end=row.period_end,
                       issued_at=row.issued_at, state=row.state, currency=row.currency,
                       lines=lines, subtotal=row.subtotal, vat_rate=row.vat_rate, vat=row.vat,
                       total=row.total, credits=row.credits.number if row.credits else None,
                       credited_by=credited_by, note=row.note, paid_at=row.paid_at,
                       payment_reference=row.payment_reference, seller=row.seller,
                       buyer=row.buyer, vat_note=row.vat_note)


def _find(session, principal, number):
    """(invoice row, its owner's login) of ``number`` as ``principal`` may read it; NotFound."""
    if not isinstance(number, str):
        raise errors.Invalid("an invoice number is a string such as 2026-000001")
    found = session.execute(_readable(session, principal, None)
                            .where(Invoice.number == number)).first()
    if found is None:
        raise errors.NotFound("no invoice %r" % (number[:40],))
    return found


@operation("invoice.get", writes=False,
           callers="the person billed, admin and accountant",
           returns=InvoiceView, raises=((errors.NotFound, "no such invoice, or another's"),))
def get_invoice(session, principal, *, number):
    """One invoice with its lines (another person's is NotFound, as if it did not exist)."""
    return invoice_view(session, *_find(session, principal, number))


def _open_invoice(session, principal, number, doing):
    """The issued, unpaid, uncredited invoice ``number`` an admin is ``doing`` something to."""
    require_admin(principal)
    row, owner = _find(session, principal, number)
    if row.kind != "invoice":
        raise errors.Conflict("%s is a credit note: only an invoice is %s" % (number, doing))
    if row.state != "issued":
        raise errors.Conflict("%s is %s already" % (number, row.state))
    return row, owner


@operation("invoice.record_payment", writes=True, callers="admin", returns=InvoiceView,
           raises=(errors.NotFound, (errors.Conflict, "paid or credited already, a credit note"),
                   (errors.Invalid, "not the total, paid in the future")))
def record_payment(session, principal, *, number, reference, amount=None, paid_at=None):
    """Record that an issued invoice was paid in full (``amount``, when given, must be its
    total): it becomes paid."""
    row, owner = _open_invoice(session, principal, number, "paid")
    reference = bounded_text(reference, "a payment reference", 255, required=True)
    if amount is not None and parse_amount(amount, "a payment") != Decimal(row.total):
        raise errors.Invalid("a payment settles the whole invoice: %s %s, not %s"
                             % (row.total, row.currency, amount))
    recorded = now()
    paid_at = recorded if paid_at is None else paid_at
    if not math.isfinite(paid_at) or paid_at > recorded + 1:
        raise errors.Invalid("a payment is recorded once it was made, not in the future")
    row.state, row.paid_at = "paid", float(paid_at)
    row.payment_reference, row.payment_recorded_at = reference, recorded
    session.flush()
    return invoice_view(session, row, owner)


@operation("invoice.credit", writes=True, callers="admin", returns=InvoiceView,
           raises=(errors.NotFound, (errors.Conflict, "paid or credited already, a credit note"),
                   errors.Invalid))
def credit(session, principal, *, number, reason):
    """Cancel an issued, unpaid invoice with a credit note of its whole amount (its lines
    negated, the next number of the year); the invoice becomes credited. What it billed is not
    billed again."""
    row, owner = _open_invoice(session, principal, number, "credited")
    reason = bounded_text(reason, "a credit note's reason", 2000, required=True)
    issued_at = now()
    (note_number,) = _numbers(session, period_of(issued_at).year, 1)
    note = Invoice(
        number=note_number, kind="credit_note", person_id=row.person_id, period=row.period,
        period_start=row.period_start, period_end=row.period_end, issued_at=issued_at,
        state="issued", currency=row.currency, vat_rate=row.vat_rate,
        subtotal=_negated(row.subtotal), vat=_negated(row.vat), total=_negated(row.total),
        credits_id=row.id, note=reason, seller=row.seller, buyer=row.buyer,
        vat_note=row.vat_note,
        lines=[InvoiceLine(position=line.position, kind=line.kind, period=line.period,
                           tree=line.tree, description=line.description,
                           quantity=_negated(line.quantity), unit=line.unit,
                           unit_price=line.unit_price, amount=_negated(line.amount))
               for line in row.lines])
    session.add(note)
    row.state = "credited"
    session.flush()
    return invoice_view(session, note, owner)


def _negated(text):
    value = -Decimal(text)
    return str(value) if value else text
