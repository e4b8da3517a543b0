"""A person's SyncML secret: what lets a device log in with ``syncml:auth-md5``.

SyncML's MD5 authentication sends ``B64(MD5(B64(MD5("login:password")) + ":" + nonce))``, which
the master can check only if it holds ``B64(MD5("login:password"))``. It never holds passwords
(scrypt hashes; a directory's passwords are the directory's), so a person who wants MD5 sets a
SyncML secret of its own, kept as that digest: a credential for SyncML's MD5 only, worth no more
than the secret it stands for. Basic authentication keeps working with the password or a token.
"""

import base64
import binascii
import hashlib
import hmac

from sqlalchemy import select

from slap_core import errors
from slap_core.access import person_for, require_user
from slap_core.models import Person
from slap_core.operations import operation
from slap_core.people import person_view
from slap_core.views import PersonView

MIN_SECRET, MAX_SECRET = 8, 1024


def md5_b64(data):
    """B64(MD5(data)) as text."""
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def md5_response(stored, nonce):
    """The credential a device sends for the stored digest and the raw ``nonce`` (bytes)."""
    return md5_b64(stored.encode("ascii") + b":" + nonce)


@operation("sync.set_secret", writes=True, callers="a user (their own)", returns=PersonView,
           raises=(errors.Invalid,))
def set_secret(session, principal, *, secret):
    """Set (or, empty, remove) your SyncML secret, for devices that log in with MD5."""
    user = require_user(principal)
    person = person_for(session, user)
    if secret == "":
        person.syncml_digest = None
    elif not isinstance(secret, str) or not MIN_SECRET <= len(secret) <= MAX_SECRET:
        raise errors.Invalid("a SyncML secret is %d to %d characters" % (MIN_SECRET, MAX_SECRET))
    else:
        person.syncml_digest = md5_b64(("%s:%s" % (user.login, secret)).encode("utf-8"))
    session.flush()
    return person_view(person)


@operation("sync.check_md5", writes=False, callers="anyone (used by the SyncML adaptor to log in)",
           returns=PersonView, raises=(errors.Unauthenticated,))
def check_md5(session, principal, *, login, nonce, response):
    """The person, when ``response`` is their SyncML MD5 credential for ``nonce``."""
    person = session.scalar(select(Person).where(Person.login == login))
    try:
        raw_nonce = base64.b64decode(nonce or "", validate=True)
    except (binascii.Error, ValueError):
        raise errors.Unauthenticated("malformed nonce") from None
    stored = person.syncml_digest if person is not None else None
    expected = md5_response(stored or "=" * 24, raw_nonce)
    if not hmac.compare_digest(expected.encode(), str(response).encode()) or stored is None:
        raise errors.Unauthenticated("bad login or SyncML secret")
    if person.disabled:
        raise errors.Unauthenticated("%s is disabled" % login)
    return person_view(person)
