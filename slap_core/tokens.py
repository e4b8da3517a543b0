"""Personal API tokens: long random secrets a person gives scripts instead of their password.

A token is ``sgt_<reference>_<secret>``: the reference (16 hex digits) finds its row, and the
SHA-256 digest of the whole token is compared with the stored one in constant time. A fast hash is
right here, unlike for passwords: the secret is 256 random bits, so there is nothing to guess.
Only the digest is stored; the token itself is in the answer of ``token.create`` and nowhere else.

A token stands for its owner with the roles of the owner's person row, as a user certificate does.
People from a directory (LDAP, SSO) get that row when slapgate first sees them, with the roles
they had then; a token does not follow later changes in the directory, so an admin revokes the
tokens of people who leave (``token.list`` with their login, then ``token.revoke``).
"""

import hashlib
import hmac
import re
import secrets

from sqlalchemy import select

from slap_core import errors
from slap_core.access import person_for, person_id, require_user
from slap_core.clock import now
from slap_core.models import ApiToken, Person
from slap_core.operations import operation
from slap_core.views import TokenIdentity, TokenView

PREFIX = "sgt_"
MAX_TOKEN = 256
# At most ten years; longer lives are what "never" (no expiry) is for.
MAX_LIFETIME = 10 * 366 * 86400.0
# last_used_at is written at most this often per token, so that busy scripts do not write a row
# on every call.
LAST_USED_RESOLUTION = 60.0
_SHAPE = re.compile(r"sgt_([0-9a-f]{16})_[A-Za-z0-9_-]{20,200}")


def looks_like_token(text):
    """True when ``text`` has the ``sgt_`` prefix of an API token (not that it is a valid one)."""
    return isinstance(text, str) and text.startswith(PREFIX)


def digest(token):
    """The hex SHA-256 digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_view(row, secret=None):
    """The TokenView of an ApiToken row (``secret`` only when it was just created)."""
    return TokenView(reference=row.reference, label=row.label, login=row.person.login,
                     created_at=row.created_at, expires_at=row.expires_at,
                     last_used_at=row.last_used_at, revoked_at=row.revoked_at, secret=secret)


def _lifetime(expires_in):
    if expires_in is None:
        return None
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) \
            or not 0 < expires_in <= MAX_LIFETIME:
        raise errors.Invalid("expires_in is a number of seconds, more than 0 and at most %d"
                             % MAX_LIFETIME)
    return float(expires_in)


def _label(label):
    if not isinstance(label, str) or not label.strip() or len(label) > 255 \
            or any(ord(c) < 32 for c in label):
        raise errors.Invalid("a token label is 1 to 255 printable characters")
    return label.strip()


@operation("token.create", writes=True, callers="any user (their own tokens), admin (anyone's)",
           returns=TokenView, raises=(errors.Invalid, errors.NotFound))
def create(session, principal, *, label, login=None, expires_in=None):
    """Create a personal API token; the answer is the only place its secret appears."""
    user = require_user(principal)
    label = _label(label)
    lifetime = _lifetime(expires_in)
    if not login or login == user.login:
        person = person_for(session, user)
    elif not user.is_admin:
        raise errors.Forbidden("only an admin may create tokens for someone else")
    else:
        person = session.scalar(select(Person).where(Person.login == login))
        if person is None:
            raise errors.NotFound("no person %r" % (login,))
    reference = secrets.token_hex(8)
    token = "%s%s_%s" % (PREFIX, reference, secrets.token_urlsafe(32))
    moment = now()
    row = ApiToken(reference=reference, person=person, label=label, secret_hash=digest(token),
                   created_at=moment,
                   expires_at=moment + lifetime if lifetime is not None else None)
    session.add(row)
    session.flush()
    return token_view(row, secret=token)


@operation("token.list", writes=False,
           callers="any user (their own tokens), admin (anyone's, or one person's)",
           returns=[TokenView], raises=(errors.NotFound,))
def list_tokens(session, principal, *, login=None, include_revoked=False):
    """List API tokens, newest first, without their secrets."""
    user = require_user(principal)
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    if login and login != user.login:
        if not user.is_admin:
            raise errors.Forbidden("only an admin may list someone else's tokens")
        owner = session.scalar(select(Person.id).where(Person.login == login))
        if owner is None:
            raise errors.NotFound("no person %r" % (login,))
        query = query.where(ApiToken.person_id == owner)
    elif login or not user.is_admin:
        query = query.where(ApiToken.person_id == person_id(session, user))
    return [token_view(row) for row in session.scalars(query)]


@operation("token.revoke", writes=True, callers="the token's owner, admin",
           returns=TokenView, raises=(errors.NotFound,))
def revoke(session, principal, *, reference):
    """Revoke an API token by reference; it is refused from the next call on."""
    user = require_user(principal)
    row = session.scalar(select(ApiToken).where(ApiToken.reference == str(reference)))
    if row is None or not (user.is_admin or row.person.login == user.login):
        raise errors.NotFound("no token %r" % (reference,))
    if row.revoked_at is None:
        row.revoked_at = now()
    return token_view(row)


@operation("token.authenticate", writes=True,
           callers="anyone (used by the gateway for callers presenting a token)",
           returns=TokenIdentity,
           raises=((errors.Unauthenticated,
                    "malformed, unknown, revoked, expired, another login's"),))
def authenticate(session, principal, *, token, login=None):
    """Who an API token stands for; Unauthenticated when malformed, unknown, revoked or expired.

    ``login``, when given (the HTTP Basic user name sent with the token), must be the owner's.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN:
        raise errors.Unauthenticated("malformed API token")
    shape = _SHAPE.fullmatch(token)
    if shape is None:
        raise errors.Unauthenticated("malformed API token")
    row = session.scalar(select(ApiToken).where(ApiToken.reference == shape.group(1)))
    # compare_digest is given equal-length values either way, so a miss costs what a hit does.
    expected = row.secret_hash if row is not None else "0" * 64
    if not hmac.compare_digest(digest(token), expected) or row is None:
        raise errors.Unauthenticated("unknown API token")
    moment = now()
    if row.revoked_at is not None:
        raise errors.Unauthenticated("API token %s was revoked" % row.reference)
    if row.expires_at is not None and row.expires_at <= moment:
        raise errors.Unauthenticated("API token %s expired" % row.reference)
    if row.person.disabled:
        raise errors.Unauthenticated("API token %s is a disabled person's" % row.reference)
    if login and login != row.person.login:
        raise errors.Unauthenticated("API token %s is not %s's" % (row.reference, login))
    if row.last_used_at is None or moment - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = moment
    return TokenIdentity(login=row.person.login, roles=tuple(row.person.roles or ("user",)),
                         reference=row.reference)
