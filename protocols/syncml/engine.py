"""The SyncML server's sessions: packages, anchors, item changes, maps, all over slap_core.

One :class:`Session` per device and SessionID holds what a sync needs between messages: who
logged in, each store's agreed mode and anchors, the device's item ids for the master's, and the
master's changes still to send. What the session ends with is remembered in the core
(``sync.record``) once the session ended well, never before, so a broken session leaves the
last good one in force. Each item change is a slap_core operation called as the person who
logged in (the store's); the engine holds no rule about people or instances.

Every problem inside a session is a SyncML Status in an HTTP 200 answer: a SyncML client takes
any other answer for a network failure and sends the same message again, which then gets the
same answer (the last reply of each session is kept).
"""

import base64
import binascii
import hashlib
import logging
import os
import threading
import time
from datetime import datetime, timezone

from lxml import etree

from protocols.syncml.contacts import ContactsStore
from protocols.syncml.items import ItemRefused, digest
from protocols.syncml.instances import InstancesStore
from protocols.syncml.server_items import CatalogueStore, InvoicesStore
from protocols.syncml.tickets import TicketsStore
from protocols.syncml.message import (DEVINF, DEVINF_TYPE, MAX_MESSAGE, E, Reply, anchor, child, children,
                                      loc, local, meta, text)
from slap_core import errors

log = logging.getLogger(__name__)
TWO_WAY, SLOW, ONE_WAY_FROM_CLIENT, REFRESH_FROM_CLIENT, ONE_WAY_FROM_SERVER, \
    REFRESH_FROM_SERVER = 200, 201, 202, 203, 204, 205
NEXT_MESSAGE = 222
BASIC, MD5 = "syncml:auth-basic", "syncml:auth-md5"
# A mode that needs matching anchors, and the mode it becomes when they do not match.
SLOW_FOR = {TWO_WAY: SLOW, ONE_WAY_FROM_CLIENT: REFRESH_FROM_CLIENT,
            ONE_WAY_FROM_SERVER: REFRESH_FROM_SERVER}
# Modes in which the master sends its changes, and those that start from nothing agreed.
SERVER_SENDS = {TWO_WAY, SLOW, ONE_WAY_FROM_SERVER, REFRESH_FROM_SERVER}
STARTS_OVER = {SLOW, REFRESH_FROM_CLIENT, REFRESH_FROM_SERVER}
STORES = {store.name: store for store in (ContactsStore, InstancesStore, CatalogueStore,
                                          InvoicesStore, TicketsStore)}
# The digest of an item the device deleted and the master is still winding up (an instance
# being destroyed): not sent again while it lasts.
DELETED = "-"
# How long a session waits for its device's next message (SyncEvolution retries for 5 minutes).
SESSION_TTL = 600.0
MAX_SESSIONS = 10000
DEVINF_URIS = ("./devinf12", "./devinf11", "./devinf10", "devinf12")
UNSUPPORTED = ("Atomic", "Sequence", "Copy", "Exec", "Search", "Move")


def store_name(uri):
    """The store a LocURI names (``./contacts``, ``contacts``, ``http://host/syncml/contacts``)."""
    name = uri.strip().rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    return name.lower()


