"""The master's own tickets: monitoring tickets for failing trees and silent computers, closed
by the master once their subject is well again, and tickets idle on the customer's side closed.

``ticket.monitor`` is one pass; every master process runs it on a timer
(``gateway.ticket_loop``) and it first writes when the computers its process heard from last
called (:mod:`slap_core.contacts`). At most one monitoring ticket is open per subject: the pass
checks in its write transaction, which SQLite serialises and PostgreSQL retries on conflict.
"""

from datetime import datetime, timezone

from sqlalchemy import exists, select

from slap_core import errors
from slap_core.access import require_admin
from slap_core.clock import now
from slap_core.contacts import CONTACTS
from slap_core.models import Computer, InstanceTree, SoftwareInstance, Ticket
from slap_core.operations import operation
from slap_core.tickets import close, open_ticket
from slap_core.views import MonitoringRunView

DAY = 86400.0


def _delay(value, what):
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 <= value <= 3650 * DAY:
        raise errors.Invalid("%s is a number of seconds from 0 (never) to 10 years" % what)
    return float(value)


def _write_contacts(session):
    book = session.info.get(CONTACTS)
    seen = book.drain() if book is not None else {}
    if not seen:
        return 0
    try:
        for computer in session.scalars(select(Computer).where(
                Computer.reference.in_(sorted(seen)))):
            at = seen[computer.reference]
            if computer.contacted_at is None or computer.contacted_at < at:
                computer.contacted_at = at
        session.flush()
    except Exception:
        book.restore(seen)
        raise
    return len(seen)


def _open_monitoring(session, column):
    """Subject ids (trees or computers) with an open monitoring ticket."""
    return set(session.scalars(select(column).where(
        Ticket.kind == "monitoring", Ticket.state == "open", column.is_not(None))))


def _open_automatic(session, ticket, requester, title, text):
    ticket = open_ticket(session, requester, None, kind="monitoring", title=title, text=text,
                         **ticket)
    ticket.automatic, ticket.turn = True, "operator"
    return ticket.reference


def _since(instant):
    return datetime.fromtimestamp(instant, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _failing_trees(session, error_after, opened, closed):
    failing_since = now() - error_after
    failing = select(SoftwareInstance).where(
        SoftwareInstance.archived.is_(False), SoftwareInstance.error_since.is_not(None),
        SoftwareInstance.error_since <= failing_since).order_by(SoftwareInstance.id)
    by_tree = {}
    for instance in session.scalars(failing):
        by_tree.setdefault(instance.tree_id, []).append(instance)
    watched = _open_monitoring(session, Ticket.tree_id)
    for tree_id, instances in sorted(by_tree.items()):
        tree = session.get(InstanceTree, tree_id)
        if tree_id in watched or tree.archived:
            continue
        lines = ["The master has seen %s of instance tree %r in error for more than %d "
                 "minutes:" % ("an instance" if len(instances) == 1 else "instances",
                               tree.title, error_after // 60)]
        lines += ["- %s (%s), since %s: %s" % (i.title, i.reference, _since(i.error_since),
                                              (i.status_text or "")[len("#error "):][-500:])
                  for i in instances]
        lines.append("This ticket closes itself once the instances report no error.")
        opened.append(_open_automatic(session, {"tree": tree}, tree.owner,
                                      "Instance tree %s is failing" % tree.title[:200],
                                      "\n".join(lines)))
    # Trees well again: no live instance in error any more (however short).
    for ticket in session.scalars(select(Ticket).where(
            Ticket.automatic.is_(True), Ticket.state == "open", Ticket.tree_id.is_not(None))):
        still = session.scalar(select(exists().where(
            SoftwareInstance.tree_id == ticket.tree_id, SoftwareInstance.archived.is_(False),
            SoftwareInstance.error_since.is_not(None))))
        if not still or ticket.tree.archived:
            close(session, ticket, None, "Every instance of %r reports no error any more: "
                                         "closed by the master." % ticket.tree.title)
            closed.append(ticket.reference)


def _silent_computers(session, silent_after, opened, closed):
    quiet_since = now() - silent_after
    watched = _open_monitoring(session, Ticket.computer_id)
    for computer in session.scalars(select(Computer).where(
            Computer.contacted_at.is_not(None), Computer.contacted_at < quiet_since,
            Computer.owner_id.is_not(None)).order_by(Computer.id)):
        if computer.id in watched:
            continue
        opened.append(_open_automatic(
            session, {"computer": computer}, computer.owner,
            "Computer %s does not contact the master" % computer.reference,
            "Computer %s last called the master at %s, more than %d minutes ago: its node may "
            "be down or cut off. This ticket closes itself once it calls again."
            % (computer.reference, _since(computer.contacted_at), silent_after // 60)))
    for ticket in session.scalars(select(Ticket).where(
            Ticket.automatic.is_(True), Ticket.state == "open",
            Ticket.computer_id.is_not(None))):
        if ticket.computer.contacted_at is not None and \
                ticket.computer.contacted_at >= quiet_since:
            close(session, ticket, None, "Computer %s calls the master again (at %s): closed "
                                         "by the master." % (ticket.computer.reference,
                                                             _since(ticket.computer.contacted_at)))
            closed.append(ticket.reference)


def _idle(session, idle_after, closed):
    for ticket in session.scalars(select(Ticket).where(
            Ticket.state == "open", Ticket.turn == "customer",
            Ticket.updated_at < now() - idle_after).order_by(Ticket.id)):
        close(session, ticket, None, "No answer for %d days: closed by the master. Reopen it "
                                     "if you still need help." % (idle_after // DAY))
        closed.append(ticket.reference)


@operation("ticket.monitor", writes=True, callers="admin (the master's own timer)",
           returns=MonitoringRunView, raises=((errors.Invalid, "a negative delay"),))
def monitor(session, principal, *, idle_after=None, error_after=None, silent_after=None):
    """One monitoring pass: open a monitoring ticket for each tree in error for ``error_after``
    seconds and each computer silent for ``silent_after``, close those well again, and close
    tickets waiting for their customer for ``idle_after`` (each 0 or left out: never)."""
    require_admin(principal)
    idle_after = _delay(idle_after, "idle_after")
    error_after = _delay(error_after, "error_after")
    silent_after = _delay(silent_after, "silent_after")
    contacts = _write_contacts(session)
    opened, closed = [], []
    if error_after:
        _failing_trees(session, error_after, opened, closed)
    if silent_after:
        _silent_computers(session, silent_after, opened, closed)
    if idle_after:
        _idle(session, idle_after, closed)
    session.flush()
    return MonitoringRunView(opened=tuple(opened), closed=tuple(closed), contacts=contacts)

