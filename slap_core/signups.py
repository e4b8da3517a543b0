"""Sign-up: people ask for an account, confirm their address, and are accepted (by an admin,
or at once when the master says so), which creates the person with the ``user`` role.

Off unless the master's :class:`SignupSettings` give a ``mode`` (an integration gateway usually
gets its people from a directory or an SSO provider). With mail (an ``[smtp]`` section), a
request is ``unconfirmed`` until the key mailed to its address comes back (``signup.confirm``),
within a week; without mail it waits for an admin (``pending``) whatever the mode. Login and
email are unique among people and live requests; requests are throttled per caller address.
"""

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from slap_core import errors
from slap_core.access import require_admin
from slap_core.billing_profiles import _country, set_profile
from slap_core.clock import now
from slap_core.models import Person, SignupRequest
from slap_core.operations import operation
from slap_core.outbox import queue
from slap_core.passwords import hash_password
from slap_core.people import _check_password, _contact
from slap_core.principals import User
from slap_core.views import SignupView

MODES = ("approval", "automatic")
KEY_LIFETIME = 7 * 86400.0
SIGNUP = "signup"  # the key of a master's SignupSettings in session.info
MAX_LIST = 10000


@dataclass(frozen=True)
class SignupSettings:
    """How a master takes sign-ups: ``mode`` (None: closed, ``approval`` or ``automatic``),
    ``mail`` (whether it can send mail: the address is then confirmed first), ``public_url``
    (the dashboard's address, which the mailed links point to) and ``per_hour`` (requests one
    address may make in an hour)."""

    mode: str | None = None
    mail: bool = False
    public_url: str = ""
    per_hour: int = 5


def settings(session):
    """The master's SignupSettings."""
    return session.info.get(SIGNUP) or SignupSettings()


def _digest(key):
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _state(row):
    if row.state == "unconfirmed" and row.created_at < now() - KEY_LIFETIME:
        return "expired"
    return row.state


def _view(row):
    return SignupView(reference=row.reference, login=row.login, email=row.email,
                      full_name=row.full_name, organisation=row.organisation,
                      country=row.country, state=_state(row), created_at=row.created_at,
                      confirmed_at=row.confirmed_at, decided_at=row.decided_at,
                      decided_by=row.decided_by, reason=row.reason)


def _live(query):
    """Requests that still hold their login and email: pending, or unconfirmed in their week."""
    return query.where(or_(SignupRequest.state == "pending",
                           (SignupRequest.state == "unconfirmed")
                           & (SignupRequest.created_at >= now() - KEY_LIFETIME)))


def _check_free(session, login, email):
    if session.scalar(select(Person.id).where(Person.login == login)) is not None or \
            session.scalar(_live(select(SignupRequest.id).where(
                SignupRequest.login == login))) is not None:
        raise errors.Conflict("the login %r is taken" % (login,))
    lowered = email.lower()
    if session.scalar(select(Person.id).where(func.lower(Person.email) == lowered)) \
            is not None or session.scalar(_live(select(SignupRequest.id).where(
                func.lower(SignupRequest.email) == lowered))) is not None:
        raise errors.Conflict("the email address %r is taken" % (email,))


def _throttle(session, principal, config):
    address = getattr(principal, "address", None)
    recent = session.scalar(select(func.count()).select_from(SignupRequest).where(
        SignupRequest.requested_from.is_(None) if address is None
        else SignupRequest.requested_from == address,
        SignupRequest.created_at >= now() - 3600))
    # Callers whose address the face does not give share one, larger, allowance.
    if recent >= config.per_hour * (1 if address is not None else 20):
        raise errors.TooManyRequests("too many sign-ups from this address: try again later",
                                     retry_after=3600)
    return address


def _link(config, path):
    return config.public_url.rstrip("/") + path


@operation("signup.request", writes=True, callers="anyone, when sign-up is open",
           returns=SignupView,
           raises=((errors.Conflict, "the login or email is taken"),
                   (errors.Invalid, "a login, email or password the rules refuse"),
                   (errors.TooManyRequests, "too many sign-ups from the caller's address")))
def request_signup(session, principal, *, login, email, password, full_name="",
                   organisation="", country=None):
    """Ask for an account; with mail, a key goes to the address to confirm it."""
    config = settings(session)
    if config.mode is None:
        raise errors.Forbidden("sign-up is closed on this master")
    if not isinstance(login, str) or not 0 < len(login) <= 255 or login != login.strip() \
            or any(ord(c) < 32 or ord(c) == 127 for c in login):
        raise errors.Invalid("a login is 1 to 255 characters without surrounding spaces or "
                             "control characters")
    if not isinstance(password, str) or not 8 <= len(password) <= 1024:
        raise errors.Invalid("a password is 8 to 1024 characters")
    _check_password(password)
    contact = _contact(email=email, full_name=full_name, organisation=organisation)
    if not contact.get("email"):
        raise errors.Invalid("an email address is required")
    if country is not None:
        country = _country(country)
    email = contact["email"]
    _check_free(session, login, email)
    address = _throttle(session, principal, config)
    key = secrets.token_urlsafe(24) if config.mail else None
    row = SignupRequest(
        login=login, email=email, full_name=contact.get("full_name", ""),
        organisation=contact.get("organisation", ""), country=country,
        password_hash=hash_password(password), state="unconfirmed" if key else "pending",
        key_digest=_digest(key) if key else None, requested_from=address, created_at=now())
    session.add(row)
    session.flush()
    row.reference = "SIGNUP-%d" % row.id
    if key:
        queue(session, email, "Confirm your address to open your account", (
            "Hello %s,\n\nSomeone (you, we hope) asked for the account %r with this address.\n"
            "Confirm it within 7 days by opening:\n\n  %s\n\nor by sending this key to the "
            "master's signup.confirm operation:\n\n  %s\n\nIf it was not you, ignore this "
            "mail: nothing happens.\n") % (row.full_name or login, login,
                                           _link(config, "/signup/confirm?key=" + key), key))
    session.flush()
    return _view(row)


