"""Usage: the TioXML journals nodes post (``useComputer``), kept verbatim and as records.

A journal is validated against ``schemas/computer_consumption.xsd`` and the master's extra checks
(a stop date, which bills: upstream slapgrid leaves the start date empty; a resource and a
reference on every movement; quantities that are finite, not negative and below 10^15); a
document that fails is refused whole with Invalid and nothing is stored. The same journal posted again (same computer, same canonical XML) is counted once: the
answer is the first one's, marked ``replayed``. A movement's reference is a partition of the
computer (what slapgrid writes: the instance that held it on the movement's stop date, by the
partition's tenancies), an instance deployed on it now, or the computer itself; a movement of no instance (the computer, a free partition) is the computer
owner's, marked ``on_computer``. The records are the input of invoicing.
"""

import hashlib
from decimal import Decimal

from lxml import etree
from sqlalchemy import select

import schemas
from slap_core import errors, safe_xml
from slap_core.access import (
    check_computer_agent,
    check_computer_read,
    get_computer,
    person_id,
    require_authenticated,
)
from slap_core.models import (
    Computer,
    InstanceTree,
    Partition,
    PartitionTenancy,
    Person,
    SoftwareInstance,
    UsageRecord,
    UsageReport,
)
from slap_core.billing import stop_instant
from slap_core.clock import now
from slap_core.operations import operation
from slap_core.pricing import bounded_decimal
from slap_core.principals import ComputerAgent, PartitionAgent
from slap_core.views import UsageRecordView, UsageReportOutcome

MAX_JOURNAL_BYTES = 4 * 1024 * 1024
DAY = 86400.0
MAX_QUANTITY = Decimal("1e15")


def _number(text, what, signed=False):
    """A finite float from a movement's number, in bounds; Invalid otherwise."""
    return float(bounded_decimal(text, "a usage " + what, below=MAX_QUANTITY, signed=signed))


def _text(element, name):
    child = element.find(name)
    return (child.text or "").strip() if child is not None and child.text else ""


def parse_journal(document):
    """Validate a journal; (its movements as dicts, the SHA-256 of its canonical XML). Invalid
    when it is not acceptable."""
    root = safe_xml.parse(document, MAX_JOURNAL_BYTES, what="usage journal")
    safe_xml.validate(root, schemas.path("computer_consumption.xsd"), what="usage journal")
    movements = []
    for transaction in root.findall("transaction"):
        start, stop = _text(transaction, "start_date"), _text(transaction, "stop_date")
        # upstream slapgrid's own journals leave start_date empty: the stop date is what bills
        if not stop:
            raise errors.Invalid("every usage transaction needs a stop_date")
        for movement in transaction.findall("movement"):
            reference, resource = _text(movement, "reference"), _text(movement, "resource")
            if not reference or not resource:
                raise errors.Invalid("every usage movement needs a resource and a reference")
            movements.append(
                {
                    "partition_reference": reference,
                    "resource": resource,
                    "title": _text(movement, "title"),
                    "quantity": _number(_text(movement, "quantity"), "quantity"),
                    "price": _number(_text(movement, "price"), "price", signed=True),
                    "category": ",".join(
                        (c.text or "").strip() for c in movement.findall("category")
                    ),
                    "start_date": start,
                    "stop_date": stop,
                }
            )
    digest = hashlib.sha256(etree.tostring(root, method="c14n")).hexdigest()
    return movements, digest


@operation("usage.report", writes=True, callers="the computer itself",
           returns=UsageReportOutcome, raises=(errors.NotFound,
                                               (errors.Invalid, "schema, hostile XML, size")))
def report_usage(session, principal, *, computer, document):
    """Accept a node's usage journal (TioXML, ``computer_consumption.xsd``)."""
    target = get_computer(session, computer)
    check_computer_agent(principal, target)
    movements, digest = parse_journal(document)
    earlier = session.scalar(select(UsageReport).where(UsageReport.computer_id == target.id,
                                                       UsageReport.digest == digest))
    if earlier is not None:
        return UsageReportOutcome(report_id=earlier.id, record_count=earlier.record_count,
                                  replayed=True)
    if isinstance(document, bytes):
        document = document.decode("utf-8", "replace")
    received = now()
    for movement in movements:
        movement["stop_at"] = stop_instant(movement["stop_date"], received)
    consumers = _consumers(session, target)
    tenancies = _tenancies(session, target, [m["stop_at"] for m in movements])
    records = []
    for movement in movements:
        reference = movement["partition_reference"]
        if reference in tenancies:
            instance_id, owner_id = _tenant(tenancies[reference], movement["stop_at"])
        elif reference in consumers:
            instance_id, owner_id = consumers[reference]
        else:
            raise errors.Invalid("usage movement reference %r is no partition or instance of %s, "
                                 "nor the computer itself" % (reference[:100], target.reference))
        records.append(dict(movement, instance_id=instance_id,
                            person_id=owner_id if instance_id else target.owner_id,
                            on_computer=instance_id is None))
    report = UsageReport(computer_id=target.id, document=document, digest=digest,
                         record_count=len(records), received_at=received)
    session.add(report)
    session.flush()
    for record in records:
        session.add(UsageRecord(report_id=report.id, computer_id=target.id, **record))
    session.flush()
    return UsageReportOutcome(report_id=report.id, record_count=len(records))


