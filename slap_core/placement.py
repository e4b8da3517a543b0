"""Placing a requested instance: a free partition for a regular one, a host for a shared one.

One path for every caller: a first request (with the values it just inserted, no ORM row yet), a
repeated request and the allocation pass (ORM rows). A regular instance takes its partition and
gets its new timestamp with Core statements (make bench, request part), and the computer of the
partition taken is named to :mod:`slap_core.revisions`, which is what an ORM flush would note. An
instance left waiting gets the reason as its status, cleared once it has its place.
"""

from dataclasses import dataclass

from sqlalchemy import bindparam, select, update

from slap_core.allocation import find_host, is_pending_status, pending_status, take_partition
from slap_core.clock import next_timestamp, now
from slap_core.lifecycle import bump
from slap_core.models import Computer, Partition, SoftwareInstance
from slap_core.revisions import note_computers

# Statements built once, on the tables (no ORM plugin): building them per request cost as much
# as running them.
_INSTANCE = SoftwareInstance.__table__
_SET_PLACED = update(_INSTANCE).where(_INSTANCE.c.id == bindparam("instance")).values(
    timestamp=bindparam("new_timestamp"), pending=False, status_text=bindparam("text"),
    status_at=bindparam("at"))
_SET_STATUS = update(_INSTANCE).where(_INSTANCE.c.id == bindparam("instance")).values(
    status_text=bindparam("text"), status_at=bindparam("at"))
_PARTITION_ROW = (
    select(Partition.id, Partition.reference, Computer.reference, Computer.id)
    .join(Computer, Partition.computer_id == Computer.id)
    .where(Partition.id == bindparam("partition"))
)
# What a regular instance's placement writes behind the ORM's back, reloaded when next read.
_WRITTEN = ("timestamp", "pending", "status_text", "status_at", "partition")


@dataclass(frozen=True)
class Placement:
    """A regular instance after placement: ``partition`` is (partition id, partition reference,
    computer reference) or None while it waits for ``reason``; its timestamp and status."""

    partition: tuple | None
    timestamp: int
    reason: str | None
    status_text: str | None
    status_at: float | None


def waiting_status(current, reason):
    """(status text, whether it changed) of an instance that waits for ``reason`` (None: placed)."""
    if reason is not None:
        text = pending_status(reason)
        return text, text != current
    if is_pending_status(current):
        return None, True
    return current, False


def place_regular(session, target):
    """Take a free partition for the regular instance ``target``; returns a Placement.

    ``target`` is an ORM row or a :class:`slap_core.instance_creation.NewInstance`: only its
    ``id``, ``sla``, ``release_id``, ``tree_id``, ``timestamp``, ``status_text`` and ``status_at``
    are read. Taking a partition bumps the timestamp, as :func:`slap_core.lifecycle.bump` does,
    and clears ``pending``.
    """
    partition_id, reason = take_partition(session, target)
    execute = session.connection().execute
    text, changed = waiting_status(target.status_text, reason)
    at = (now() if text is not None else None) if changed else target.status_at
    if partition_id is None:
        if changed:
            execute(_SET_STATUS, {"instance": target.id, "text": text, "at": at})
        return Placement(None, target.timestamp, reason, text, at)
    timestamp = next_timestamp(target.timestamp)
    execute(_SET_PLACED, {"instance": target.id, "new_timestamp": timestamp, "text": text,
                          "at": at})
    row = execute(_PARTITION_ROW, {"partition": partition_id}).one()
    note_computers(session, (row[3],))
    return Placement(tuple(row[:3]), timestamp, None, text, at)


def place(session, instance, software_type):
    """Place the ORM row ``instance`` if it waits; returns the reason it still waits, or None.

    A shared instance looks for a host (of ``software_type`` when given); a regular one takes a
    partition with :func:`place_regular`.
    """
    if not instance.shared:
        if instance.partition is not None:
            reason = None
        else:
            reason = place_regular(session, instance).reason
            session.expire(instance, _WRITTEN)
            return reason
    elif instance.host is not None:
        reason = None
    else:
        host, reason = find_host(session, instance, software_type)
        if host is not None:
            instance.host = host
            instance.pending = False
            bump(instance)
    text, changed = waiting_status(instance.status_text, reason)
    if changed:
        instance.status_text, instance.status_at = text, (now() if text is not None else None)
    return reason