def new_anchor():
    """A fresh anchor of the master: the UTC time, to the microsecond."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


class StoreSync:
    """One store within a session: its mode, both sides' anchors, the map and digests."""

    def __init__(self, store, client_uri, partnership, mode, client_next):
        self.store = store
        self.client_uri = client_uri
        self.mode = mode
        self.client_next = client_next
        self.server_last = partnership.server_anchor
        self.server_next = new_anchor()
        self.mapping = dict(partnership.mapping)
        # Its reverse, kept beside it: each of a device's items is looked up by its own id.
        self.luids = {luid: guid for guid, luid in self.mapping.items()}
        self.digests = dict(partnership.digests)
        if mode in STARTS_OVER:
            self.start_over()
        self._items = None
        self._index = None

    def start_over(self):
        """Forget what was agreed: every item is compared by content again (a slow sync)."""
        self.mapping, self.luids, self.digests = {}, {}, {}

    def slow(self):
        """The device asked for a slow sync (508 on our Alert)."""
        self.mode = SLOW_FOR.get(self.mode, self.mode)
        self.start_over()

    def bind(self, guid, luid):
        """The device names the master's item ``guid`` ``luid``."""
        self.unbind(guid)
        self.mapping[guid] = luid
        self.luids[luid] = guid

    def unbind(self, guid):
        """The device no longer holds ``guid``; its id for it, or None."""
        luid = self.mapping.pop(guid, None)
        if luid is not None and self.luids.get(luid) == guid:
            del self.luids[luid]
        return luid

    def items(self):
        """The store's items, read once per session."""
        if self._items is None:
            self._items = self.store.items()
        return self._items

    def index(self):
        """{key: master id} of the keys cards are paired by (a slow sync matches by content)."""
        if self._index is None:
            self._index = {}
            for guid, item in self.items().items():
                for key in self.store.keys(self.store.read(item)):
                    self._index.setdefault(key, guid)
        return self._index

    def apply(self, kind, luid, data):
        """Apply a device's Add, Replace or Delete of its item ``luid``; the Status code."""
        items = self.items()
        guid = self.luids.get(luid)
        if kind == "Delete":
            if guid is None:
                return 211
            try:
                self.store.delete(guid)
            except ItemRefused as refusal:  # still the device's: it stays mapped
                return refusal.code
            self.unbind(guid)  # its digest stays: the item is not sent back unchanged
            self.digests[guid] = DELETED  # gone for the device while the master winds it up
            return 200
        card = self.store.read(data)  # the device's item as the store reads it
        if guid is None or guid not in items:
            guid = next((self.index()[key] for key in self.store.keys(card)
                         if key in self.index()), None)
        if guid is None:
            guid, written = self.store.create(card, items)
            code = 201
        else:
            conflict = (self.mode == TWO_WAY and guid in self.digests
                        and digest(items[guid]) != self.digests[guid])
            same = self.store.unchanged(card, items[guid])
            written = items[guid] if same else self.store.update(guid, card)
            code = 208 if conflict else 200
        items[guid] = written
        for key in self.store.keys(self.store.read(written)):
            self.index().setdefault(key, guid)
        # A store whose items carry what the master owns (an instance's status, its connection
        # parameters) sends the item back as the master now has it; others do not echo.
        self.digests[guid] = "" if self.store.echo else digest(written)
        self.bind(guid, luid)
        return code

    def map(self, luid, guid):
        """The device named its item ``luid`` for the master's ``guid``."""
        self.bind(guid, luid)

    def changes(self):
        """The master's changes since the last session: [(command, guid, luid, text)]."""
        if self.mode not in SERVER_SENDS:
            return []
        items = self.items()
        out = []
        for guid, item in items.items():
            now = digest(item)
            if self.digests.get(guid) in (now, DELETED):
                continue
            luid = self.mapping.get(guid)
            out.append(("Replace", guid, luid, item) if luid else ("Add", guid, None, item))
            self.digests[guid] = now
        for guid in [g for g in self.digests if g not in items]:
            del self.digests[guid]
            luid = self.unbind(guid)
            if luid:
                out.append(("Delete", guid, luid, None))
        return out


class Session:
    """What one device's SyncML session knows between its messages."""

    def __init__(self, key):
        self.key = key
        self.lock = threading.Lock()
        self.principal = None
        self.stores = {}
        self.sent_alerts = {}
        self.out_msg_id = 0
        self.init_done = False
        self.changes_made = False
        self.outbox = []
        self.failed = False
        self.done = False
        self.last_request = None
        self.last_reply = None
        self.touched = time.monotonic()


