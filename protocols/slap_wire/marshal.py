"""The SLAP wire's marshal XML (``xml_marshaller`` as ``slapos.util.dumps``/``loads`` use it).

Written from the format (SLAP spec section 3.1), byte-identical to slapos.core 1.26.1:

* ``<marshal>`` holds one value; no declaration, no whitespace; the bytes are ASCII (other
  characters as ``&#N;``).
* Strings are escaped twice (``'x<y&z'`` → ``<string>x&amp;lt;y&amp;amp;z</string>``); the reader
  un-escapes once more after parsing. ``bytes`` are written as UTF-8 strings.
* Lists, dictionaries, sets and objects take ids ``i2``, ``i3``… in document order; the same
  container met again is written ``<reference id="iN"/>``. Dictionaries are sorted by key (keys
  that cannot be compared are compared by their repr, pair by pair, as upstream does).
* Objects are limited to four ``slapos.slap.slap`` classes, represented here by
  :class:`SlapObject`: constructor arguments as a ``<tuple>``, then the attribute dictionary
  (written ``<none/>`` when empty, as Python 3.11's ``object.__getstate__`` makes upstream do).
"""

import functools
import operator
import re
import reprlib
from xml.sax.saxutils import escape as escape_markup
from xml.sax.saxutils import unescape as unescape_markup

from slap_core import errors, safe_xml
from protocols.slap_wire import xml_text

MODULE = "slapos.slap.slap"
ARITY = {"Computer": 1, "ComputerPartition": 3, "SoftwareRelease": 2, "SoftwareInstance": 0}
"""The four classes the safe (un)marshaller allows, with the length of their init-args tuple."""


class MarshalError(errors.Invalid, ValueError):
    """A value that cannot be marshalled, or marshal XML that is malformed, hostile or refused."""


class SlapObject:
    """An instance of one of the four ``slapos.slap.slap`` classes, as marshal XML carries it.

    ``args`` is the tuple upstream's ``__getinitargs__`` returns, ``attributes`` the instance
    dictionary. Build one with :func:`computer`, :func:`computer_partition`,
    :func:`software_release` or :func:`software_instance`, which set the attributes upstream's
    constructors set.
    """

    __slots__ = ("class_name", "args", "attributes")
    module = MODULE

    def __init__(self, class_name, args=(), attributes=None):
        if class_name not in ARITY:
            raise MarshalError("refusing class %s.%s" % (MODULE, class_name))
        if type(args) is not tuple:
            raise MarshalError("the init arguments of %s must be a tuple" % class_name)
        self.class_name = class_name
        self.args = args
        self.attributes = {} if attributes is None else attributes

    def __eq__(self, other):
        if not isinstance(other, SlapObject):
            return NotImplemented
        return ((self.class_name, self.args, self.attributes)
                == (other.class_name, other.args, other.attributes))

    __hash__ = None

    @reprlib.recursive_repr()
    def __repr__(self):
        return "SlapObject(%r, %r, %r)" % (self.class_name, self.args, self.attributes)


def _partition_args_problem(computer_id, partition_id, request_dict):
    """Why upstream's ComputerPartition constructor would refuse these arguments, or None."""
    if request_dict is not None and (computer_id is not None or partition_id is not None):
        return "request_dict conflicts with computer_id and partition_id"
    if request_dict is None and (computer_id is None or partition_id is None):
        return "computer_id and partition_id or request_dict are required"
    return None


def computer(computer_id, **attributes):
    """A ``Computer(computer_id)``: attribute ``_computer_id``, plus ``attributes``."""
    return SlapObject("Computer", (computer_id,), {"_computer_id": computer_id, **attributes})


def computer_partition(computer_id=None, partition_id=None, request_dict=None, **attributes):
    """A ``ComputerPartition(computer_id, partition_id, request_dict)`` (either both ids or a
    request dict); attributes ``_computer_id``, ``_partition_id``, ``_request_dict``, plus
    ``attributes``. A request dict is shared with the args, so it is written once, then referenced.
    """
    problem = _partition_args_problem(computer_id, partition_id, request_dict)
    if problem:
        raise TypeError(problem)
    return SlapObject("ComputerPartition", (computer_id, partition_id, request_dict),
                      {"_computer_id": computer_id, "_partition_id": partition_id,
                       "_request_dict": request_dict, **attributes})


