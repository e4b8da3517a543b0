"""Support tickets: a person's requests about their services, and the thread of messages.

A ticket is about one of the requester's instance trees, a computer they may see, or nothing in
particular. The requester reads their tickets and writes to them; admins and the ``support`` role
see every ticket, answer, assign and close them (upstream SlapOS's CRM). Whose turn it is follows
the messages, as upstream's two working states do: the requester writes, it is the operator's
turn; anyone else writes, it is the customer's. Others' tickets are not found, never forbidden,
so a reference tells a stranger nothing.
"""

import base64
import binascii
import re

from sqlalchemy import func, select

from slap_core import errors
from slap_core.access import check_computer_read, get_computer, person_for, person_id, require_user
from slap_core.clock import now
from slap_core.models import InstanceTree, Person, Ticket, TicketMessage
from slap_core.operations import operation
from slap_core.outbox import queue
from slap_core.signups import settings as signup_settings
from slap_core.views import (TicketAttachmentView, TicketMessageView, TicketSummaryView,
                             TicketView)

KINDS = ("information", "complaint", "monitoring", "acknowledgement")
# What a customer may open; the others are the operators' (and the master's monitoring).
CUSTOMER_KINDS = ("information", "complaint")
MAX_TITLE = 255
MAX_TEXT = 64 * 1024
# Upstream takes about 3 MB; 2 MiB keeps a base64 attachment within every face's body limit.
DEFAULT_ATTACHMENT_LIMIT = 2 * 1024 * 1024
# A master's largest: its base64 text must fit a 4 MiB request body.
MAX_ATTACHMENT_LIMIT = 3000000
ATTACHMENT_LIMIT = "ticket_attachment_limit"  # the key of a master's own limit in session.info
MAX_LIST = 10000
# type/subtype as RFC 6838 names them, without parameters.
MEDIA_TYPE = (r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")


def attachment_limit(session):
    """The largest attachment this master takes, in bytes."""
    return session.info.get(ATTACHMENT_LIMIT, DEFAULT_ATTACHMENT_LIMIT)


def _line(value, what, limit, default=None):
    if value is None and default is not None:
        return default
    if (not isinstance(value, str) or not value.strip() or len(value) > limit
            or any(ord(c) < 32 or ord(c) == 127 for c in value)):
        raise errors.Invalid("%s is a line of 1 to %d characters, not blank, without control "
                             "characters" % (what, limit))
    return value.strip()


def _text(value):
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT or "\x00" in value:
        raise errors.Invalid("a message's text is 1 to %d characters, not blank, without NUL"
                             % MAX_TEXT)
    return value


def _attachment(session, content, name, media_type):
    """(name, media type, bytes) of an attachment, or Nones when there is none."""
    if content is None:
        if name is not None or media_type is not None:
            raise errors.Invalid("an attachment's name or type without the attachment")
        return None, None, None
    if isinstance(content, str):
        try:
            content = base64.b64decode(content.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error):
            raise errors.Invalid("an attachment given as text is base64") from None
    limit = attachment_limit(session)
    if len(content) > limit:
        raise errors.Invalid("an attachment is at most %d bytes, this one has %d"
                             % (limit, len(content)))
    name = _line(name, "an attachment's name", 255, "attachment")
    if "/" in name or "\\" in name:
        raise errors.Invalid("an attachment's name is a file name, without / or \\")
    if media_type is None:
        media_type = "application/octet-stream"
    if not isinstance(media_type, str) or not re.fullmatch(MEDIA_TYPE, media_type):
        raise errors.Invalid("an attachment's media type is type/subtype (text/plain...)")
    return name, media_type, content


def _message_view(number, message):
    return TicketMessageView(number=number,
                             author=message.author.login if message.author is not None else None,
                             posted_at=message.posted_at, text=message.text,
                             attachment_name=message.attachment_name,
                             attachment_type=message.attachment_type,
                             attachment_size=message.attachment_size)


def _fields(ticket):
    return dict(
        reference=ticket.reference, kind=ticket.kind, title=ticket.title, state=ticket.state,
        turn=ticket.turn, requester=ticket.requester.login,
        assignee=ticket.assignee.login if ticket.assignee is not None else None,
        tree=ticket.tree.title if ticket.tree is not None else None,
        instance=(ticket.tree.root.reference
                  if ticket.tree is not None and ticket.tree.root is not None else None),
        computer=ticket.computer.reference if ticket.computer is not None else None,
        created_at=ticket.created_at, updated_at=ticket.updated_at, closed_at=ticket.closed_at)


def ticket_view(session, ticket):
    """The TicketView of a ticket, with its thread."""
    messages = session.scalars(select(TicketMessage).where(
        TicketMessage.ticket_id == ticket.id).order_by(TicketMessage.id))
    return TicketView(messages=tuple(_message_view(number, message)
                                     for number, message in enumerate(messages, 1)),
                      **_fields(ticket))


def _readable(session, principal, reference):
    """The ticket ``reference`` if the caller may see it (theirs, or support); else NotFound."""
    user = require_user(principal)
    ticket = None
    if isinstance(reference, str):
        ticket = session.scalar(select(Ticket).where(Ticket.reference == reference))
    if ticket is None or not (user.handles_support or ticket.requester.login == user.login):
        raise errors.NotFound("no ticket %r" % (str(reference)[:64],))
    return user, ticket


def add_message(session, ticket, author, text, attachment=(None, None, None)):
    """Append a message by ``author`` (a Person; None: the master itself) to ``ticket``; the
    turn passes to the other side."""
    name, media_type, content = attachment
    author_id = author.id if author is not None else None
    session.add(TicketMessage(
        ticket_id=ticket.id, author_id=author_id, posted_at=now(), text=text,
        attachment_name=name, attachment_type=media_type,
        attachment_size=len(content) if content is not None else 0, attachment=content))
    ticket.turn = "operator" if author_id == ticket.requester_id else "customer"
    ticket.updated_at = now()
    _notify(session, ticket, author, text)


def _notify(session, ticket, author, text):
    """Mail the other side (the requester, or the assignee of a ticket whose requester wrote)
    when the master sends mail."""
    config = signup_settings(session)
    if not config.mail:
        return
    session.flush()
    session.refresh(ticket)
    recipient = ticket.requester if author is None or author.id != ticket.requester_id \
        else ticket.assignee
    if recipient is None or not recipient.email or (author is not None
                                                     and recipient.id == author.id):
        return
    queue(session, recipient.email, "[%s] %s" % (ticket.reference, ticket.title),
          "%s wrote on %s:\n\n%s\n\nThe whole thread: %s\n" % (
              author.login if author is not None else "The master", ticket.reference, text,
              config.public_url.rstrip("/") + "/tickets/" + ticket.reference))


def _subject(session, user, requester, tree, computer):
    """(tree, computer) rows a new ticket is about, checked against what the caller sees."""
    if tree is not None and computer is not None:
        raise errors.Invalid("a ticket is about an instance tree or a computer, not both")
    if tree is not None:
        found = session.scalar(select(InstanceTree).where(
            InstanceTree.owner_id == requester.id, InstanceTree.title == tree,
            InstanceTree.archived.is_(False)).order_by(InstanceTree.id).limit(1))
        if found is None:
            raise errors.NotFound("no instance tree %r of %s" % (str(tree)[:255],
                                                                 requester.login))
        return found, None
    if computer is not None:
        found = get_computer(session, computer)
        if not user.handles_support:
            try:
                check_computer_read(session, user, found)
            except errors.Forbidden:
                raise errors.NotFound("no computer %r" % (computer,)) from None
        return None, found
    return None, None


def open_ticket(session, requester, author, *, kind, title, text, tree=None, computer=None,
                attachment=(None, None, None)):
    """Create a ticket of ``requester`` (a Person) whose first message ``author`` (a Person;
    None: the master) wrote; the rules are the caller's to check. Returns the Ticket."""
    ticket = Ticket(requester_id=requester.id, kind=kind, title=title,
                    tree_id=tree.id if tree is not None else None,
                    computer_id=computer.id if computer is not None else None,
                    state="open", turn="operator", created_at=now(), updated_at=now())
    session.add(ticket)
    session.flush()
    ticket.reference = "TICKET-%d" % ticket.id
    add_message(session, ticket, author, text, attachment)
    session.flush()
    session.refresh(ticket)
    return ticket


@operation("ticket.create", writes=True,
           callers="a user (their own), support and admin (anyone's)", returns=TicketView,
           raises=((errors.NotFound, "no such tree or person, or a computer the caller may "
                                     "not see"),
                   (errors.Invalid, "a kind, title, text or attachment the rules refuse")))
def create_ticket(session, principal, *, title, text, kind="information", tree=None,
                  computer=None, login=None, attachment=None, attachment_name=None,
                  attachment_type=None):
    """Open a support ticket about one of your instance trees, a computer or nothing in
    particular, with its first message; it is the operator's turn."""
    user = require_user(principal)
    if kind not in KINDS:
        raise errors.Invalid("a ticket's kind is one of %s" % ", ".join(KINDS))
    if kind not in CUSTOMER_KINDS and not user.handles_support:
        raise errors.Forbidden("only support and admins open %s tickets" % kind)
    title, text = _line(title, "a ticket's title", MAX_TITLE), _text(text)
    attached = _attachment(session, attachment, attachment_name, attachment_type)
    author = person_for(session, user)
    requester = author
    if login is not None and login != user.login:
        if not user.handles_support:
            raise errors.Forbidden("only support and admins open tickets for someone else")
        requester = session.scalar(select(Person).where(Person.login == login))
        if requester is None:
            raise errors.NotFound("no person %r" % (str(login)[:255],))
    tree, computer = _subject(session, user, requester, tree, computer)
    ticket = open_ticket(session, requester, author, kind=kind, title=title, text=text,
                         tree=tree, computer=computer, attachment=attached)
    return ticket_view(session, ticket)


@operation("ticket.list", writes=False,
           callers="a user (their own), support and admin (anyone's)",
           returns=[TicketSummaryView], raises=((errors.NotFound, "no such person"),))
def list_tickets(session, principal, *, login=None, include_closed=False):
    """Tickets, most recently active first: yours, or anyone's for support and admins."""
    user = require_user(principal)
    query = select(Ticket)
    if login is not None and login != user.login:
        if not user.handles_support:
            raise errors.Forbidden("only support and admins read another person's tickets")
        found = session.scalar(select(Person.id).where(Person.login == login))
        if found is None:
            raise errors.NotFound("no person %r" % (str(login)[:255],))
        query = query.where(Ticket.requester_id == found)
    elif login is not None or not user.handles_support:
        query = query.where(Ticket.requester_id == person_id(session, user))
    if not include_closed:
        query = query.where(Ticket.state == "open")
    tickets = list(session.scalars(query.order_by(Ticket.updated_at.desc(), Ticket.id.desc())
                                   .limit(MAX_LIST)))
    counts = dict(session.execute(
        select(TicketMessage.ticket_id, func.count()).where(
            TicketMessage.ticket_id.in_([t.id for t in tickets]))
        .group_by(TicketMessage.ticket_id)).all()) if tickets else {}
    return [TicketSummaryView(message_count=counts.get(t.id, 0), **_fields(t)) for t in tickets]


@operation("ticket.get", writes=False,
           callers="the requester, support and admin", returns=TicketView,
           raises=((errors.NotFound, "no such ticket, or another's"),))
def get_ticket(session, principal, *, reference):
    """One ticket with its thread of messages, oldest first."""
    _, ticket = _readable(session, principal, reference)
    return ticket_view(session, ticket)


@operation("ticket.post", writes=True,
           callers="the requester, support and admin", returns=TicketView,
           raises=((errors.NotFound, "no such ticket, or another's"),
                   (errors.Conflict, "the ticket is closed: reopen it first"),
                   (errors.Invalid, "an empty or oversized text or attachment")))
def post_message(session, principal, *, reference, text, attachment=None, attachment_name=None,
                 attachment_type=None):
    """Add a message to a ticket's thread: the requester's makes it the operator's turn,
    anyone else's the customer's."""
    user, ticket = _readable(session, principal, reference)
    text = _text(text)
    attached = _attachment(session, attachment, attachment_name, attachment_type)
    if ticket.state == "closed":
        raise errors.Conflict("ticket %s is closed: reopen it first" % ticket.reference)
    add_message(session, ticket, person_for(session, user), text, attached)
    session.flush()
    return ticket_view(session, ticket)


@operation("ticket.assign", writes=True, callers="support and admin", returns=TicketView,
           raises=((errors.NotFound, "no such ticket or person"),
                   (errors.Invalid, "the assignee is neither support nor an admin")))
def assign_ticket(session, principal, *, reference, assignee=None):
    """Assign a ticket to a support person or an admin (or to nobody)."""
    user, ticket = _readable(session, principal, reference)
    if not user.handles_support:
        raise errors.Forbidden("only support and admins assign tickets")
    if assignee is None:
        ticket.assignee_id = None
    else:
        person = session.scalar(select(Person).where(Person.login == assignee))
        if person is None:
            raise errors.NotFound("no person %r" % (str(assignee)[:255],))
        if not {"support", "admin"} & set(person.roles or ()):
            raise errors.Invalid("%s is neither support nor an admin" % person.login)
        ticket.assignee_id = person.id
    ticket.updated_at = now()
    session.flush()
    session.refresh(ticket)
    return ticket_view(session, ticket)


def close(session, ticket, author, text=None):
    """Close ``ticket``, with a last message by ``author`` (a Person; None: the master) when
    ``text`` is given."""
    if text is not None:
        add_message(session, ticket, author, text)
    ticket.state, ticket.closed_at, ticket.updated_at = "closed", now(), now()


@operation("ticket.close", writes=True, callers="the requester, support and admin",
           returns=TicketView,
           raises=((errors.NotFound, "no such ticket, or another's"),
                   (errors.Conflict, "the ticket is already closed")))
def close_ticket(session, principal, *, reference, text=None):
    """Close a ticket, with a last message when ``text`` is given."""
    user, ticket = _readable(session, principal, reference)
    text = _text(text) if text is not None else None
    if ticket.state == "closed":
        raise errors.Conflict("ticket %s is already closed" % ticket.reference)
    close(session, ticket, person_for(session, user), text)
    session.flush()
    return ticket_view(session, ticket)


@operation("ticket.reopen", writes=True, callers="the requester, support and admin",
           returns=TicketView,
           raises=((errors.NotFound, "no such ticket, or another's"),
                   (errors.Conflict, "the ticket is open")))
def reopen_ticket(session, principal, *, reference, text=None):
    """Reopen a closed ticket, with a message when ``text`` is given; it is the operator's
    turn."""
    user, ticket = _readable(session, principal, reference)
    text = _text(text) if text is not None else None
    if ticket.state != "closed":
        raise errors.Conflict("ticket %s is open" % ticket.reference)
    ticket.state, ticket.closed_at = "open", None
    if text is not None:
        add_message(session, ticket, person_for(session, user), text)
    ticket.turn, ticket.updated_at = "operator", now()
    session.flush()
    return ticket_view(session, ticket)


@operation("ticket.attachment", writes=False, callers="the requester, support and admin",
           returns=TicketAttachmentView,
           raises=((errors.NotFound, "no such ticket, message or attachment, or another's"),))
def get_attachment(session, principal, *, reference, message):
    """The file attached to one message of a ticket."""
    _, ticket = _readable(session, principal, reference)
    found = None
    if isinstance(message, float) and message.is_integer():
        message = int(message)
    if isinstance(message, int) and message >= 1:
        found = session.scalar(select(TicketMessage).where(
            TicketMessage.ticket_id == ticket.id).order_by(TicketMessage.id)
            .offset(message - 1).limit(1))
    if found is None or found.attachment is None:
        raise errors.NotFound("message %s of %s has no attachment" % (message, ticket.reference))
    return TicketAttachmentView(ticket=ticket.reference, message=message,
                                media_type=found.attachment_type,
                                filename=found.attachment_name, content=found.attachment)