class Engine:
    """The SyncML server: ``handle(message)`` answers one parsed client message (blocking).

    ``master`` runs the core's operations; ``authenticate(login, password)`` returns the
    principal of a Basic login or raises Unauthenticated (the gateway's password check: local
    users, the directory, API tokens); ``authenticate_md5(login, nonce, response)`` that of a
    ``syncml:auth-md5`` credential (a person's SyncML secret). ``max_msg_size`` is the largest message the master takes
    (its SyncHdr tells devices, which then split what they send: without it, SyncEvolution drops
    the item that does not fit a message and counts it failed).
    """

    def __init__(self, master, authenticate, version="", clock=time.monotonic,
                 max_msg_size=MAX_MESSAGE, authenticate_md5=None):
        self.master = master
        self.authenticate_md5 = authenticate_md5
        self.nonces = {}  # device id -> the nonce its next MD5 credential must use
        self.max_msg_size = max_msg_size
        self.version = version
        self.authenticate = authenticate
        self.clock = clock
        self.sessions = {}
        self.lock = threading.Lock()

    def _session(self, message):
        key = (message.source, message.session_id)
        now = self.clock()
        with self.lock:
            if len(self.sessions) >= MAX_SESSIONS or not self.sessions.get(key):
                for old in [k for k, s in self.sessions.items() if now - s.touched > SESSION_TTL]:
                    del self.sessions[old]
            session = self.sessions.get(key)
            if session is None or (session.done and message.msg_id == "1"):
                session = self.sessions[key] = Session(key)
            session.touched = now
            return session

    def handle(self, message, body):
        """The reply (bytes) to ``message`` whose raw bytes were ``body``."""
        session = self._session(message)
        request = hashlib.sha256(body).digest()
        with session.lock:
            if session.last_request == request:
                return session.last_reply
            if message.msg_id == "1" and session.init_done:
                session.__init__(session.key)  # the device started this session over
            try:
                reply = self._answer(session, message)
            except Exception:  # a bug must still be a SyncML answer, or the device resends
                log.exception("SyncML session %r failed", session.key)
                session.out_msg_id += 1
                failed = Reply(message, session.out_msg_id)
                failed.status(0, "SyncHdr", 511, message.target, message.source)
                reply = failed.serialize(final=True)
                session.done = True
            session.last_request, session.last_reply = request, reply
            return reply

    def _answer(self, session, message):
        session.out_msg_id += 1
        reply = Reply(message, session.out_msg_id, max_msg_size=self.max_msg_size)
        header_code, kind = self._authenticate(session, message)
        if header_code in (401, 407, 503):  # 503: the directory did not answer
            reply.status(0, "SyncHdr", header_code, message.target, message.source,
                         self._challenge(message.source, kind) if header_code != 503
                         else None)
            for command in message.commands:
                if local(command) != "Status":
                    reply.status(text(command, "CmdID"), local(command), header_code)
            return reply.serialize(final=True)
        # After an MD5 login, the nonce of the device's next session comes with the 212.
        reply.status(0, "SyncHdr", header_code, message.target, message.source,
                     self._challenge(message.source, MD5) if kind == MD5 else None)
        for command in message.commands:
            self._command(session, message, reply, command)
        return self._finish(session, message, reply)

    def _authenticate(self, session, message):
        """(SyncHdr status, the kind of credentials the device used or should use)."""
        if session.principal is not None:
            return 200, None
        cred = message.cred
        if cred is None:
            return 407, BASIC
        kind = text(cred, "Meta", "Type") or BASIC
        try:
            if kind == BASIC:
                login, _, password = base64.b64decode(text(cred, "Data"), validate=True) \
                    .decode("utf-8").partition(":")
                session.principal = self.authenticate(login, password)
            elif kind == MD5 and self.authenticate_md5 is not None:
                with self.lock:
                    nonce = self.nonces.pop(message.source, "")
                if not nonce:  # none given yet: a credential without one could be replayed
                    return 401, MD5
                session.principal = self.authenticate_md5(message.loc_name, nonce,
                                                          text(cred, "Data"))
            else:
                return 401, BASIC
        except errors.Unavailable:  # the directory did not answer: not a wrong password
            return 503, kind
        except (binascii.Error, ValueError, UnicodeDecodeError, errors.SlapError):
            return 401, kind
        return 212, kind

    def _challenge(self, device, kind):
        """A Chal for ``kind``; an MD5 one carries a fresh nonce, kept for ``device``."""
        if kind != MD5:
            return E("Chal", meta(Type=BASIC, Format="b64"))
        nonce = base64.b64encode(os.urandom(12)).decode("ascii")
        with self.lock:
            if len(self.nonces) >= MAX_SESSIONS:
                self.nonces.clear()
            self.nonces[device] = nonce
        return E("Chal", meta(Type=MD5, Format="b64", NextNonce=nonce))

    def _command(self, session, message, reply, command):
        name = local(command)
        cmd_id = text(command, "CmdID")
        if name == "Status":
            self._status(session, command)
        elif name == "Alert":
            self._alert(session, message, reply, command, cmd_id)
        elif name == "Sync":
            self._sync(session, reply, command, cmd_id)
        elif name == "Map":
            self._map(session, reply, command, cmd_id)
        elif name == "Get":
            target = text(command, "Item", "Target", "LocURI")
            if target in DEVINF_URIS:
                reply.status(cmd_id, "Get", 200, target)
                reply.add(E("Results", E("MsgRef", message.msg_id), E("CmdRef", cmd_id),
                            meta(Type=DEVINF_TYPE),
                            E("Item", loc("Source", "./devinf12"), E("Data", devinf(self.version)))))
            else:
                reply.status(cmd_id, "Get", 404, target)
        elif name in ("Put", "Results"):
            reply.status(cmd_id, name, 200, None, text(command, "Item", "Source", "LocURI"))
        else:
            reply.status(cmd_id, name, 406)

    def _status(self, session, command):
        # A device that does not recognise our anchor answers our Alert with 508: slow sync.
        alerted = session.sent_alerts.get((text(command, "MsgRef"), text(command, "CmdRef")))
        if alerted is not None and text(command, "Data") == "508":
            session.stores[alerted].slow()

    def _alert(self, session, message, reply, command, cmd_id):
        try:
            code = int(text(command, "Data"))
        except ValueError:
            code = 0
        item = child(command, "Item")
        target = text(item, "Target", "LocURI")
        source = text(item, "Source", "LocURI")
        if code == NEXT_MESSAGE:
            reply.status(cmd_id, "Alert", 200, target, source)
            return
        if code not in SLOW_FOR and code not in STARTS_OVER:
            reply.status(cmd_id, "Alert", 406, target, source)
            return
        store_class = STORES.get(store_name(target))
        if store_class is None:
            reply.status(cmd_id, "Alert", 404, target, source)
            return
        name = store_class.name
        last = text(item, "Meta", "Anchor", "Last")
        client_next = text(item, "Meta", "Anchor", "Next")
        try:
            partnership = self.master.call("sync.get", session.principal,
                                           device=message.source, store=name)
        except errors.SlapError:
            reply.status(cmd_id, "Alert", 500, target, source)
            return
        code_status, mode = 200, code
        if code in SLOW_FOR and (not partnership.client_anchor
                                 or partnership.client_anchor != last):
            code_status, mode = 508, SLOW_FOR[code]
        sync = StoreSync(store_class(self.master, session.principal), source, partnership, mode,
                         client_next)
        session.stores[name] = sync
        reply.status(cmd_id, "Alert", code_status, target, source,
                      E("Item", E("Data", anchor(next_=client_next))))

    def _sync(self, session, reply, command, cmd_id):
        target = text(command, "Target", "LocURI")
        source = text(command, "Source", "LocURI")
        sync = session.stores.get(store_name(target))
        reply.status(cmd_id, "Sync", 200 if sync else 404, target, source)
        for change in command:
            kind = local(change)
            if kind in ("CmdID", "Target", "Source", "Meta", "NumberOfChanges", "Cred", ""):
                continue
            change_id = text(change, "CmdID")
            if kind not in ("Add", "Replace", "Delete"):
                reply.status(change_id, kind, 406)
                continue
            for item in children(change, "Item"):
                luid = text(item, "Source", "LocURI") or text(item, "Target", "LocURI")
                if sync is None:
                    code = 404
                elif sync.mode in (ONE_WAY_FROM_SERVER, REFRESH_FROM_SERVER):
                    code = 405
                else:
                    data = child(item, "Data")
                    try:
                        code = sync.apply(kind, luid, "" if data is None else
                                          "".join(data.itertext()))
                    except ItemRefused as refusal:
                        code = refusal.code
                reply.status(change_id, kind, code, None, luid)

    def _map(self, session, reply, command, cmd_id):
        target = text(command, "Target", "LocURI")
        source = text(command, "Source", "LocURI")
        sync = session.stores.get(store_name(target))
        reply.status(cmd_id, "Map", 200 if sync else 404, target, source)
        if sync is not None:
            for item in children(command, "MapItem"):
                # the master's id is the item's target, the device's its source (OMA DS 1.2)
                sync.map(text(item, "Source", "LocURI"), text(item, "Target", "LocURI"))

    def _finish(self, session, message, reply):
        if not message.final:
            if not session.outbox:
                return reply.serialize(final=False)
        elif not session.init_done:
            for name, sync in session.stores.items():
                cmd_id = reply.add(E("Alert", E("Data", sync.mode), E(
                    "Item", loc("Target", sync.client_uri), loc("Source", name),
                    E("Meta", anchor(sync.server_last or None, sync.server_next)))))
                session.sent_alerts[(str(session.out_msg_id), str(cmd_id))] = name
            session.init_done = True
            return reply.serialize(final=True)
        elif not session.changes_made:
            session.changes_made = True
            for sync in session.stores.values():
                try:
                    session.outbox.extend((sync, change) for change in sync.changes())
                except ItemRefused:  # the master could not be read: agree on nothing new
                    log.warning("SyncML %r: the %s store could not be read", session.key,
                                sync.store.name)
                    session.failed = True
            if not session.outbox:
                return self._commit(session, reply)
        elif not session.outbox:
            return self._commit(session, reply)
        self._send_changes(session, reply, message.max_msg_size)
        if session.outbox:
            return reply.serialize(final=False)
        return reply.serialize(final=True)

    def _send_changes(self, session, reply, limit):
        sync_element, current = None, None
        budget = limit - 1024
        while session.outbox:
            sync, (kind, guid, luid, item) = session.outbox[0]
            command = _change(kind, guid, luid, item, sync.store.types[0][0])
            size = len(etree.tostring(command)) + 40
            if sync_element is not None and reply.size + size > budget:
                break
            if sync is not current:
                sync_element = E("Sync", loc("Target", sync.client_uri),
                                 loc("Source", sync.store.name))
                reply.add(sync_element)
                current = sync
            command.insert(0, E("CmdID", reply.next_id))
            reply.next_id += 1
            sync_element.append(command)
            reply.size += size
            session.outbox.pop(0)

    def _commit(self, session, reply):
        if session.failed:
            session.done = True
            return reply.serialize(final=True)
        for name, sync in session.stores.items():
            try:
                self.master.call("sync.record", session.principal, device=session.key[0],
                                 store=name, client_anchor=sync.client_next[:64],
                                 server_anchor=sync.server_next, mapping=sync.mapping,
                                 digests=sync.digests)
            except errors.SlapError:
                return reply.serialize(final=True)
        session.done = True
        return reply.serialize(final=True)


