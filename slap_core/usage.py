"""Usage: the TioXML journals nodes post (``useComputer``), kept verbatim and as records.

A journal is validated against ``schemas/computer_consumption.xsd`` and the master's extra checks
(non-empty dates, a resource and a partition reference on every movement); a document that fails
is refused whole with Invalid and nothing is stored. Each movement becomes a UsageRecord tied to
the instance deployed on that partition at the time, and to its owner: the input of invoicing.
"""

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
    Person,
    SoftwareInstance,
    UsageRecord,
    UsageReport,
)
from slap_core.operations import operation
from slap_core.principals import ComputerAgent, PartitionAgent
from slap_core.views import UsageRecordView, UsageReportOutcome

MAX_JOURNAL_BYTES = 4 * 1024 * 1024


def _text(element, name):
    child = element.find(name)
    return (child.text or "").strip() if child is not None and child.text else ""


def parse_journal(document):
    """Validate a journal and return its movements as dicts; Invalid when it is not acceptable."""
    root = safe_xml.parse(document, MAX_JOURNAL_BYTES, what="usage journal")
    safe_xml.validate(root, schemas.path("computer_consumption.xsd"), what="usage journal")
    movements = []
    for transaction in root.findall("transaction"):
        start, stop = _text(transaction, "start_date"), _text(transaction, "stop_date")
        if not start or not stop:
            raise errors.Invalid("every usage transaction needs a start_date and a stop_date")
        for movement in transaction.findall("movement"):
            reference, resource = _text(movement, "reference"), _text(movement, "resource")
            if not reference or not resource:
                raise errors.Invalid("every usage movement needs a resource and a reference")
            movements.append(
                {
                    "partition_reference": reference,
                    "resource": resource,
                    "title": _text(movement, "title"),
                    "quantity": float(_text(movement, "quantity")),
                    "price": float(_text(movement, "price")),
                    "category": ",".join(
                        (c.text or "").strip() for c in movement.findall("category")
                    ),
                    "start_date": start,
                    "stop_date": stop,
                }
            )
    return movements


@operation("usage.report", writes=True, callers="the computer itself",
           returns=UsageReportOutcome, raises=(errors.NotFound,
                                               (errors.Invalid, "schema, hostile XML, size")))
def report_usage(session, principal, *, computer, document):
    """Accept a node's usage journal (TioXML, ``computer_consumption.xsd``)."""
    target = get_computer(session, computer)
    check_computer_agent(principal, target)
    movements = parse_journal(document)
    if isinstance(document, bytes):
        document = document.decode("utf-8", "replace")
    report = UsageReport(computer_id=target.id, document=document)
    session.add(report)
    session.flush()
    deployed = {
        reference: (instance_id, owner_id)
        for reference, instance_id, owner_id in session.execute(
            select(Partition.reference, SoftwareInstance.id, InstanceTree.owner_id)
            .join(SoftwareInstance, Partition.instance_id == SoftwareInstance.id)
            .join(InstanceTree, SoftwareInstance.tree_id == InstanceTree.id)
            .where(Partition.computer_id == target.id)
        )
    }
    for movement in movements:
        instance_id, owner_id = deployed.get(movement["partition_reference"], (None, None))
        session.add(
            UsageRecord(
                report_id=report.id,
                computer_id=target.id,
                instance_id=instance_id,
                person_id=owner_id,
                **movement,
            )
        )
    session.flush()
    return UsageReportOutcome(report_id=report.id, record_count=len(movements))


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
        )
        for record, computer_reference, instance_reference, login in rows
    ]
