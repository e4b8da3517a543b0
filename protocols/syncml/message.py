"""SyncML 1.2 messages in XML: reading a client's (safely, namespace-blind) and writing ours.

Element names are matched by local name whatever namespace a client puts them in (clients differ;
OMA DS lets Meta children live in ``syncml:metinf``). A DOCTYPE naming the SyncML DTD is
tolerated and never loaded; an internal subset or an entity declaration is refused before the
message gets here (the gateway's guard, ``gateway/guard.py``), and the parser resolves nothing.
"""

from dataclasses import dataclass, field

from lxml import etree

# The largest message read: SyncEvolution's default MaxMsgSize is 150,000 bytes.
MAX_MESSAGE = 2 * 1024 * 1024
SYNCML = "SYNCML:SYNCML1.2"
METINF = "syncml:metinf"
DEVINF = "syncml:devinf"
DEVINF_TYPE = "application/vnd.syncml-devinf+xml"


class Unreadable(ValueError):
    """The body cannot be read as a SyncML message at all (answered with HTTP 400)."""


def local(element):
    """The local name of an element (no namespace)."""
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def child(element, *path):
    """The first descendant along ``path`` of local names, or None."""
    for name in path:
        if element is None:
            return None
        element = next((c for c in element if local(c) == name), None)
    return element


def children(element, name):
    """Every child of ``element`` whose local name is ``name``."""
    return [c for c in element if local(c) == name] if element is not None else []


def text(element, *path, default=""):
    """The stripped text at ``path`` below ``element``, or ``default``."""
    found = child(element, *path)
    if found is None or found.text is None:
        return default
    return found.text.strip()


def _parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True,
                           remove_pis=True)


@dataclass
class Message:
    """A client's message: its header's fields, its body's commands, whether it is Final."""

    root: object
    session_id: str
    msg_id: str
    target: str
    source: str
    loc_name: str
    cred: object
    max_msg_size: int
    commands: list = field(default_factory=list)
    final: bool = False
    verdtd: str = "1.2"
    resp_uri: str = ""  # where the master wants the device's next message (its own address)


def parse(body):
    """The Message of a request body; Unreadable when it is not a SyncML message."""
    try:
        root = etree.fromstring(body, _parser())
    except (etree.XMLSyntaxError, ValueError) as error:
        raise Unreadable("not well-formed XML: %s" % error) from None
    for node in root.iter():
        if isinstance(node, etree._Entity):
            raise Unreadable("a SyncML message may not use entity references")
    if local(root) != "SyncML":
        raise Unreadable("the document is not SyncML (its root is %r)" % local(root))
    header, body_element = child(root, "SyncHdr"), child(root, "SyncBody")
    if header is None or body_element is None:
        raise Unreadable("a SyncML message has a SyncHdr and a SyncBody")
    try:
        max_size = int(text(header, "Meta", "MaxMsgSize") or 150000)
    except ValueError:
        max_size = 150000
    commands = [c for c in body_element if local(c) and local(c) != "Final"]
    return Message(root=root, session_id=text(header, "SessionID"), msg_id=text(header, "MsgID"),
                   target=text(header, "Target", "LocURI"),
                   source=text(header, "Source", "LocURI"),
                   loc_name=text(header, "Source", "LocName"), cred=child(header, "Cred"),
                   max_msg_size=max(4096, min(max_size, MAX_MESSAGE)), commands=commands,
                   final=child(body_element, "Final") is not None,
                   verdtd=text(header, "VerDTD") or "1.2")


def E(tag, *content, ns=SYNCML):  # noqa: N802  (an element factory, as lxml's E)
    """An element ``tag`` in ``ns`` holding ``content``: elements, or text when a str/int."""
    element = etree.Element("{%s}%s" % (ns, tag), nsmap={None: ns})
    for item in content:
        if item is None:
            continue
        if isinstance(item, (str, int)):
            element.text = str(item)
        else:
            element.append(item)
    return element


def meta(**fields):
    """A Meta element whose children (Type, Format, MaxMsgSize...) are in ``syncml:metinf``."""
    return E("Meta", *[E(name, value, ns=METINF) for name, value in fields.items()
                       if value is not None])


def anchor(last=None, next_=None):
    """An Anchor element (``syncml:metinf``) with Last and Next."""
    return E("Anchor", E("Last", last, ns=METINF) if last is not None else None,
             E("Next", next_, ns=METINF), ns=METINF)


def loc(tag, uri):
    """A Target or Source element with its LocURI."""
    return E(tag, E("LocURI", uri))


class Reply:
    """The server's reply being written: CmdIDs from 1, its size kept as commands are added."""

    def __init__(self, request, msg_id, max_msg_size=None):
        self.request = request
        self.header = E("SyncHdr", E("VerDTD", "1.2"), E("VerProto", "SyncML/1.2"),
                        E("SessionID", request.session_id), E("MsgID", msg_id),
                        loc("Target", request.source), loc("Source", request.target),
                        E("RespURI", request.resp_uri) if request.resp_uri else None,
                        meta(MaxMsgSize=max_msg_size, MaxObjSize=max_msg_size)
                        if max_msg_size else None)
        self.commands = []
        self.next_id = 1
        self.size = len(etree.tostring(self.header)) + 200

    def add(self, element):
        """Append a command, giving it the next CmdID; returns the CmdID."""
        cmd_id = self.next_id
        self.next_id += 1
        element.insert(0, E("CmdID", cmd_id))
        self.commands.append(element)
        self.size += len(etree.tostring(element))
        return cmd_id

    def status(self, cmd_ref, cmd, code, target_ref=None, source_ref=None, *extra):
        """A Status for the client's command ``cmd_ref`` (0: its SyncHdr)."""
        refs = []
        if target_ref:
            refs.append(E("TargetRef", target_ref))
        if source_ref:
            refs.append(E("SourceRef", source_ref))
        return self.add(E("Status", E("MsgRef", self.request.msg_id), E("CmdRef", cmd_ref),
                          E("Cmd", cmd), *refs, E("Data", code), *extra))

    def serialize(self, final):
        """The reply's bytes, with ``Final`` when the package is complete."""
        body = E("SyncBody", *self.commands)
        if final:
            body.append(E("Final"))
        return etree.tostring(E("SyncML", self.header, body), xml_declaration=True,
                              encoding="UTF-8")