def software_release(software_release=None, computer_guid=None, **attributes):
    """A ``SoftwareRelease(software_release, computer_guid)``: attributes ``_software_release``,
    ``_computer_guid`` and ``_software_instance_list`` (``[]``), plus ``attributes``."""
    return SlapObject("SoftwareRelease", (software_release, computer_guid),
                      {"_software_instance_list": [], "_software_release": software_release,
                       "_computer_guid": computer_guid, **attributes})


def software_instance(**attributes):
    """A ``SoftwareInstance()`` whose data is all in ``attributes``."""
    return SlapObject("SoftwareInstance", (), dict(attributes))


# -- writing ---------------------------------------------------------------------------------------

def _compare_keys(a, b):
    """Order of two dictionary keys: natural, or by repr when they cannot be compared."""
    try:
        return (a > b) - (a < b)
    except TypeError:
        a, b = repr(a), repr(b)
        return (a > b) - (a < b)


_ITEM_ORDER = functools.cmp_to_key(lambda x, y: _compare_keys(x[0], y[0]))
_FIRST = operator.itemgetter(0)
_NEEDS_ESCAPING = re.compile("[&<>\r]")
# Text that needs neither escaping nor a check: printable ASCII, tab, line feed.
_PLAIN_TEXT = re.compile("[\t\n\x20-\x25\x27-\x3b\x3d\x3f-\x7e]*")
_REGISTERED = frozenset({list, set, dict, SlapObject})


def _string_element(value):
    """``<string>`` of ``value``, escaped; MarshalError for characters XML cannot carry."""
    if _PLAIN_TEXT.fullmatch(value) is None:
        bad = xml_text.first_unserializable(value)
        if bad is not None:
            raise MarshalError(xml_text.describe_unserializable(value, bad))
        if _NEEDS_ESCAPING.search(value) is not None:
            value = xml_text.escape_text(escape_markup(value))
    return "<string>%s</string>" % value


# A poll repeats the same keys and values across its partitions and from one poll to the next:
# the element of each distinct short string is kept (make bench: a third of an uncached poll went
# to these checks). Long strings are rarely repeated and would fill the memory.
_CACHED_LENGTH = 256
_cached_string_element = functools.lru_cache(maxsize=32768)(_string_element)


