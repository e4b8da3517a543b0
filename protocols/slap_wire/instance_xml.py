"""Instance and connection parameter XML (``slapos.util.dict2xml`` / ``xml2dict``; spec 3.3).

::

    <?xml version='1.0' encoding='utf-8'?>
    <instance>
      <parameter id="foo">bar</parameter>
    </instance>

:func:`dumps` writes the same text as slapos.core 1.26.1: keys sorted, two-space indent, the
declaration in single quotes, UTF-8 characters as they are, a trailing newline; values that are not
strings are written as ``str(value)`` (``1`` → ``"1"``, ``None`` → ``"None"``). :func:`loads`
reads it back: an empty parameter gives None (so ``""`` does not survive), a repeated id has its
texts joined with a space.
"""

from collections.abc import Mapping

from slap_core import errors, safe_xml
from protocols.slap_wire import xml_text
import schemas

DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"
SCHEMA = "instance_parameters.xsd"
_DUPLICATE_ID = "SCHEMAV_CVC_IDC"


class InstanceXMLError(errors.Invalid, ValueError):
    """Parameters that cannot be written as instance XML, or instance XML that cannot be read."""


def _text(value, what):
    """``value`` as the str that goes on the wire, checked for characters XML cannot carry."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InstanceXMLError("%s is not UTF-8: %s" % (what, error)) from None
    elif not isinstance(value, str):
        value = str(value)
    bad = xml_text.first_unserializable(value)
    if bad is not None:
        raise InstanceXMLError("%s: %s" % (what, xml_text.describe_unserializable(value, bad)))
    return value


def dumps(parameters):
    """The instance XML (str) of the mapping ``parameters``, as ``slapos.util.dict2xml`` writes it.

    Keys must be str or UTF-8 bytes of one kind (upstream sorts them together);
    :class:`InstanceXMLError` otherwise, and for characters XML cannot carry.
    """
    if not isinstance(parameters, Mapping):
        raise InstanceXMLError("instance parameters must be a mapping")
    try:
        items = sorted(parameters.items())
    except TypeError as error:
        raise InstanceXMLError("parameter names cannot be sorted: %s" % error) from None
    if not items:
        return DECLARATION + "<instance/>\n"
    lines = [DECLARATION, "<instance>\n"]
    for key, value in items:
        if not isinstance(key, (str, bytes)):
            raise InstanceXMLError("parameter names must be strings, not %s" % type(key).__name__)
        key = _text(key, "a parameter name")
        value = _text(value, "parameter %r" % key)
        lines.append('  <parameter id="%s">%s</parameter>\n'
                     % (xml_text.escape_attribute(key), xml_text.escape_text(value)))
    lines.append("</instance>\n")
    return "".join(lines)


def _validate(root):
    """Check ``root`` against the schema, except its rule that ids are unique (upstream joins)."""
    xsd = safe_xml.schema(str(schemas.path(SCHEMA)))
    if xsd.validate(root):
        return
    for error in xsd.error_log:
        if error.type_name != _DUPLICATE_ID:
            raise InstanceXMLError("instance XML does not match %s: line %s: %s"
                                   % (SCHEMA, error.line, error.message))


def loads(text, max_bytes=safe_xml.MAX_XML_BYTES):
    """The dict that instance XML ``text`` (str or bytes) holds, as ``slapos.util.xml2dict`` reads it.

    Empty or None text gives ``{}``; an empty parameter gives None; texts of a repeated id are
    joined with a space (a repeated id that is empty is refused: upstream fails on it). The
    document is parsed safely and checked against ``schemas/instance_parameters.xsd``; anything
    malformed, hostile, oversized or off-schema raises :class:`InstanceXMLError`.
    """
    if text is None or (isinstance(text, (str, bytes)) and not text):
        return {}
    try:
        root = safe_xml.parse(text, max_bytes, what="instance XML")
    except errors.Invalid as error:
        raise InstanceXMLError(str(error)) from None
    _validate(root)
    result = {}
    for element in root:
        key, value = element.get("id"), element.text
        previous = result.get(key)
        if previous is not None:
            if value is None:
                raise InstanceXMLError("parameter %r is repeated empty" % key)
            value = previous + " " + value
        result[key] = value
    return result
