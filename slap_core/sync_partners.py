"""SyncML partnerships: what each device of a person last agreed with the master, per store.

A SyncML session is incremental only when both sides remember the last one: each side's anchor,
which of the device's items is which of the master's, and what each item was then. The SyncML
adaptor reads a partnership when a session starts (``sync.get``) and writes it once the session
ended well (``sync.record``), never before (OMA DS: anchors change only at a session's end).
A person reads and writes only their own.
"""

from sqlalchemy import select

from slap_core import errors
from slap_core.access import person_for, person_id, require_user
from slap_core.clock import now
from slap_core.models import SyncPartnership
from slap_core.operations import operation
from slap_core.views import SyncPartnershipView

# How many items one partnership maps at most, and the longest id, anchor and digest.
MAX_ITEMS = 100000
MAX_ID = 255
MAX_ANCHOR = 64
MAX_DIGEST = 128


def _text(value, what, limit, shortest=1):
    if not isinstance(value, str) or not shortest <= len(value) <= limit or any(
            ord(c) < 32 or ord(c) == 127 for c in value):
        raise errors.Invalid("%s is a text of %s %d characters without control characters"
                             % (what, "1 to" if shortest else "at most", limit))
    return value


def _pairs(value, what, value_limit):
    value = value or {}
    if len(value) > MAX_ITEMS:
        raise errors.Invalid("%s holds at most %d items" % (what, MAX_ITEMS))
    for key, item in value.items():
        if not (isinstance(key, str) and 0 < len(key) <= MAX_ID and isinstance(item, str)
                and 0 < len(item) <= value_limit):
            raise errors.Invalid("%s maps ids of 1 to %d characters to texts of 1 to %d"
                                 % (what, MAX_ID, value_limit))
    return dict(value)


def _view(device, store, row):
    if row is None:
        return SyncPartnershipView(device=device, store=store, client_anchor="",
                                   server_anchor="", mapping={}, digests={}, synced_at=None)
    return SyncPartnershipView(device=row.device, store=row.store,
                               client_anchor=row.client_anchor, server_anchor=row.server_anchor,
                               mapping=dict(row.mapping), digests=dict(row.digests),
                               synced_at=row.synced_at)


def _row(session, owner, device, store):
    return session.scalar(select(SyncPartnership).where(
        SyncPartnership.person_id == owner, SyncPartnership.device == device,
        SyncPartnership.store == store))


@operation("sync.get", writes=False, callers="a user (their own devices)",
           returns=SyncPartnershipView, raises=(errors.Invalid,))
def get_partnership(session, principal, *, device, store):
    """What one of your SyncML devices last agreed about a store (empty anchors: never)."""
    user = require_user(principal)
    device, store = _text(device, "a device id", MAX_ID), _text(store, "a store name", 64)
    return _view(device, store, _row(session, person_id(session, user), device, store))


@operation("sync.record", writes=True, callers="a user (their own devices)",
           returns=SyncPartnershipView, raises=(errors.Invalid,))
def record_partnership(session, principal, *, device, store, client_anchor, server_anchor,
                       mapping=None, digests=None):
    """Remember what a SyncML session of one of your devices ended with (anchors, map,
    digests), replacing what the last one did."""
    user = require_user(principal)
    device, store = _text(device, "a device id", MAX_ID), _text(store, "a store name", 64)
    values = dict(client_anchor=_text(client_anchor, "the device's anchor", MAX_ANCHOR, 0),
                  server_anchor=_text(server_anchor, "the master's anchor", MAX_ANCHOR, 0),
                  mapping=_pairs(mapping, "the item map", MAX_ID),
                  digests=_pairs(digests, "the item digests", MAX_DIGEST), synced_at=now())
    owner = person_for(session, user).id
    row = _row(session, owner, device, store)
    if row is None:
        row = SyncPartnership(person_id=owner, device=device, store=store, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()
    return _view(device, store, row)
