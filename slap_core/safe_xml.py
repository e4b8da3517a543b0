"""Parsing untrusted XML: no DTD, no entities, no network, bounded size; and XSD validation."""

from functools import lru_cache

from lxml import etree

from slap_core import errors

MAX_XML_BYTES = 8 * 1024 * 1024


def _parser(encoding=None):
    return etree.XMLParser(
        encoding=encoding,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse(data, max_bytes=MAX_XML_BYTES, what="document"):
    """Parse ``data`` (bytes or str) into an lxml element, refusing DTDs and entity declarations.

    Raises :class:`slap_core.errors.Invalid` for anything malformed, too large or hostile.
    """
    encoding = None
    if isinstance(data, str):
        # The text is already decoded: whatever its declaration says, these bytes are UTF-8.
        data, encoding = data.encode("utf-8"), "utf-8"
    if not isinstance(data, bytes):
        raise errors.Invalid("the %s must be XML text" % what)
    if len(data) > max_bytes:
        raise errors.Invalid("the %s is larger than %d bytes" % (what, max_bytes))
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise errors.Invalid("the %s may not contain a DTD or entity declarations" % what)
    try:
        root = etree.fromstring(data, _parser(encoding))
    except (etree.XMLSyntaxError, ValueError) as error:
        raise errors.Invalid("the %s is not well-formed XML: %s" % (what, error)) from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise errors.Invalid("the %s may not contain a DTD" % what)
    for node in root.iter():
        if not isinstance(node.tag, str):
            raise errors.Invalid("the %s may not contain entity references" % what)
    return root


@lru_cache(maxsize=None)
def schema(path):
    """The compiled XSD at ``path`` (cached)."""
    with open(path, "rb") as handle:
        return etree.XMLSchema(etree.parse(handle, _parser()))


def validate(root, path, what="document"):
    """Validate a parsed element against the XSD at ``path``; Invalid with the first error."""
    xsd = schema(str(path))
    if not xsd.validate(root):
        error = xsd.error_log.last_error
        raise errors.Invalid("the %s does not match %s: line %s: %s"
                             % (what, path.name, error.line, error.message))
    return root
