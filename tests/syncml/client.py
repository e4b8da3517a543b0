"""A small SyncML client for tests: writes a device's messages with lxml, reads the answers.

It drives :class:`protocols.syncml.engine.Engine` directly (``EngineClient``) or posts to a
master's ``/syncml`` (the caller sends :meth:`SyncMLClient.body`).
"""

import base64

from lxml import etree

from protocols.syncml import message as messages

NS = messages.SYNCML
METINF = messages.METINF


def el(tag, *content, ns=NS, **attributes):
    """An element (text content when a str or int)."""
    element = etree.Element("{%s}%s" % (ns, tag), **attributes)
    for item in content:
        if item is None:
            continue
        if isinstance(item, (str, int)):
            element.text = str(item)
        else:
            element.append(item)
    return element


def loc(tag, uri):
    """Target/Source with a LocURI."""
    return el(tag, el("LocURI", uri))


def alert(code, store="contacts", local="./addressbook", last=None, next_="1"):
    """A device's Alert for ``store`` with its anchors."""
    anchor = el("Anchor", el("Last", last, ns=METINF) if last is not None else None,
                el("Next", next_, ns=METINF), ns=METINF)
    return el("Alert", el("Data", code), el("Item", loc("Target", store), loc("Source", local),
                                             el("Meta", anchor)))


def change(kind, luid, data=None, content_type="text/vcard"):
    """An Add, Replace or Delete of the device's item ``luid``."""
    item = el("Item", loc("Source", luid), el("Data", data) if data is not None else None)
    return el(kind, el("Meta", el("Type", content_type, ns=METINF)), item)


def sync(*changes, store="contacts", local="./addressbook"):
    """A Sync of the device's changes."""
    return el("Sync", loc("Target", store), loc("Source", local), *changes)


def map_items(pairs, store="contacts", local="./addressbook"):
    """A Map of (master id, device id) pairs."""
    return el("Map", loc("Target", store), loc("Source", local),
              *[el("MapItem", loc("Target", guid), loc("Source", luid)) for guid, luid in pairs])


class SyncMLClient:
    """Writes one device's messages: SessionID, MsgID counting up, CmdIDs from 1, Basic Cred."""

    def __init__(self, device="test-device", user=None, password=None, session="1"):
        self.device, self.user, self.password, self.session = device, user, password, session
        self.msg_id = 0

    def body(self, *commands, final=True, cred=True, msg_id=None):
        """The bytes of the next message holding ``commands`` (``cred``: Basic credentials,
        none, or a Cred element of the caller's)."""
        self.msg_id = msg_id or self.msg_id + 1
        header = el("SyncHdr", el("VerDTD", "1.2"), el("VerProto", "SyncML/1.2"),
                    el("SessionID", self.session), el("MsgID", self.msg_id),
                    loc("Target", "http://127.0.0.1/syncml"),
                    el("Source", el("LocURI", self.device), el("LocName", self.user or "")))
        if isinstance(cred, etree._Element):
            header.append(cred)
        elif cred and self.user is not None:
            data = base64.b64encode(("%s:%s" % (self.user, self.password)).encode()).decode()
            header.append(el("Cred", el("Meta", el("Type", "syncml:auth-basic", ns=METINF),
                                        el("Format", "b64", ns=METINF)), el("Data", data)))
        body = el("SyncBody")
        number = 0
        for command in commands:
            command = etree.fromstring(etree.tostring(command))
            number += 1
            command.insert(0, el("CmdID", number))
            if messages.local(command) == "Sync":
                for inner in command:
                    if messages.local(inner) in ("Add", "Replace", "Delete"):
                        number += 1
                        inner.insert(0, el("CmdID", number))
            body.append(command)
        if final:
            body.append(el("Final"))
        return etree.tostring(el("SyncML", header, body), xml_declaration=True,
                              encoding="UTF-8")


class Answer:
    """A server's reply, read: statuses by (command, reference), commands by name."""

    def __init__(self, data):
        self.data = data
        self.root = etree.fromstring(data)
        self.body = messages.child(self.root, "SyncBody")

    def commands(self, name):
        """The body's commands called ``name``."""
        return messages.children(self.body, name)

    def statuses(self, cmd=None):
        """[(Cmd, CmdRef, code, SourceRef or TargetRef)] of the reply's Status commands."""
        found = []
        for status in self.commands("Status"):
            if cmd is None or messages.text(status, "Cmd") == cmd:
                found.append((messages.text(status, "Cmd"), messages.text(status, "CmdRef"),
                              int(messages.text(status, "Data")),
                              messages.text(status, "SourceRef")
                              or messages.text(status, "TargetRef")))
        return found

    def header_status(self):
        """The code of the Status for our SyncHdr."""
        return self.statuses("SyncHdr")[0][2]

    @property
    def final(self):
        """Whether the reply ends its package."""
        return messages.child(self.body, "Final") is not None

    def server_alert(self):
        """(code, Last, Next) of the server's Alert."""
        (alert_element,) = self.commands("Alert")
        item = messages.child(alert_element, "Item")
        return (int(messages.text(alert_element, "Data")),
                messages.text(item, "Meta", "Anchor", "Last"),
                messages.text(item, "Meta", "Anchor", "Next"))

    def items(self):
        """[(command, master id, device id, data)] of the server's Sync."""
        found = []
        for sync_element in self.commands("Sync"):
            for command in sync_element:
                if messages.local(command) in ("Add", "Replace", "Delete"):
                    item = messages.child(command, "Item")
                    found.append((messages.local(command),
                                  messages.text(item, "Source", "LocURI"),
                                  messages.text(item, "Target", "LocURI"),
                                  messages.text(item, "Data")))
        return found


class EngineClient(SyncMLClient):
    """A SyncMLClient that hands its messages to an Engine and reads the answers."""

    def __init__(self, engine, **settings):
        super().__init__(**settings)
        self.engine = engine

    def send(self, *commands, **options):
        """The Answer to a message holding ``commands``."""
        data = self.body(*commands, **options)
        return Answer(self.engine.handle(messages.parse(data), data))