def _change(kind, guid, luid, item, content_type):
    if kind == "Delete":
        return E("Delete", E("Item", loc("Target", luid), loc("Source", guid)))
    parts = [loc("Target", luid)] if luid else []
    return E(kind, meta(Type=content_type),
             E("Item", *parts, loc("Source", guid), E("Data", item)))


def devinf(version):
    """The master's DevInf: who it is (``version`` its software's), the stores it offers, with
    their types and modes."""
    def d(tag, *content):
        return E(tag, *content, ns=DEVINF)

    stores = []
    for store in STORES.values():
        (pref_type, pref_version), *others = store.types
        stores.append(d(
            "DataStore", d("SourceRef", store.name), d("DisplayName", store.display_name),
            d("MaxGUIDSize", 255),
            d("Rx-Pref", d("CTType", pref_type), d("VerCT", pref_version)),
            *[d("Rx", d("CTType", t), d("VerCT", v)) for t, v in others],
            d("Tx-Pref", d("CTType", pref_type), d("VerCT", pref_version)),
            *[d("Tx", d("CTType", t), d("VerCT", v)) for t, v in others],
            d("SyncCap", *[d("SyncType", n) for n in range(1, 7)])))
    return d("DevInf", d("VerDTD", "1.2"), d("Man", "slapgate"), d("Mod", "slapgate master"),
             d("OEM", "slapgate"), d("FwV", "-"), d("SwV", version or "-"), d("HwV", "-"),
             d("DevID", "slapgate"), d("DevTyp", "server"), d("UTC"),
             d("SupportNumberOfChanges"), *stores)
