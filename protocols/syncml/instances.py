"""The ``instances`` store: a person's instance trees, one XML item per root instance.

An item is the document ``schemas/syncml_instance.xsd`` defines: what the device owns (title,
release, software type, state, shared, parameters, SLA) then what the master owns (reference,
status, computer, partition, connection parameters). A device's Add requests an instance
(``instance.request``), a Replace requests it again with its new parameters or state
(``instance.change``), a Delete destroys it (``instance.destroy``); the item's id on the master
is the instance's reference. What the master owns is never taken from a device: after each
change the item goes back to the device as the master has it, and changes of state, status and
connection parameters flow to the device on its next sync.
"""

from lxml import etree

import schemas
from protocols.syncml.items import CoreStore, ItemRefused, refused
from slap_core import errors, safe_xml

NS = "urn:slapgate:syncml:instance:1"
CONTENT_TYPE = "application/vnd.slapgate.instance+xml"
MAX_ITEM = 256 * 1024
OWNED = ("software_release", "software_type", "state", "shared", "parameters", "sla")


def _q(tag):
    return "{%s}%s" % (NS, tag)


def write_item(view):
    """The XML item of an InstanceView."""
    root = etree.Element(_q("instance"), nsmap={None: NS})

    def add(tag, value, name=None):
        element = etree.SubElement(root, _q(tag))
        element.text = value
        if name is not None:
            element.set("name", name)

    add("title", view.title)
    add("software_release", view.software_release)
    add("software_type", view.software_type)
    add("state", view.requested_state)
    add("shared", "true" if view.shared else "false")
    for name, value in sorted(view.parameters.items()):
        add("parameter", "" if value is None else str(value), name)
    for name, value in sorted(view.sla.items()):
        add("sla", "" if value is None else str(value), name)
    add("reference", view.reference)
    add("status", view.status_text or "")
    add("computer", view.computer or "")
    add("partition", view.partition or "")
    for name, value in sorted(view.connection.items()):
        add("connection", "" if value is None else str(value), name)
    return etree.tostring(root, encoding="unicode")


def read_item(data):
    """{title, software_release, software_type, state, shared, parameters, sla} of an item;
    ItemRefused (415) when it is not an instance document."""
    try:
        root = safe_xml.parse(data.strip(), MAX_ITEM, what="instance item")
        safe_xml.validate(root, schemas.path("syncml_instance.xsd"), what="instance item")
    except errors.Invalid as error:
        raise ItemRefused(415, str(error)) from None

    def one(tag, default=None):
        found = root.find(_q(tag))
        return default if found is None else (found.text or "")

    def named(tag):
        return {e.get("name"): e.text or "" for e in root.findall(_q(tag))}

    return {"title": one("title"), "software_release": one("software_release").strip(),
            "software_type": one("software_type"), "state": one("state"),
            "shared": one("shared", "false").strip() in ("true", "1"),
            "parameters": named("parameter"), "sla": named("sla")}


class InstancesStore(CoreStore):
    """The caller's root instances as XML items keyed by reference."""

    name = "instances"
    display_name = "Instances"
    types = ((CONTENT_TYPE, "1.0"),)
    echo = True  # the master's own fields (reference, status, connection) go back

    def call(self, name, **arguments):
        """As CoreStore's, but a request recorded and waiting for a partition is done."""
        try:
            return self.master.call(name, self.principal, **arguments)
        except errors.NotReady as waiting:
            if waiting.result is None:
                raise refused(waiting) from None
            return waiting.result
        except errors.SlapError as error:
            raise refused(error) from None

    def items(self):
        """{reference: item} of the caller's own root instances."""
        login = getattr(self.principal, "login", None)
        return {view.reference: write_item(view) for view in self.call("instance.list")
                if view.requester is None and view.owner == login}

    read = staticmethod(read_item)

    @staticmethod
    def unchanged(record, item):
        """Whether the device's ``record`` asks for what the master's ``item`` already holds."""
        current = read_item(item)
        return all(record[field] == current[field] for field in OWNED if
                   record[field] is not None)

    @staticmethod
    def keys(record):
        """An instance pairs by title (a person's root titles are unique)."""
        return [("title", record["title"])]

    def create(self, record, items):
        """Request the instance; returns (reference, item)."""
        view = self.call("instance.request", title=record["title"],
                          software_release=record["software_release"],
                          software_type=record["software_type"], parameters=record["parameters"],
                          sla=record["sla"], state=record["state"], shared=record["shared"])
        return view.reference, write_item(view)

    def update(self, reference, record):
        """Request the instance again with the device's release, type, parameters, state."""
        view = self.call("instance.change", reference=reference,
                          software_release=record["software_release"],
                          software_type=record["software_type"], parameters=record["parameters"],
                          sla=record["sla"], state=record["state"])
        return write_item(view)

    def delete(self, reference):
        """Destroy the instance (and its tree)."""
        self.call("instance.destroy", reference=reference)