def _accept(session, row, decided_by, config):
    if session.scalar(select(Person.id).where(Person.login == row.login)) is not None:
        raise errors.Conflict("the login %r was taken meanwhile" % (row.login,))
    session.add(Person(login=row.login, password_hash=row.password_hash, roles=["user"],
                       full_name=row.full_name, email=row.email,
                       organisation=row.organisation))
    session.flush()
    if row.country:
        set_profile(session, User(decided_by or row.login, {"admin"}), country=row.country,
                    login=row.login, organisation=row.organisation or None, email=row.email)
    row.state, row.decided_at, row.decided_by = "accepted", now(), decided_by
    if config.mail:
        queue(session, row.email, "Your account is open", (
            "Hello %s,\n\nYour account %r is open: log in at\n\n  %s\n")
            % (row.full_name or row.login, row.login, _link(config, "/login")))


@operation("signup.confirm", writes=True, callers="anyone (with the mailed key)",
           returns=SignupView,
           raises=((errors.NotFound, "no such key, or it expired or was used"),
                   (errors.Conflict, "the login was taken meanwhile")))
def confirm_signup(session, principal, *, key):
    """Confirm a sign-up's address with the key mailed to it: the account opens at once on an
    automatic master, else it waits for an admin."""
    config = settings(session)
    row = None
    if isinstance(key, str) and 0 < len(key) <= 256:
        row = session.scalar(select(SignupRequest).where(
            SignupRequest.key_digest == _digest(key)))
    if row is None or _state(row) != "unconfirmed":
        raise errors.NotFound("no sign-up waits for this key (wrong, used or older than a "
                              "week)")
    row.confirmed_at, row.key_digest = now(), None
    if config.mode == "automatic":
        _accept(session, row, None, config)
    else:
        row.state = "pending"
        admins = session.scalars(select(Person).where(Person.email != ""))
        for admin in admins:
            if "admin" in (admin.roles or ()) and not admin.disabled:
                queue(session, admin.email, "A sign-up waits for approval: %s" % row.login,
                      "%s (%s) asks for the account %r: accept or reject %s at\n\n  %s\n"
                      % (row.full_name or row.login, row.email, row.login, row.reference,
                         _link(config, "/admin/signups")))
    session.flush()
    return _view(row)


def _row(session, reference):
    row = session.scalar(select(SignupRequest).where(SignupRequest.reference == reference)) \
        if isinstance(reference, str) else None
    if row is None:
        raise errors.NotFound("no sign-up %r" % (str(reference)[:64],))
    return row


@operation("signup.list", writes=False, callers="admin", returns=[SignupView],
           raises=((errors.Invalid, "an unknown state"),))
def list_signups(session, principal, *, state=None):
    """Sign-up requests, newest first; ``state`` keeps one kind (pending: those to decide)."""
    require_admin(principal)
    states = ("unconfirmed", "pending", "accepted", "rejected", "expired")
    if state is not None and state not in states:
        raise errors.Invalid("a sign-up's state is one of %s" % ", ".join(states))
    rows = session.scalars(select(SignupRequest).order_by(SignupRequest.id.desc())
                           .limit(MAX_LIST))
    return [view for view in map(_view, rows) if state is None or view.state == state]


@operation("signup.accept", writes=True, callers="admin", returns=SignupView,
           raises=((errors.NotFound, "no such sign-up"),
                   (errors.Conflict, "not pending, or the login was taken meanwhile")))
def accept_signup(session, principal, *, reference):
    """Accept a pending sign-up: the person is created with the user role (and the billing
    profile of the country given), and told so by mail."""
    admin = require_admin(principal)
    row = _row(session, reference)
    if _state(row) != "pending":
        raise errors.Conflict("sign-up %s is %s, not pending" % (row.reference, _state(row)))
    _accept(session, row, admin.login, settings(session))
    session.flush()
    return _view(row)


@operation("signup.reject", writes=True, callers="admin", returns=SignupView,
           raises=((errors.NotFound, "no such sign-up"),
                   (errors.Conflict, "already accepted or rejected")))
def reject_signup(session, principal, *, reference, reason=None):
    """Reject a sign-up (with a reason, told by mail to a confirmed address)."""
    admin = require_admin(principal)
    row = _row(session, reference)
    if row.state in ("accepted", "rejected"):
        raise errors.Conflict("sign-up %s is %s already" % (row.reference, row.state))
    if reason is not None and (not isinstance(reason, str) or len(reason) > 2000):
        raise errors.Invalid("a reason is a text of at most 2000 characters")
    row.state, row.decided_at, row.decided_by, row.reason = "rejected", now(), admin.login, reason
    row.key_digest = None
    if settings(session).mail and row.confirmed_at is not None:
        queue(session, row.email, "Your sign-up was declined",
              "Hello %s,\n\nYour request for the account %r was declined.%s\n"
              % (row.full_name or row.login, row.login,
                 ("\nReason: %s" % reason) if reason else ""))
    session.flush()
    return _view(row)

