"""Who invoices name: the seller (the master's own identity, one for the master) and each
person's billing profile (country, organisation and VAT number for a business, address, email).

A person sets their own profile, an admin anyone's; an accountant reads them. Only an admin
sets the seller; any authenticated caller reads it. Invoices copy both as they are at issue
(:func:`seller_snapshot`, :func:`buyer_snapshots`), and :mod:`slap_core.vat` picks the VAT rate
from their countries.
"""

import re

from sqlalchemy import select

from slap_core import errors
from slap_core.access import (
    accounts_read,
    person_for,
    require_admin,
    require_authenticated,
    require_user,
)
from slap_core.clock import now
from slap_core.countries import COUNTRIES
from slap_core.models import BillingProfile, Person, Seller
from slap_core.operations import operation
from slap_core.vat import vat_for
from slap_core.views import BillingProfileView, SellerView

_VAT_CODE = re.compile(r"\A[A-Z]{2}[0-9A-Z+*]{2,13}\Z")
_SEPARATORS = re.compile(r"[\s.\-]")


def _country(value):
    if not isinstance(value, str) or value.strip().upper() not in COUNTRIES:
        raise errors.Invalid("a country is an ISO 3166 code (FR, DE, US...), not %r"
                             % (value[:20] if isinstance(value, str) else type(value).__name__))
    return value.strip().upper()


def _vat_code(value):
    """A VAT number without its separators, upper case; None for none; Invalid when it is not
    two letters and 2 to 13 letters or digits."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    code = _SEPARATORS.sub("", value).upper() if isinstance(value, str) else None
    if code is None or not _VAT_CODE.match(code):
        raise errors.Invalid("a VAT number is its country prefix and 2 to 13 letters or digits "
                             "(FR40303265045), not %r" % (str(value)[:40],))
    return code


def bounded_text(value, what, limit, required=False):
    """``value`` stripped; None when absent or blank (Invalid then if ``required``); Invalid when
    longer than ``limit`` or holding a NUL."""
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise errors.Invalid("%s is a text of 1 to %d characters" % (what, limit))
    if "\x00" in value:
        raise errors.Invalid("%s holds no NUL character" % what)
    return value.strip()


def _email(value):
    email = bounded_text(value, "an email address", 255)
    if email is not None and not re.match(r"\A[^@\s]+@[^@\s]+\Z", email):
        raise errors.Invalid("an email address is name@domain, not %r" % email[:60])
    return email


def _profile_view(login, row):
    return BillingProfileView(person=login, country=row.country, organisation=row.organisation,
                              vat_code=row.vat_code, address=row.address, email=row.email)


@operation("billing.set_profile", writes=True,
           callers="users (their own), admin (anyone's)", returns=BillingProfileView,
           raises=(errors.Invalid, errors.NotFound))
def set_profile(session, principal, *, country, login=None, organisation=None, vat_code=None,
                address=None, email=None):
    """Set the billing profile invoices are made out to (what is left out is cleared)."""
    user = require_user(principal)
    login = login or user.login
    if login != user.login and not user.is_admin:
        raise errors.Forbidden("only an admin may set another person's billing profile")
    values = dict(country=_country(country),
                  organisation=bounded_text(organisation, "an organisation", 255),
                  vat_code=_vat_code(vat_code), address=bounded_text(address, "an address", 1000),
                  email=_email(email))
    if login == user.login:
        person = person_for(session, user)
    else:
        person = session.scalar(select(Person).where(Person.login == login))
        if person is None:
            raise errors.NotFound("no person %r" % (login,))
    row = session.scalar(select(BillingProfile).where(BillingProfile.person_id == person.id))
    if row is None:
        row = BillingProfile(person_id=person.id, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    row.updated_at = now()
    session.flush()
    return _profile_view(login, row)


@operation("billing.get_profile", writes=False,
           callers="users (their own), admin and accountant (anyone's)",
           returns=BillingProfileView, raises=((errors.NotFound, "none set"),))
def get_profile(session, principal, *, login=None):
    """A person's billing profile (yours by default); NotFound when none was set."""
    login = login or require_user(principal).login
    person = accounts_read(session, principal, login, "billing profiles")
    row = session.scalar(select(BillingProfile).where(BillingProfile.person_id == person))
    if row is None:
        raise errors.NotFound("%s has no billing profile" % login)
    return _profile_view(login, row)


def _seller_view(row):
    return SellerView(name=row.name, country=row.country, address=row.address,
                      registration=row.registration, vat_code=row.vat_code, email=row.email)


@operation("billing.set_seller", writes=True, callers="admin", returns=SellerView,
           raises=(errors.Invalid,))
def set_seller(session, principal, *, legal_name, country, address=None, registration=None,
               vat_code=None, email=None):
    """Set who the master's invoices come from (what is left out is cleared)."""
    require_admin(principal)
    values = dict(name=bounded_text(legal_name, "a seller's name", 255, required=True),
                  country=_country(country), address=bounded_text(address, "an address", 1000),
                  registration=bounded_text(registration, "a registration code", 64),
                  vat_code=_vat_code(vat_code), email=_email(email))
    row = session.get(Seller, 1)
    if row is None:
        row = Seller(id=1, **values)
        session.add(row)
    else:
        for field, value in values.items():
            setattr(row, field, value)
    row.updated_at = now()
    session.flush()
    return _seller_view(row)


@operation("billing.get_seller", writes=False, callers="anyone authenticated",
           returns=SellerView, raises=((errors.NotFound, "none set"),))
def get_seller(session, principal):
    """Who the master's invoices come from; NotFound until an admin sets it."""
    require_authenticated(principal)
    row = session.get(Seller, 1)
    if row is None:
        raise errors.NotFound("no seller is set: an admin sets it (billing.set_seller)")
    return _seller_view(row)


def seller_snapshot(session):
    """The seller as invoices copy it (a dict of its non-empty fields), or None when unset."""
    row = session.get(Seller, 1)
    if row is None:
        return None
    return {name: value for name, value in (
        ("name", row.name), ("country", row.country), ("address", row.address),
        ("registration", row.registration), ("vat_code", row.vat_code), ("email", row.email))
        if value}


def buyer_snapshots(session, person_ids):
    """{person id: the buyer as invoices copy it}: login and name, and the billing profile's
    fields when there is one (the person's email otherwise)."""
    rows = session.execute(
        select(Person.id, Person.login, Person.full_name, Person.email, BillingProfile)
        .outerjoin(BillingProfile, BillingProfile.person_id == Person.id)
        .where(Person.id.in_(person_ids)))
    found = {}
    for person, login, full_name, email, profile in rows:
        buyer = {"login": login, "name": full_name or login}
        if profile is not None:
            buyer.update((name, value) for name, value in (
                ("organisation", profile.organisation), ("address", profile.address),
                ("country", profile.country), ("vat_code", profile.vat_code),
                ("email", profile.email)) if value)
        if "email" not in buyer and email:
            buyer["email"] = email
        found[person] = buyer
    return found


def vat_of(seller, buyer, list_rate):
    """(VAT rate, note) of an invoice from ``seller`` to ``buyer`` (snapshots; the seller None
    when unset) under a price list whose rate is ``list_rate`` (see :mod:`slap_core.vat`)."""
    return vat_for((seller or {}).get("country"), buyer.get("country"), buyer.get("vat_code"),
                   list_rate)