class _Writer:
    """Serializes one value; holds the id counter and the containers already written."""

    def __init__(self):
        self.parts = []
        self.last_id = 1
        self.seen = {}  # id(container) -> (number, container): keeps each one alive meanwhile

    def register(self, value):
        self.last_id += 1
        self.seen[id(value)] = (self.last_id, value)
        return 'id="i%d"' % self.last_id

    def scalar(self, tag, text):
        self.parts.append("<%s>%s</%s>" % (tag, text, tag))

    def string(self, value):
        self.parts.append(_cached_string_element(value) if len(value) <= _CACHED_LENGTH
                          else _string_element(value))

    def children(self, open_tag, tag, values):
        if not values:
            self.parts.append(open_tag[:-1] + "/>")
            return
        self.parts.append(open_tag)
        for item in values:
            self.write(item)
        self.parts.append("</%s>" % tag)

    def write(self, value):
        kind = type(value)
        if kind is str:  # most of a poll: first
            self.parts.append(_cached_string_element(value) if len(value) <= _CACHED_LENGTH
                              else _string_element(value))
            return
        # Only containers and objects are registered, so only they can be references.
        known = self.seen.get(id(value)) if kind in _REGISTERED else None
        if known is not None:
            self.parts.append('<reference id="i%d"/>' % known[0])
        elif kind is str:
            self.string(value)
        elif kind is bytes:
            try:
                self.string(value.decode("utf-8"))
            except UnicodeDecodeError as error:
                raise MarshalError("bytes must be UTF-8: %s" % error) from None
        elif kind is bool:
            self.scalar("bool", "1" if value else "0")
        elif kind is int:
            try:
                text = str(value)
            except ValueError as error:
                raise MarshalError(str(error)) from None
            self.scalar("int" if -1e24 < value < 1e24 else "long", text)
        elif kind is float:
            self.scalar("float", repr(value))
        elif kind is complex:
            self.scalar("complex", "%r %r" % (value.real, value.imag))
        elif value is None:
            self.parts.append("<none/>")
        elif kind is tuple:
            self.children("<tuple>", "tuple", value)
        elif kind is list:
            self.children("<list %s>" % self.register(value), "list", value)
        elif kind is set:
            self.children("<set %s>" % self.register(value), "set", value)
        elif kind is dict:
            self.dictionary(value)
        elif kind is SlapObject:
            self.instance(value)
        else:
            raise MarshalError("refusing to marshal %s.%s"
                               % (getattr(kind, "__module__", "?"), kind.__qualname__))

    def dictionary(self, value):
        open_tag = "<dictionary %s>" % self.register(value)
        if all(type(key) is str for key in value):
            items = sorted(value.items(), key=_FIRST)  # str keys: natural order, no cmp calls
        else:
            items = sorted(value.items(), key=_ITEM_ORDER)
        self.children(open_tag, "dictionary", [part for item in items for part in item])

    def instance(self, value):
        self.parts.append('<object %s module="%s" class="%s">'
                          % (self.register(value), MODULE, value.class_name))
        self.write(value.args)
        if value.attributes:
            self.write(value.attributes)
        else:
            self.parts.append("<none/>")
        self.parts.append("</object>")


def dumps(value):
    """Marshal ``value`` to bytes, exactly as ``slapos.util.dumps`` would.

    Accepts str, bytes (UTF-8), int, float, complex, bool, None, tuple, list, dict, set and
    :class:`SlapObject`; anything else (subclasses included) raises :class:`MarshalError`, as do
    characters XML cannot carry, undecodable bytes and ints too long to print.
    """
    writer = _Writer()
    try:
        writer.write(value)
    except RecursionError:
        raise MarshalError("the value is nested too deeply") from None
    return b"<marshal>" + xml_text.to_ascii("".join(writer.parts)) + b"</marshal>"


# -- reading ---------------------------------------------------------------------------------------

_WHITESPACE = " \t\n\r"
_INT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?|inf|infinity|nan)\Z",
                    re.IGNORECASE)


def _blank(text):
    return text is None or not text.strip(_WHITESPACE)


