"""Allocation: choose a free partition for an instance, or a host for a shared instance.

The rules are the SlapOS master's (``Person_findPartition``): a free partition of a computer whose
allocation scope is ``open`` and to which the release is supplied (requested is enough, built or
not), filtered by the SLA keys of :mod:`slap_core.sla`. Unknown SLA keys, an unknown ``mode`` and
``instance_guid`` on a regular instance allocate nothing.

Taking a partition is a compare-and-set ``UPDATE ... WHERE slap_state = 'free'``: of two concurrent
transactions only one sees its row updated; the loser moves on to the next candidate. This holds on
SQLite (write transactions are serialised by BEGIN IMMEDIATE) and on PostgreSQL (the second UPDATE
waits for the first and re-checks its WHERE clause), with the unique ``partition.instance_id`` as a
last guard.

An instance that gets no partition says why (:func:`why_unplaced`), and keeps it as its status
(:func:`pending_status`) until it is placed: the SLA's computer does not exist or is closed, the
release is supplied on no open computer, or every partition is taken.
"""

from sqlalchemy import bindparam, insert, select, update

from slap_core.clock import now
from slap_core.models import Computer, Partition, PartitionTenancy, SoftwareInstance, Supply
from slap_core.sla import CATEGORY_KEYS, MODES, unknown_keys

CANDIDATE_BATCH = 32
PENDING = "#pending "


def pending_status(reason):
    """The status text of an instance waiting for a partition or a host because of ``reason``."""
    return PENDING + reason


def is_pending_status(text):
    """Whether ``text`` is a status :func:`pending_status` wrote (cleared once placed)."""
    return bool(text) and text.startswith(PENDING)


def refusal(sla, shared):
    """Why this SLA can never be satisfied, or None."""
    unknown = unknown_keys(sla)
    if unknown:
        return "unknown SLA key(s): %s" % ", ".join(unknown)
    if sla.get("mode") and sla["mode"] not in MODES:
        return "unknown SLA mode %r" % (sla["mode"],)
    if not shared and sla.get("instance_guid"):
        return "instance_guid only places shared instances"
    return None


def _category_matches(wanted, actual):
    # A node in category "x86/x86_32" is in "x86"; a node in "x86" is not in "x86/x86_32".
    return actual is not None and (actual == wanted or actual.startswith(wanted + "/"))


def _needs_python_filter(sla):
    return "capability" in sla or any(key in sla for key in CATEGORY_KEYS)


def _python_filter(sla, attributes, capabilities):
    if "capability" in sla and sla["capability"] not in capabilities.split("\n"):
        return False
    return all(
        _category_matches(sla[key], (attributes or {}).get(key))
        for key in CATEGORY_KEYS
        if key in sla
    )


def _computer_filters(query, sla):
    if sla.get("computer_guid"):
        query = query.where(Computer.reference == sla["computer_guid"])
    if sla.get("network_guid"):
        query = query.where(Computer.network_guid == sla["network_guid"])
    if sla.get("project_guid"):
        query = query.where(Computer.project_guid == sla["project_guid"])
    return query


def _tree_networks(session, instance):
    rows = session.execute(
        select(Computer.network_guid)
        .join(Partition, Partition.computer_id == Computer.id)
        .join(SoftwareInstance, Partition.instance_id == SoftwareInstance.id)
        .where(SoftwareInstance.tree_id == instance.tree_id, SoftwareInstance.id != instance.id)
    ).scalars()
    return {network for network in rows if network}


# The statements of a request without SLA (most of them), built once: building them was as
# costly as running them (make bench, request part).
_PARTITION = Partition.__table__
_PLAIN_CANDIDATES = (
    select(Partition.id)
    .join(Computer, Partition.computer_id == Computer.id)
    .join(
        Supply,
        (Supply.computer_id == Computer.id)
        & (Supply.release_id == bindparam("release_id"))
        & (Supply.desired_state == "available"),
    )
    .where(Partition.slap_state == "free", Computer.allocation_scope == "open",
           Partition.capabilities == "")
    .order_by(Partition.computer_id, Partition.id)
    .limit(CANDIDATE_BATCH)
)
_TAKE = (
    update(_PARTITION)
    .where(_PARTITION.c.id == bindparam("partition_id"), _PARTITION.c.slap_state == "free")
    .values(slap_state="busy", instance_id=bindparam("taker"))
)
_TENANCY = insert(PartitionTenancy.__table__)


