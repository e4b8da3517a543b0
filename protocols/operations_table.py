"""The table of operations x faces in ``docs/operations.md``, generated from the declarations.

Each row is one registered operation: its summary, callers, errors and kind from its declaration
in slap_core, the XML-RPC and SOAP names the faces derive from it, the REST routes that call it,
and the SLAP endpoints that stand for it (:data:`SLAP`, the one column no declaration gives:
upstream's protocol names its own calls) and the SyncML store changes that call it
(:data:`SYNCML`). ``python -m protocols.operations_table`` rewrites the
table in ``docs/operations.md``; a test fails when the checked-in table differs.
"""

import sys
from pathlib import Path

from protocols.rest.routes import ROUTES
from protocols.soap_api import OPERATIONS as SOAP_OPERATIONS
from slap_core.master import load_all

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "operations.md"
BEGIN = "<!-- the table below is generated: python -m protocols.operations_table -->"
END = "<!-- end of the generated table -->"
HEADER = ("| operation | what it does | who may call | errors | kind | SLAP | XML-RPC | SOAP | "
          "REST | SyncML |\n|---|---|---|---|---|---|---|---|---|---|")

# The SLAP endpoints (and other ways) that reach each operation; none: —.
SLAP = {
    "catalogue.product_release_urls": "GET getSoftwareReleaseListFromSoftwareProduct",
    "certificate.authenticate": "— (every TLS request)",
    "certificate.issue": "POST generateComputerCertificate (computer), "
                         "GET getComputerPartitionCertificate (partition)",
    "certificate.revoke": "POST revokeComputerCertificate",
    "certificate.revoked_list": "— (`/ca/crl.pem`)",
    "computer.bang": "POST computerBang",
    "computer.create": "POST requestComputer",
    "computer.format": "POST loadComputerConfigurationFromXML",
    "computer.information": "GET getFullComputerInformation, getComputerInformation",
    "computer.partition": "GET registerComputerPartition",
    "computer.status": "GET getComputerStatus",
    "computer.revisions": "GET watchComputer (waits for a move)",
    "instance.bang": "POST softwareInstanceBang",
    "instance.hosting_ip_list": "GET getHostingSubscriptionIpList",
    "instance.rename": "POST softwareInstanceRename",
    "instance.report_destroyed": "POST destroyedComputerPartition",
    "instance.report_error": "POST softwareInstanceError",
    "instance.report_started": "POST startedComputerPartition",
    "instance.report_stopped": "POST stoppedComputerPartition",
    "instance.request": "POST requestComputerPartition",
    "instance.set_connection": "POST setComputerPartitionConnectionXml",
    "supply.report": "POST buildingSoftwareRelease, availableSoftwareRelease, "
                     "destroyedSoftwareRelease, softwareReleaseError",
    "supply.supply": "POST supplySupply",
    "token.authenticate": "— (every request with a token)",
    "tree.get": "— (JSON API `slapos.get.v0.instance_tree`)",
    "usage.report": "POST useComputer",
}

# What reaches each operation over SyncML (/syncml): the store and the item change; none: —.
SYNCML = {
    "person.list": "contacts: the items an admin or accountant syncs",
    "person.me": "contacts: a user's own card",
    "person.create": "contacts: Add (admins)",
    "person.update": "contacts: Replace (and Add of a card that matches a person)",
    "instance.list": "instances: the items (a person's root instances)",
    "instance.request": "instances: Add",
    "instance.change": "instances: Replace",
    "instance.destroy": "instances: Delete",
    "catalogue.list_releases": "catalogue: the items (from the master only)",
    "invoice.list": "invoices: the items (from the master only)",
    "sync.get": "every session's Alert (the anchors agreed last)",
    "sync.record": "the end of every session that went well",
}


def _errors(op):
    if not op.errors:
        return "—"
    return ", ".join(error.__name__ + (" (%s)" % note if note else "")
                     for error, note in op.errors)


def rows():
    """The table's rows, one per operation in name order (without the header)."""
    soap = {spec.operation: spec.soap_name for spec in SOAP_OPERATIONS}
    rest = {}
    for route in ROUTES:
        for name in route.operations:
            rest.setdefault(name, []).append("`%s /api%s`" % (route.method, route.path))
    lines = []
    for name, op in sorted(load_all().items()):
        cells = [
            "`%s`" % name, op.summary.rstrip(".").replace("``", "`"), op.callers, _errors(op),
            "write" if op.writes else "read", SLAP.get(name, "—"), "`%s`" % name,
            "`%s`" % soap[name] if name in soap else "—",
            ", ".join(rest.get(name, ())) or "—", SYNCML.get(name, "—"),
        ]
        lines.append("| %s |" % " | ".join(cells))
    return lines


def table():
    """The generated block, markers included."""
    return "\n".join([BEGIN, HEADER] + rows() + [END])


def rewritten(text):
    """``text`` (the document) with its generated block replaced by :func:`table`."""
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + table() + text[end:]


if __name__ == "__main__":
    DOCUMENT.write_text(rewritten(DOCUMENT.read_text("utf-8")), "utf-8")
    sys.stdout.write("rewrote the table of %s\n" % DOCUMENT)