class _Reader:
    """Turns a parsed ``<marshal>`` tree into Python values; holds the ids seen so far."""

    def __init__(self):
        self.ids = {}

    def fail(self, element, message):
        raise MarshalError("marshal XML, line %s, <%s>: %s" % (element.sourceline, element.tag,
                                                                message))

    def register(self, element, value):
        number = element.get("id")
        if number is not None:
            if number in self.ids:
                self.fail(element, "id %r is used twice" % number)
            self.ids[number] = value
        return value

    def children(self, element):
        """The child elements; text around them must be blank."""
        if not _blank(element.text) or any(not _blank(child.tail) for child in element):
            self.fail(element, "text is not allowed between elements")
        return list(element)

    def text(self, element):
        """The text of a scalar element, which may not contain elements."""
        if len(element):
            self.fail(element, "a scalar may not contain elements")
        return element.text or ""

    def number(self, element, pattern, convert):
        text = self.text(element).strip(_WHITESPACE)
        if not pattern.match(text):
            self.fail(element, "malformed number %r" % text[:40])
        try:
            return convert(text)
        except (ValueError, OverflowError) as error:
            self.fail(element, str(error))

    def read(self, element):
        """The value ``element`` describes."""
        method = self.METHODS.get(element.tag)
        if method is None:
            self.fail(element, "unknown element")
        return method(self, element)

    def read_string(self, element):
        return unescape_markup(self.text(element))

    def read_int(self, element):
        return self.number(element, _INT, int)

    def read_float(self, element):
        return self.number(element, _FLOAT, float)

    def read_complex(self, element):
        parts = self.text(element).split()
        if len(parts) != 2 or not all(_FLOAT.match(part) for part in parts):
            self.fail(element, "a complex is two floats")
        return complex(float(parts[0]), float(parts[1]))

    def read_bool(self, element):
        text = self.text(element).strip(_WHITESPACE)
        if text not in ("0", "1"):
            self.fail(element, "a bool is 0 or 1")
        return text == "1"

    def read_none(self, element):
        if not _blank(self.text(element)):
            self.fail(element, "<none/> has no text")
        return None

    def read_reference(self, element):
        self.text(element)
        number = element.get("id")
        if number not in self.ids:
            self.fail(element, "reference to unknown id %r" % number)
        return self.ids[number]

    def read_tuple(self, element):
        return tuple(self.read(child) for child in self.children(element))

    def read_list(self, element):
        result = self.register(element, [])
        result.extend(self.read(child) for child in self.children(element))
        return result

    def read_set(self, element):
        result = self.register(element, set())
        for child in self.children(element):
            item = self.read(child)
            try:
                result.add(item)
            except TypeError:
                self.fail(child, "a set item must be hashable")
        return result

    def read_dictionary(self, element):
        result = self.register(element, {})
        children = self.children(element)
        if len(children) % 2:
            self.fail(element, "a dictionary holds key, value pairs")
        for key_element, value_element in zip(children[::2], children[1::2]):
            key = self.read(key_element)
            value = self.read(value_element)
            try:
                result[key] = value
            except TypeError:
                self.fail(key_element, "a dictionary key must be hashable")
        return result

    def read_object(self, element):
        module, class_name = element.get("module"), element.get("class")
        if module != MODULE or class_name not in ARITY:
            self.fail(element, "refusing to unmarshal %s.%s" % (module, class_name))
        result = self.register(element, SlapObject(class_name))
        children = self.children(element)
        if len(children) != 2 or children[0].tag != "tuple":
            self.fail(element, "an object holds a tuple then a dictionary")
        args = self.read(children[0])
        attributes = self.read(children[1])
        if len(args) != ARITY[class_name]:
            self.fail(element, "%s takes %d init arguments" % (class_name, ARITY[class_name]))
        if class_name == "ComputerPartition" and _partition_args_problem(*args):
            self.fail(element, _partition_args_problem(*args))
        if attributes is None:  # what upstream writes for an object without attributes
            attributes = {}
        if type(attributes) is not dict or not all(type(key) is str for key in attributes):
            self.fail(element, "object attributes must be a dictionary with string keys")
        result.args, result.attributes = args, attributes
        return result

    METHODS = {
        "string": read_string, "unicode": read_string, "int": read_int, "long": read_int,
        "float": read_float, "complex": read_complex, "bool": read_bool, "none": read_none,
        "reference": read_reference, "tuple": read_tuple, "list": read_list, "set": read_set,
        "dictionary": read_dictionary, "object": read_object,
    }


def loads(data, max_bytes=safe_xml.MAX_XML_BYTES):
    """The value that marshal XML ``data`` (str or bytes) describes.

    Objects come back as :class:`SlapObject`; a reference resolves to the very same container or
    object (upstream gives an empty placeholder for a referenced object). Raises
    :class:`MarshalError` for anything malformed, oversized, hostile (DTD, entities) or refused
    (unknown element, class outside the four, bad number, unknown reference).
    """
    try:
        root = safe_xml.parse(data, max_bytes, what="marshal XML")
    except errors.Invalid as error:
        raise MarshalError(str(error)) from None
    reader = _Reader()
    if root.tag != "marshal":
        reader.fail(root, "the root element must be <marshal>")
    children = reader.children(root)
    if len(children) != 1:
        reader.fail(root, "<marshal> holds exactly one value")
    try:
        return reader.read(children[0])
    except RecursionError:
        raise MarshalError("marshal XML is nested too deeply") from None
