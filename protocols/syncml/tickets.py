"""The ``tickets`` store: a person's support tickets (support's and admins': everyone's), one
XML item per ticket with its thread, as ``schemas/syncml_ticket.xsd`` defines it.

An ERP's CRM keeps its cases in step: a device's Add opens a ticket (``ticket.create``, its
first message the ticket's first), a Replace posts the messages it added (those without a
number: ``ticket.post``) and closes or reopens the ticket when its state changed; a Delete is
refused (405: a ticket is closed, never deleted). What the master owns (numbers, authors, dates,
reference, requester, turn) is never taken from a device: the item goes back as the master has
it, and answers from support flow to the device on its next sync.
"""

from lxml import etree

import schemas
from protocols.syncml.items import CoreStore, ItemRefused
from slap_core import errors, safe_xml

NS = "urn:slapgate:syncml:ticket:1"
CONTENT_TYPE = "application/vnd.slapgate.ticket+xml"
MAX_ITEM = 1024 * 1024


def _q(tag):
    return "{%s}%s" % (NS, tag)


def write_item(view):
    """The XML item of a TicketView."""
    root = etree.Element(_q("ticket"), nsmap={None: NS})

    def add(tag, value, **attributes):
        element = etree.SubElement(root, _q(tag), **attributes)
        element.text = value

    add("title", view.title)
    add("kind", view.kind)
    add("state", view.state)
    if view.tree:
        add("tree", view.tree)
    elif view.computer:
        add("computer", view.computer)
    for message in view.messages:
        add("message", message.text, number=str(message.number),
            author=message.author or "", posted_at="%.3f" % message.posted_at)
    add("reference", view.reference)
    add("requester", view.requester)
    add("turn", view.turn)
    return etree.tostring(root, encoding="unicode")


def read_item(data):
    """{title, kind, state, tree, computer, numbered, new} of an item (``new``: the texts of
    the messages without a number); ItemRefused (415) when it is not a ticket document."""
    try:
        root = safe_xml.parse(data.strip(), MAX_ITEM, what="ticket item")
        safe_xml.validate(root, schemas.path("syncml_ticket.xsd"), what="ticket item")
    except errors.Invalid as error:
        raise ItemRefused(415, str(error)) from None

    def one(tag):
        found = root.find(_q(tag))
        return None if found is None else (found.text or "")

    messages = root.findall(_q("message"))
    return {"title": one("title"), "kind": one("kind"), "state": one("state"),
            "tree": one("tree"), "computer": one("computer"),
            "reference": one("reference"),
            "numbered": len([m for m in messages if m.get("number")]),
            "new": [m.text or "" for m in messages if not m.get("number")]}


class TicketsStore(CoreStore):
    """Tickets as XML items keyed by reference."""

    name = "tickets"
    display_name = "Support tickets"
    types = ((CONTENT_TYPE, "1.0"),)
    echo = True  # the master's numbers, authors and answers go back

    def items(self):
        """{reference: item} of the tickets the caller may see, closed ones too."""
        return {summary.reference: write_item(self.call("ticket.get",
                                                         reference=summary.reference))
                for summary in self.call("ticket.list", include_closed=True)}

    read = staticmethod(read_item)

    @staticmethod
    def unchanged(record, item):
        """Whether the device's ``record`` adds no message and keeps the state."""
        current = read_item(item)
        return not record["new"] and record["state"] in (None, current["state"])

    @staticmethod
    def keys(record):
        """A ticket pairs by its reference, once the device has one."""
        return [("reference", record["reference"])] if record["reference"] else []

    def create(self, record, items):
        """Open the ticket with the item's first new message; returns (reference, item)."""
        if not record["new"]:
            raise ItemRefused(415, "a new ticket carries its first message")
        first, *more = record["new"]
        subject = {k: record[k] for k in ("tree", "computer") if record[k]}
        view = self.call("ticket.create", title=record["title"], text=first,
                          kind=record["kind"] or "information", **subject)
        for text in more:
            view = self.call("ticket.post", reference=view.reference, text=text)
        if record["state"] == "closed":
            view = self.call("ticket.close", reference=view.reference)
        return view.reference, write_item(view)

    def update(self, reference, record):
        """Reopen, post the new messages, close: what the device changed, in that order."""
        view = self.call("ticket.get", reference=reference)
        if record["new"] and view.state == "closed":
            view = self.call("ticket.reopen", reference=reference)
        elif record["state"] == "open" and view.state == "closed":
            view = self.call("ticket.reopen", reference=reference)
        for text in record["new"]:
            view = self.call("ticket.post", reference=reference, text=text)
        if record["state"] == "closed" and view.state != "closed":
            view = self.call("ticket.close", reference=reference)
        return write_item(view)

    def delete(self, reference):
        """A ticket is closed, not deleted."""
        raise ItemRefused(405, "a ticket is closed (state closed), never deleted")