def _candidates(session, instance):
    sla = instance.sla or {}
    if not sla:
        yield from session.connection().execute(
            _PLAIN_CANDIDATES, {"release_id": instance.release_id}).scalars()
        return
    query = (
        select(Partition.id, Computer.attributes, Partition.capabilities)
        .join(Computer, Partition.computer_id == Computer.id)
        .join(
            Supply,
            (Supply.computer_id == Computer.id)
            & (Supply.release_id == instance.release_id)
            & (Supply.desired_state == "available"),
        )
        .where(Partition.slap_state == "free", Computer.allocation_scope == "open")
    )
    query = _computer_filters(query, sla)
    if "capability" not in sla:
        query = query.where(Partition.capabilities == "")
    if sla.get("mode") == "unique_by_network":
        query = query.where(Computer.network_guid.is_not(None), Computer.network_guid != "")
        taken = _tree_networks(session, instance)
        if taken:
            query = query.where(Computer.network_guid.not_in(sorted(taken)))
    query = query.order_by(Partition.computer_id, Partition.id)
    if not _needs_python_filter(sla):
        for partition_id, _, _ in session.execute(query.limit(CANDIDATE_BATCH)):
            yield partition_id
        return
    for partition_id, attributes, capabilities in session.execute(
        query.execution_options(yield_per=500)
    ):
        if _python_filter(sla, attributes, capabilities):
            yield partition_id


def take_partition(session, instance):
    """Take a free partition for ``instance``: ``(partition id, None)`` or ``(None, reason)``.

    Only ``instance.id``, ``sla``, ``release_id`` and ``tree_id`` are read, so the request path
    passes the values it just inserted with Core statements. The partition row is updated with a
    Core statement, and the instance's tenancy of it begins (usage is billed by it): the caller
    bumps its computer's revision.
    """
    reason = refusal(instance.sla or {}, shared=False)
    if reason:
        return None, reason
    session.flush()  # the statements below go to the connection, without the ORM's autoflush
    for _ in range(3):
        tried = False
        for partition_id in list(_candidates(session, instance)):
            tried = True
            taken = session.connection().execute(
                _TAKE, {"partition_id": partition_id, "taker": instance.id})
            if taken.rowcount == 1:
                session.connection().execute(_TENANCY, {
                    "partition_id": partition_id, "instance_id": instance.id, "start_at": now(),
                    "stop_at": None})
                return partition_id, None
        if not tried:
            break
    return None, why_unplaced(session, instance)


def why_unplaced(session, instance):
    """Why no partition could be taken for ``instance`` (its ``sla`` and ``release_id``), the
    first that holds of: the SLA's computer does not exist or is not open, the release is
    supplied on no open computer (of those the SLA allows), every fitting partition is taken."""
    sla = instance.sla or {}
    wanted = sla.get("computer_guid")
    if wanted:
        scope = session.execute(select(Computer.allocation_scope).where(
            Computer.reference == wanted)).scalar()
        if scope is None:
            return "no computer %r" % (wanted,)
        if scope != "open":
            return "computer %r is not open to allocation (allocation scope %s)" % (wanted, scope)
    supplied = _computer_filters(
        select(Computer.id)
        .join(Supply, Supply.computer_id == Computer.id)
        .where(Supply.release_id == instance.release_id, Supply.desired_state == "available",
               Computer.allocation_scope == "open"), sla)
    where = " %r" % (wanted,) if wanted else " any open computer"
    if session.execute(supplied.limit(1)).first() is None:
        if sla and not wanted:
            where += " the SLA allows"
        return "release not supplied on%s" % where
    return "no free partition%s on the open computers supplied with the release" % (
        " matching the SLA" if sla else "")


def find_host(session, instance, software_type=None):
    """A live, allocated regular instance that can host shared ``instance``, or ``(None, reason)``.

    Same release; same software type when the request named one; ``instance_guid`` pins the host;
    ``computer_guid``, ``network_guid``, ``project_guid``, categories and capability filter it.
    """
    sla = instance.sla or {}
    reason = refusal(sla, shared=True)
    if reason:
        return None, reason
    query = (
        select(SoftwareInstance, Computer.attributes, Partition.capabilities)
        .join(Partition, Partition.instance_id == SoftwareInstance.id)
        .join(Computer, Partition.computer_id == Computer.id)
        .where(
            SoftwareInstance.shared.is_(False),
            SoftwareInstance.archived.is_(False),
            SoftwareInstance.release_id == instance.release_id,
            SoftwareInstance.requested_state != "destroyed",
        )
    )
    if software_type:
        query = query.where(SoftwareInstance.software_type == software_type)
    if sla.get("instance_guid"):
        query = query.where(SoftwareInstance.reference == sla["instance_guid"])
    query = _computer_filters(query, sla).order_by(SoftwareInstance.id)
    for host, attributes, capabilities in session.execute(query):
        if not _needs_python_filter(sla) or _python_filter(sla, attributes, capabilities):
            return host, None
    return None, "no instance of this release%s can host it" % (
        " and type %r" % software_type if software_type else ""
    )
