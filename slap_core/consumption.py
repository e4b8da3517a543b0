"""What a person's invoice for the current period would be now (``consumption.current``).

Subscriptions are billed for the part of the period they run (to its end while open), at the
monthly price they opened with; usage is summed per tree and resource and priced at the unit
price in force at its transaction's stop date. Lines without a price are kept with amount 0 and
named in ``unpriced``. The currency is the price list's in force now, and the VAT rate its rate
as the VAT rule applies it to the seller and the caller's billing profile (slap_core.vat).
"""

from decimal import Decimal

from sqlalchemy import select

from slap_core import errors
from slap_core.access import require_user
from slap_core.billing import period_of, totals
from slap_core.billing_profiles import buyer_snapshots, seller_snapshot, vat_of
from slap_core.clock import now
from slap_core.invoice_lines import bills
from slap_core.models import Person
from slap_core.operations import operation
from slap_core.pricing import price_list_at
from slap_core.views import ConsumptionView


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
        bill = bills(session, [person.id], billed, currency).get(person.id)
        if bill is not None:
            lines, unpriced = bill.lines, bill.unpriced
    vat_rate = price_list.vat_rate if price_list is not None else "0"
    vat_note = None
    if person is not None:
        vat_rate, vat_note = vat_of(seller_snapshot(session),
                                    buyer_snapshots(session, [person.id])[person.id], vat_rate)
    if currency is None:
        subtotal = vat = total = Decimal(0)
    else:
        subtotal, vat, total = totals([line.amount for line in lines], vat_rate, currency)
    return ConsumptionView(person=login, period=billed.name, period_start=billed.start,
                           period_end=billed.end, currency=currency, lines=tuple(lines),
                           subtotal=str(subtotal), vat_rate=vat_rate, vat=str(vat),
                           total=str(total), unpriced=tuple(unpriced), vat_note=vat_note)
