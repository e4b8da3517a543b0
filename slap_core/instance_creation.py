"""Inserting a requested instance with Core statements: the first step of a first request.

A first request of a title inserts the instance (and, for a root, its tree) in a handful of
statements instead of the ORM's flushes (make bench, request part); :mod:`slap_core.placement`
then places it and :func:`slap_core.instance_views.build_view` answers from the values inserted.
A new instance shows on no poll until it has a partition, so nothing is noted for revisions here.
"""

from dataclasses import dataclass

from sqlalchemy import bindparam, insert, update

from slap_core.clock import next_timestamp, now
from slap_core.models import InstanceTree, SoftwareInstance


# Statements built once, on the tables (no ORM plugin): building them per request cost as much
# as running them.
_TREE = InstanceTree.__table__
_INSTANCE = SoftwareInstance.__table__
_INSERT_TREE = insert(_TREE)
_INSERT_INSTANCE = insert(_INSTANCE)
_SET_REFERENCE = update(_INSTANCE).where(_INSTANCE.c.id == bindparam("instance")).values(
    reference=bindparam("new_reference"))
_SET_ROOT = update(_TREE).where(_TREE.c.id == bindparam("tree")).values(
    root_instance_id=bindparam("root"))


@dataclass(frozen=True)
class NewInstance:
    """A freshly inserted instance: its id and the values placement and the answer read (it
    has no status yet)."""

    id: int
    reference: str
    tree_id: int
    sla: dict
    release_id: int
    timestamp: int
    created_at: float
    status_text: str | None = None
    status_at: float | None = None


def insert_instance(session, *, scope, person, tree, requester, title, release, software_type,
                    parameters, sla, state, shared):
    """Insert a new instance, and its tree when ``tree`` is None (a root); returns a NewInstance.

    It is ``pending`` until the caller places it; the tree's root is set for a new tree.
    """
    execute = session.connection().execute
    created_at = now()
    tree_id = tree.id if tree is not None else execute(_INSERT_TREE, {
        "owner_id": person.id, "title": title, "archived": False,
        "created_at": created_at}).inserted_primary_key[0]
    timestamp = next_timestamp(0)
    instance_id = execute(_INSERT_INSTANCE, {
        "title": title,
        "request_scope": scope,
        "tree_id": tree_id,
        "requester_instance_id": requester.id if requester is not None else None,
        "release_id": release.id,
        "software_type": software_type or "default",
        "parameters": parameters or {},
        "sla": sla or {},
        "requested_state": state or "started",
        "shared": bool(shared),
        "connection": {},
        "timestamp": timestamp,
        "archived": False,
        "created_at": created_at,
        "pending": True,
    }).inserted_primary_key[0]
    reference = "SOFTINST-%d" % instance_id
    execute(_SET_REFERENCE, {"instance": instance_id, "new_reference": reference})
    if tree is None:
        execute(_SET_ROOT, {"tree": tree_id, "root": instance_id})
    return NewInstance(instance_id, reference, tree_id, dict(sla or {}), release.id, timestamp,
                       created_at)
