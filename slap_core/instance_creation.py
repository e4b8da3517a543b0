"""Creating a requested instance with Core statements: the hot path of ``instance.request``.

A first request of a title inserts the instance (and, for a root, its tree), takes a partition and
answers, in a handful of statements instead of the ORM's four flushes and the lazy loads of the
answer (make bench, request part). The rows and the answer are the ones the ORM path gave; the
computer of the partition taken is named to :mod:`slap_core.revisions`, which is what the ORM
flushes noted (a new instance shows on no poll until it has a partition).
"""

from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update

from slap_core.allocation import pending_status, take_partition
from slap_core.clock import next_timestamp, now
from slap_core.models import Computer, InstanceTree, Partition, PartitionAddress, SoftwareInstance
from slap_core.partition_views import effective_state, ip_lists
from slap_core.revisions import note_computers
from slap_core.views import InstanceView


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
_SET_PLACED = update(_INSTANCE).where(_INSTANCE.c.id == bindparam("instance")).values(
    timestamp=bindparam("new_timestamp"), pending=False)
_SET_STATUS = update(_INSTANCE).where(_INSTANCE.c.id == bindparam("instance")).values(
    status_text=bindparam("text"), status_at=bindparam("at"))
_PARTITION_ROW = (
    select(Partition.id, Partition.reference, Computer.reference, Computer.id)
    .join(Computer, Partition.computer_id == Computer.id)
    .where(Partition.id == bindparam("partition"))
)
_ADDRESSES = (
    select(PartitionAddress.network_interface, PartitionAddress.address,
           PartitionAddress.netmask, PartitionAddress.gateway, PartitionAddress.network)
    .where(PartitionAddress.partition_id == bindparam("partition"))
    .order_by(PartitionAddress.id)
)


@dataclass(frozen=True)
class NewInstance:
    """A freshly inserted instance: its id and the values allocation and the answer read."""

    id: int
    reference: str
    tree_id: int
    sla: dict
    release_id: int
    timestamp: int
    created_at: float


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


def place_regular(session, new):
    """Take a partition for a new regular instance; (partition row or None, timestamp, reason,
    the time its waiting status was set or None).

    The partition row is (partition id, partition reference, computer reference); taking one
    bumps the instance's timestamp, as :func:`slap_core.lifecycle.bump` does, and clears its
    ``pending`` flag. An instance left waiting gets the reason as its status.
    """
    partition_id, reason = take_partition(session, new)
    if partition_id is None:
        at = now()
        session.connection().execute(_SET_STATUS, {"instance": new.id, "at": at,
                                                   "text": pending_status(reason)})
        return None, new.timestamp, reason, at
    execute = session.connection().execute
    timestamp = next_timestamp(new.timestamp)
    execute(_SET_PLACED, {"instance": new.id, "new_timestamp": timestamp})
    row = execute(_PARTITION_ROW, {"partition": partition_id}).one()
    note_computers(session, (row[3],))
    return row[:3], timestamp, None, None


def new_regular_view(session, new, *, title, tree_title, owner, release_url, software_type,
                     parameters, state, root_state, requester, partition, timestamp,
                     status_text=None, status_at=None, created=False):
    """The InstanceView of a new regular instance, as ``instance_view`` would read it back."""
    ip_list, full_ip_list = (), ()
    if partition is not None:
        ip_list, full_ip_list = ip_lists(session.connection().execute(
            _ADDRESSES, {"partition": partition[0]}).all())
    requested_state = state or "started"
    return InstanceView(
        reference=new.reference,
        title=title,
        tree=tree_title,
        owner=owner,
        software_release=release_url,
        software_type=software_type or "default",
        parameters=dict(parameters or {}),
        sla=dict(new.sla),
        requested_state=requested_state,
        state=effective_state(requested_state, root_state or requested_state),
        shared=False,
        allocated=partition is not None,
        computer=partition[2] if partition is not None else None,
        partition=partition[1] if partition is not None else None,
        host=None,
        requester=requester.reference if requester is not None else None,
        connection={},
        timestamp=timestamp,
        status_text=status_text,
        status_at=status_at,
        ip_list=ip_list,
        full_ip_list=full_ip_list,
        archived=False,
        created_at=new.created_at,
        created=created,
    )
