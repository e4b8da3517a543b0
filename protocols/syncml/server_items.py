"""Stores the master alone writes: ``catalogue`` (software releases) and ``invoices``.

Devices receive their items and keep them in step; an Add, Replace or Delete from a device is
refused with status 405 (command not allowed), and nothing changes on the master.
"""

import hashlib

from lxml import etree

from protocols.syncml.items import CoreStore, ItemRefused


def _document(namespace, tag, fields):
    root = etree.Element("{%s}%s" % (namespace, tag), nsmap={None: namespace})
    for name, value in fields:
        element = etree.SubElement(root, "{%s}%s" % (namespace, name))
        element.text = "" if value is None else str(value)
    return etree.tostring(root, encoding="unicode")


class ServerOnlyStore(CoreStore):
    """A store whose items come from one listing operation; devices may not change them."""

    name = display_name = operation = None
    types = ()  # ((content type, version),) of the items
    echo = False

    def items(self):
        """{id: XML item} of what the caller may read."""
        return dict(self.item(view) for view in self.call(self.operation))

    def item(self, view):
        """(id, XML item) of one listed view."""
        raise NotImplementedError

    def read(self, data):
        """Every change a device sends is refused."""
        raise ItemRefused(405, "the %s store is written by the master only" % self.name)

    def delete(self, guid):
        """A device may not delete what the master writes."""
        raise ItemRefused(405, "the %s store is written by the master only" % self.name)


class CatalogueStore(ServerOnlyStore):
    """The software releases of the catalogue: URL, product, version."""

    name, display_name = "catalogue", "Software catalogue"
    operation = "catalogue.list_releases"
    types = (("application/vnd.slapgate.release+xml", "1.0"),)
    NS = "urn:slapgate:syncml:release:1"

    def item(self, view):
        """A release's id is the MD5 of its URL (as a node names its software directory): URLs
        may be longer than a SyncML id."""
        return (hashlib.md5(view.url.encode("utf-8")).hexdigest(),
                _document(self.NS, "release", (("url", view.url), ("product", view.product),
                                               ("version", view.version))))


class InvoicesStore(ServerOnlyStore):
    """The caller's invoices and credit notes (an admin's or accountant's: everyone's)."""

    name, display_name = "invoices", "Invoices"
    operation = "invoice.list"
    types = (("application/vnd.slapgate.invoice+xml", "1.0"),)
    NS = "urn:slapgate:syncml:invoice:1"

    def item(self, view):
        """An invoice's id is its number."""
        return view.number, _document(self.NS, "invoice", (
            ("number", view.number), ("kind", view.kind), ("person", view.person),
            ("period", view.period), ("issued_at", "%.0f" % view.issued_at),
            ("state", view.state), ("currency", view.currency), ("total", view.total)))
