"""Character rules of libxml2's serializer, which both SlapOS wire codecs inherit through lxml.

Upstream builds its documents with lxml, so its bytes follow libxml2: lxml refuses the characters
XML 1.0 cannot carry; text escapes ``& < >`` and the carriage return; attribute values also escape
``"``, tab and line feed. A document serialized without an encoding is ASCII: every other character
becomes a decimal character reference (``é`` → ``&#233;``).
"""

import re

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def first_unserializable(text):
    """The index of the first character lxml would refuse to serialize in ``text``, or None."""
    match = _NOT_XML.search(text)
    return None if match is None else match.start()


def describe_unserializable(text, index):
    """A short message naming the character at ``index`` that cannot travel in XML."""
    return "U+%04X at position %d cannot be written in XML" % (ord(text[index]), index)


def escape_text(text):
    """``text`` as libxml2 writes element content: ``& < >`` as entities, CR as ``&#13;``."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


def escape_attribute(text):
    """``text`` as libxml2 writes a double-quoted attribute value."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\r", "&#13;").replace("\n", "&#10;")
            .replace("\t", "&#9;"))


def to_ascii(document):
    """Encode ``document`` as ASCII, non-ASCII characters as decimal character references."""
    return document.encode("ascii", "xmlcharrefreplace")