def _consumers(session, computer):
    """{movement reference: (instance id or None, its owner's person id or None)}: each instance
    deployed on ``computer`` now, and the computer itself (no instance's)."""
    consumers = {computer.reference: (None, None)}
    rows = session.execute(
        select(SoftwareInstance.id, SoftwareInstance.reference, InstanceTree.owner_id)
        .join(Partition, Partition.instance_id == SoftwareInstance.id)
        .join(InstanceTree, SoftwareInstance.tree_id == InstanceTree.id)
        .where(Partition.computer_id == computer.id))
    for instance_id, instance, owner_id in rows:
        consumers[instance] = (instance_id, owner_id)
    return consumers


def _tenancies(session, computer, stops):
    """{partition reference: [(start, stop or None, instance id, owner id)]} for every partition
    of ``computer``: the tenancies around the days of ``stops`` (a day on either side, for the
    node's time zone), oldest first."""
    found = {reference: [] for reference in session.scalars(
        select(Partition.reference).where(Partition.computer_id == computer.id))}
    if not stops:
        return found
    low, high = min(stops) - DAY, max(stops) + 2 * DAY
    rows = session.execute(
        select(Partition.reference, PartitionTenancy.start_at, PartitionTenancy.stop_at,
               PartitionTenancy.instance_id, InstanceTree.owner_id)
        .join(Partition, PartitionTenancy.partition_id == Partition.id)
        .join(SoftwareInstance, PartitionTenancy.instance_id == SoftwareInstance.id)
        .join(InstanceTree, SoftwareInstance.tree_id == InstanceTree.id)
        .where(Partition.computer_id == computer.id, PartitionTenancy.start_at < high,
               PartitionTenancy.stop_at.is_(None) | (PartitionTenancy.stop_at > low))
        .order_by(PartitionTenancy.start_at, PartitionTenancy.id))
    for reference, start, stop, instance_id, owner_id in rows:
        found[reference].append((start, stop, instance_id, owner_id))
    return found


def _tenant(tenancies, stop):
    """(instance id, owner id) of the tenancy that held the partition longest on the day of
    ``stop`` (the latest on a tie), else the nearest one within a day of it (a node in another
    time zone), else (None, None): nobody held it then."""
    day_start, day_end = stop, stop + DAY
    best, best_key = (None, None), None
    for start, end, instance_id, owner_id in tenancies:
        end = float("inf") if end is None else end
        overlap = min(end, day_end) - max(start, day_start)
        distance = max(start - day_end, day_start - end, 0.0)
        if distance > DAY:
            continue
        key = (overlap if overlap > 0 else -distance, start)
        if best_key is None or key > best_key:
            best, best_key = (instance_id, owner_id), key
    return best


@operation("usage.list", writes=False,
           callers="users (their own consumption), the computer, its owner, admin, operator",
           returns=[UsageRecordView], raises=(errors.NotFound,))
def list_usage(session, principal, *, computer=None, limit=1000):
    """List usage records: a user's own, or all of one computer for those who may read it."""
    require_authenticated(principal)
    if isinstance(principal, PartitionAgent):
        raise errors.Forbidden("a partition may not read usage records")
    query = (
        select(UsageRecord, Computer.reference, SoftwareInstance.reference, Person.login)
        .join(Computer, UsageRecord.computer_id == Computer.id)
        .outerjoin(SoftwareInstance, UsageRecord.instance_id == SoftwareInstance.id)
        .outerjoin(Person, UsageRecord.person_id == Person.id)
    )
    if computer is not None:
        target = get_computer(session, computer)
        check_computer_read(session, principal, target)
        query = query.where(UsageRecord.computer_id == target.id)
    elif isinstance(principal, ComputerAgent):
        query = query.where(Computer.reference == principal.computer)
    elif not principal.is_admin:
        query = query.where(UsageRecord.person_id == person_id(session, principal))
    limit = max(1, min(int(limit), 10000))
    rows = session.execute(query.order_by(UsageRecord.id).limit(limit))
    return [
        UsageRecordView(
            computer=computer_reference,
            partition=record.partition_reference,
            instance=instance_reference,
            person=login,
            resource=record.resource,
            title=record.title,
            quantity=record.quantity,
            price=record.price,
            category=record.category,
            start_date=record.start_date,
            stop_date=record.stop_date,
            on_computer=record.on_computer,
        )
        for record, computer_reference, instance_reference, login in rows
    ]
