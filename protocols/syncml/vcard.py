"""vCards (3.0, ``text/vcard``; 2.1, ``text/x-vcard``) to and from a person's contact card.

Only what a person's card holds travels: the full name (FN, else built from N), the first EMAIL,
TEL and ORG, and the UID (the person's login on the master). Everything else a device keeps in
its card (addresses, photos...) is ignored on the way in; what the master sends is a vCard 3.0
of those fields alone.
"""

import binascii
import quopri
import re
from dataclasses import dataclass

# The most a card may hold (bytes): a person's card is a few hundred.
MAX_CARD = 64 * 1024


class BadCard(ValueError):
    """The item is not a vCard this adaptor can read."""


@dataclass(frozen=True)
class Card:
    """The fields of a contact card (empty string: absent)."""

    uid: str = ""
    full_name: str = ""
    email: str = ""
    phone: str = ""
    organisation: str = ""


def _unfold(text):
    # RFC 2425 folding: a line break followed by a space or a tab continues the line; 2.1's
    # quoted-printable soft breaks ("=" at a line's end) join the next line too.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\n[ \t]", "", text)
    return re.sub(r"=\n", "=\r", text).split("\n")


def _unescape(value):
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _split(value):
    # Split a structured value at unescaped semicolons.
    return [_unescape(part) for part in re.split(r"(?<!\\);", value)]


def _decode(params, value):
    encoding = params.get("ENCODING", "").upper()
    charset = params.get("CHARSET", "utf-8")
    raw = None
    if encoding == "QUOTED-PRINTABLE":
        raw = quopri.decodestring(value.replace("=\r", "=\n").encode("latin-1", "replace"))
    elif encoding in ("B", "BASE64"):
        try:
            raw = binascii.a2b_base64(value)
        except binascii.Error:
            raise BadCard("a base64 value that is not base64") from None
    if raw is None:
        return value
    try:
        return raw.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


def _line(line):
    name, separator, value = line.partition(":")
    if not separator:
        raise BadCard("a vCard line without a colon: %r" % line[:60])
    parts = name.split(";")
    prop = parts[0].split(".")[-1].upper()  # a group prefix (item1.EMAIL) names nothing we keep
    params = {}
    for param in parts[1:]:
        key, equals, param_value = param.partition("=")
        if equals:
            params[key.upper()] = param_value
        else:  # 2.1's bare parameters: TEL;CELL, EMAIL;INTERNET, ;QUOTED-PRINTABLE
            bare = key.upper()
            if bare in ("QUOTED-PRINTABLE", "BASE64", "B"):
                params["ENCODING"] = bare
    return prop, params, _decode(params, value)


def parse(text):
    """The Card of a vCard 2.1 or 3.0 text; BadCard when it is not one."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if len(text) > MAX_CARD:
        raise BadCard("a vCard larger than %d bytes" % MAX_CARD)
    lines = [line for line in _unfold(text.strip()) if line.strip()]
    if not lines or lines[0].strip().upper() != "BEGIN:VCARD" or \
            lines[-1].strip().upper() != "END:VCARD":
        raise BadCard("not a vCard (BEGIN:VCARD ... END:VCARD)")
    fields = {}
    names = None
    for line in lines[1:-1]:
        prop, params, value = _line(line.strip())
        if prop == "N" and names is None:
            names = _split(value)
        elif prop in ("FN", "UID", "EMAIL", "TEL") and prop not in fields:
            fields[prop] = _unescape(value).strip()
        elif prop == "ORG" and prop not in fields:
            fields[prop] = _split(value)[0].strip()
    full_name = fields.get("FN", "")
    if not full_name and names:
        family, given = (names + ["", ""])[:2]
        full_name = " ".join(part.strip() for part in (given, family) if part.strip())
    return Card(uid=fields.get("UID", ""), full_name=_one_line(full_name),
                email=_one_line(fields.get("EMAIL", "")), phone=_one_line(fields.get("TEL", "")),
                organisation=_one_line(fields.get("ORG", "")))


def _one_line(value):
    return " ".join(value.split())


def _escape(value):
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def format_card(card):
    """The vCard 3.0 text of ``card`` (CRLF line ends, as RFC 2425 wants)."""
    given, _, family = card.full_name.rpartition(" ")
    if not given:
        given, family = family, ""
    lines = ["BEGIN:VCARD", "VERSION:3.0", "UID:" + _escape(card.uid),
             "FN:" + _escape(card.full_name), "N:%s;%s;;;" % (_escape(family), _escape(given))]
    if card.email:
        lines.append("EMAIL;TYPE=INTERNET:" + _escape(card.email))
    if card.phone:
        lines.append("TEL:" + _escape(card.phone))
    if card.organisation:
        lines.append("ORG:" + _escape(card.organisation))
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"
