"""Price lists: what a subscription costs a month and what a unit of usage costs, in force from
a date on. Money is ``decimal.Decimal``, carried as decimal strings, never floats.

A list is never edited: a new one supersedes it from its own date, so what was priced keeps its
price. It has a default subscription price (no product, no release, not shared), optionally one
for shared instances, one per product and one per release (the most specific applies).
"""

import math
from decimal import Decimal, InvalidOperation

from sqlalchemy import bindparam, select

from slap_core import errors
from slap_core.access import require_admin, require_authenticated
from slap_core.clock import now
from slap_core.currencies import MINOR_UNITS
from slap_core.models import PriceList, SubscriptionPrice, UsagePrice
from slap_core.operations import operation
from slap_core.views import PriceListView, SubscriptionPriceView, UsagePriceView

MAX_PRICE = Decimal("1e12")
MAX_PLACES = 6
MAX_LINES = 10000


def bounded_decimal(text, what, *, below, signed=False, places=None):
    """The Decimal a number's text writes: finite, of absolute value below ``below`` (a power
    of ten), not negative unless ``signed``, with at most ``places`` decimal places; Invalid
    otherwise."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise errors.Invalid("%s is not a decimal number: %r" % (what, text[:40])) from None
    if not value.is_finite() or abs(value) >= below or (value < 0 and not signed):
        raise errors.Invalid("%s is finite%s and below 10^%d, not %r"
                             % (what, "" if signed else ", not negative", below.adjusted(),
                                text[:40]))
    if places is not None and -value.as_tuple().exponent > places:
        raise errors.Invalid("%s has more than %d decimal places" % (what, places))
    return value


def parse_amount(value, what):
    """A Decimal from a decimal string: finite, not negative, at most 6 places; Invalid else."""
    if isinstance(value, float):
        raise errors.Invalid("%s is a decimal string such as '42.00', not a float" % what)
    if not isinstance(value, str):
        raise errors.Invalid("%s is a decimal string such as '42.00'" % what)
    return bounded_decimal(value, what, below=MAX_PRICE, places=MAX_PLACES)


def _text(amount):
    return format(amount, "f")


def _mapping(item, what, known):
    if not isinstance(item, dict):
        raise errors.Invalid("each of %s is a structure" % what)
    unknown = sorted(set(item) - set(known))
    if unknown:
        raise errors.Invalid("%s take %s, not %s" % (what, ", ".join(known), ", ".join(unknown)))
    return item


def _optional_text(item, key, what):
    value = item.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 1024 or any(ord(c) < 32 for c in value):
        raise errors.Invalid("%s's %s is a string without control characters" % (what, key))
    return value


def _subscription_lines(subscriptions):
    if not isinstance(subscriptions, (list, tuple)) or len(subscriptions) > MAX_LINES:
        raise errors.Invalid("subscriptions is a list of prices")
    lines, seen = [], set()
    for item in subscriptions:
        item = _mapping(item, "subscription prices", ("product", "release", "shared", "monthly"))
        product = _optional_text(item, "product", "a subscription price")
        release = _optional_text(item, "release", "a subscription price")
        shared = item.get("shared", False)
        if not isinstance(shared, bool):
            raise errors.Invalid("a subscription price's shared is a boolean")
        if shared and (product or release):
            raise errors.Invalid("the price of shared instances names no product or release")
        key = (product, release, shared)
        if key in seen:
            raise errors.Invalid("two subscription prices for the same %s"
                                 % (release or product or ("shared instances" if shared
                                                          else "default")))
        seen.add(key)
        monthly = parse_amount(item.get("monthly"), "a monthly price")
        lines.append(SubscriptionPrice(product=product, release_url=release, shared=shared,
                                       monthly=_text(monthly)))
    if (None, None, False) not in seen:
        raise errors.Invalid("a price list has a default subscription price (no product, no "
                             "release, not shared)")
    return lines


def _usage_lines(usage):
    if not isinstance(usage, (list, tuple)) or len(usage) > MAX_LINES:
        raise errors.Invalid("usage is a list of prices")
    lines, seen = [], set()
    for item in usage:
        item = _mapping(item, "usage prices", ("resource", "unit", "unit_price"))
        resource = _optional_text(item, "resource", "a usage price")
        if resource is None or len(resource) > 255:
            raise errors.Invalid("a usage price names its resource (1 to 255 characters)")
        if resource in seen:
            raise errors.Invalid("two usage prices for %r" % resource)
        seen.add(resource)
        unit = _optional_text(item, "unit", "a usage price") or "unit"
        if len(unit) > 64:
            raise errors.Invalid("a usage price's unit is at most 64 characters")
        price = parse_amount(item.get("unit_price"), "a unit price")
        lines.append(UsagePrice(resource=resource, unit=unit, unit_price=_text(price)))
    return lines


def price_list_view(row):
    """The PriceListView of a price list row."""
    return PriceListView(
        currency=row.currency,
        vat_rate=row.vat_rate,
        effective_from=row.effective_from,
        subscriptions=tuple(SubscriptionPriceView(s.product, s.release_url, s.shared, s.monthly)
                            for s in row.subscriptions),
        usage=tuple(UsagePriceView(u.resource, u.unit, u.unit_price) for u in row.usage),
        created_at=row.created_at,
    )


# The list in force at ``at``: the latest to take effect by then. Built once.
IN_FORCE = (select(PriceList).where(PriceList.effective_from <= bindparam("at"))
            .order_by(PriceList.effective_from.desc(), PriceList.id.desc()).limit(1))


def price_list_at(session, instant):
    """The price list row in force at ``instant`` (seconds since the epoch), or None."""
    return session.scalar(IN_FORCE, {"at": instant})


@operation("pricing.set", writes=True, callers="admin", returns=PriceListView,
           raises=(errors.Invalid,))
def set_prices(session, principal, *, currency, vat_rate, subscriptions, usage=(),
               effective_from=None):
    """Publish a price list, in force from ``effective_from`` (now or later) until a later one.

    Prices are decimal strings; a float, a negative or an unknown currency is Invalid.
    """
    require_admin(principal)
    if not isinstance(currency, str) or currency not in MINOR_UNITS:
        raise errors.Invalid("a currency is an ISO 4217 code in use (EUR, USD, JPY...), not %r"
                             % (currency if isinstance(currency, str) else type(currency)))
    rate = parse_amount(vat_rate, "a VAT rate")
    if rate > 100:
        raise errors.Invalid("a VAT rate is a percentage from 0 to 100")
    start = now() if effective_from is None else effective_from
    if not math.isfinite(start) or start < now() - 1:
        raise errors.Invalid("a price list takes effect now or later, never in the past: what "
                             "was priced keeps its price")
    row = PriceList(currency=currency, vat_rate=_text(rate), effective_from=float(start),
                    subscriptions=_subscription_lines(subscriptions), usage=_usage_lines(usage))
    session.add(row)
    session.flush()
    return price_list_view(row)


@operation("pricing.get", writes=False, callers="any authenticated caller",
           returns=PriceListView, raises=(errors.NotFound,))
def get_prices(session, principal, *, at=None):
    """The price list in force at ``at`` (seconds since the epoch; default now)."""
    require_authenticated(principal)
    instant = now() if at is None else at
    if not math.isfinite(instant):
        raise errors.Invalid("at is a finite number of seconds since the epoch")
    row = price_list_at(session, instant)
    if row is None:
        raise errors.NotFound("no price list is in force at that time")
    return price_list_view(row)
