"""The OpenAPI 3.1 document of ``/api/``, derived from the routes and the core's views.

``schemas/openapi.json`` is this document checked in; the server serves and validates against
that file, and a test fails when it differs from what this module generates. Regenerate it with
``python -m protocols.rest.openapi > schemas/openapi.json`` and review the diff.
"""

import dataclasses
import json
import re
import sys
import types

from protocols.rest.routes import OPERATIONS, PATH_ALIASES, PERIOD, ROUTES
from slap_core import views
from slap_core.countries import COUNTRIES
from slap_core.principals import ROLES
from slap_core.sla import ALLOCATION_SCOPES, CATEGORY_KEYS
from slap_core.tickets import KINDS, MAX_ATTACHMENT_LIMIT, MEDIA_TYPE

VERSION = "1.0.0"
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_OFFSET = 2**31 - 1
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


def string(max_length=255, **extra):
    """A string schema of at most ``max_length`` characters."""
    return dict({"type": "string", "maxLength": max_length}, **extra)


def nullable(schema):
    """``schema`` or null."""
    schema = dict(schema)
    schema["type"] = [schema["type"], "null"]
    return schema


def obj(properties, required=None, strict=True):
    """An object schema; every property is required unless ``required`` says which are."""
    schema = {"type": "object", "properties": properties,
              "required": sorted(properties) if required is None else list(required)}
    if strict:
        schema["additionalProperties"] = False
    return schema


def ref(name):
    """A reference to component schema ``name``."""
    return {"$ref": "#/components/schemas/%s" % name}


def array(items, **extra):
    """An array schema."""
    return dict({"type": "array", "items": items}, **extra)


TEXT = string(64 * 1024)
NUMBER = {"type": "number"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
# What the core calls space is str.isspace(); JSON Schema's \s (ECMA 262) is a different set, so the
# patterns spell the characters out.
SPACE = r"\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# An identifier as the core checks it: not blank, no surrounding spaces, no control characters.
LOGIN = string(255, minLength=1,
               pattern=r"^[^%s](?:[^\x00-\x1f\x7f]*[^%s])?$" % (SPACE, SPACE))
TITLE = string(255, minLength=1,
               pattern=r"^[^\x00-\x1f\x7f]*[^%s][^\x00-\x1f\x7f]*$" % SPACE)
URL = string(1024, minLength=1, pattern=r"^[^%s]+$" % SPACE)
COMPUTER_REFERENCE = string(255, minLength=1, pattern=r"^[^/%s]+$" % SPACE)
REFERENCE = string(255, minLength=1, pattern=r"^[^\x00-\x1f\x7f]+$")
SHORT = string(255, pattern=NO_CONTROL)


MAX_SCHEMA_TEXT = 1024 * 1024


def nonblank(length):
    """A text of at most ``length`` characters, not blank, without NUL."""
    return string(length, minLength=1, pattern=r"^[^\x00]*[^%s][^\x00]*$" % SPACE)


def optional_text(length):
    """A text of at most ``length`` characters without NUL, or null."""
    return nullable(string(length, pattern=r"^[^\x00]*$"))


BILLING_EMAIL = nullable(string(255, pattern=r"^[^@%s]+@[^@%s]+$" % (SPACE, SPACE)))
STATE = {"type": "string", "enum": ["started", "stopped", "destroyed"]}
# Money on the wire: a decimal string, never a JSON number (a float).
DECIMAL_TEXT = string(40, pattern=r"^[0-9]+(\.[0-9]+)?$",
                      description="a decimal number as a string, e.g. \"42.00\"")
PARAMETER_VALUE = {"type": ["string", "number", "boolean", "null"],
                   "maxLength": 1024 * 1024, "pattern": r"^[^\x00]*$"}
PARAMETERS_IN = {"type": "object", "maxProperties": 1000,
                 "propertyNames": string(255, minLength=1, pattern=r"^[^\x00]+$"),
                 "additionalProperties": PARAMETER_VALUE}
STRING_MAP = {"type": "object", "additionalProperties": nullable({"type": "string"})}
ANY_MAP = {"type": "object"}

# Path parameters name existing things: anything that is not one is simply not found (404), so
# their schemas only bound the length (and keep NUL out, which no database stores).
KEY = string(1024, minLength=1, pattern=r"^[^\x00]+$")
def SYNC_MAP(length):  # noqa: N802  (a schema maker, named like the schemas it makes)
    """A map of item ids (1 to 255 characters) to texts of 1 to ``length`` characters."""
    return {"type": "object", "maxProperties": 100000,
            "propertyNames": {"type": "string", "minLength": 1, "maxLength": 255},
            "additionalProperties": string(length, minLength=1)}


PATH_PARAMETERS = {
    "login": (KEY, "a person's login"),
    "product": (KEY, "a software product's reference"),
    "url": (KEY, "a software release URL, percent-encoded as one path segment"),
    "computer": (KEY, "a computer's reference (COMP-...)"),
    "partition": (KEY, "a partition's reference (slappart...)"),
    "reference": (KEY, "an instance's reference (SOFTINST-...)"),
    "serial": (KEY, "a certificate's serial number (hexadecimal)"),
    "token": (KEY, "a personal API token's reference (16 hexadecimal digits)"),
    "title": (KEY, "an instance tree's title (its root instance's), percent-encoded"),
    "number": (KEY, "an invoice's number (2026-000001)"),
    "device": (string(255, minLength=1, pattern=r"^[^\x00-\x1f\x7f]+$"),
               "a SyncML device's id, percent-encoded as one path segment"),
    "ticket": (KEY, "a support ticket's reference (TICKET-...)"),
    "message": (string(10, pattern=r"^[1-9][0-9]{0,8}$"),
                "a message's number in its ticket (1: the first)"),
    "signup": (KEY, "a sign-up's reference (SIGNUP-...)"),
    "mail": (string(10, pattern=r"^[1-9][0-9]{0,8}$"), "a queued mail's number"),
    "store": (string(64, minLength=1, pattern=r"^[^\x00-\x1f\x7f]+$"),
              "a SyncML store's name (contacts, instances...)"),
}

# The component name of each view of slap_core.views the API answers with.
VIEW_NAMES = {
    views.PersonView: "Person", views.ReleaseView: "Release", views.ProductView: "Product",
    views.ComputerView: "Computer", views.AddressView: "Address", views.PartitionView: "Partition",
    views.SoftwareView: "Software", views.ComputerInformation: "ComputerInformation",
    views.SupplyView: "Supply", views.InstanceView: "Instance", views.TreeView: "Tree",
    views.DestroyOutcome: "DestroyOutcome", views.UsageRecordView: "UsageRecord",
    views.UsageReportOutcome: "UsageReportOutcome", views.CertificateView: "Certificate",
    views.CertificateIdentity: "CertificateIdentity",
    views.RevokedCertificate: "RevokedCertificate", views.ComputerRevision: "ComputerRevision",
    views.TokenView: "Token", views.TokenIdentity: "TokenIdentity",
    views.PriceListView: "PriceList", views.SubscriptionPriceView: "SubscriptionPrice",
    views.UsagePriceView: "UsagePrice", views.SubscriptionView: "Subscription",
    views.ConsumptionView: "Consumption", views.ConsumptionLineView: "ConsumptionLine",
    views.InvoiceView: "Invoice", views.InvoiceSummaryView: "InvoiceSummary",
    views.InvoiceRunView: "InvoiceRun", views.BillingProfileView: "BillingProfile",
    views.SyncPartnershipView: "SyncPartnership",
    views.ReleaseSchemaView: "ReleaseSchema", views.SoftwareTypeSchemaView: "SoftwareTypeSchema",
    views.SellerView: "Seller", views.InvoiceDocumentView: "InvoiceDocument",
    views.TicketView: "Ticket", views.TicketSummaryView: "TicketSummary",
    views.TicketMessageView: "TicketMessage", views.TicketAttachmentView: "TicketAttachment",
    views.MonitoringRunView: "MonitoringRun", views.SignupView: "Signup",
    views.MailView: "Mail",
}
TICKET_KIND = {"type": "string", "enum": list(KINDS)}
TICKET_STATE = {"type": "string", "enum": ["open", "closed"]}
TICKET_TURN = {"type": "string", "enum": ["operator", "customer"]}
CERTIFICATE_KIND = {"type": "string", "enum": ["computer", "partition", "user"]}
# What a field's Python type does not say: the items of a tuple or a dict, an enum, a description.
FIELD_SCHEMAS = {
    ("PersonView", "roles"): array({"type": "string", "enum": list(ROLES)}),
    ("ProductView", "releases"): array(ref("Release")),
    ("ComputerView", "attributes"): {"type": "object",
                                     "additionalProperties": {"type": "string"}},
    ("PartitionView", "parameter_dict"): ANY_MAP,
    ("PartitionView", "connection_dict"): ANY_MAP,
    ("PartitionView", "filter_dict"): ANY_MAP,
    ("PartitionView", "addresses"): array(ref("Address")),
    ("ComputerInformation", "software"): array(ref("Software")),
    ("ComputerInformation", "partitions"): array(ref("Partition")),
    ("InstanceView", "parameters"): ref("Parameters"),
    ("InstanceView", "sla"): ref("Parameters"),
    ("InstanceView", "connection"): ref("Parameters"),
    ("InstanceView", "ip_list"): array(array({"type": "string"})),
    ("InstanceView", "full_ip_list"): array(array({"type": "string"})),
    ("CertificateView", "kind"): CERTIFICATE_KIND,
    ("CertificateView", "certificate"): {"type": "string", "description": "PEM"},
    ("CertificateView", "private_key"): nullable({"type": "string",
                                                  "description": "PEM; only when issued"}),
    ("CertificateIdentity", "kind"): CERTIFICATE_KIND,
    ("PriceListView", "subscriptions"): array(ref("SubscriptionPrice")),
    ("PriceListView", "usage"): array(ref("UsagePrice")),
    ("ConsumptionView", "lines"): array(ref("ConsumptionLine")),
    ("ConsumptionLineView", "kind"): {"type": "string",
                                      "enum": ["subscription", "usage", "late_usage"]},
    ("InvoiceView", "lines"): array(ref("ConsumptionLine")),
    ("ReleaseSchemaView", "types"): array(ref("SoftwareTypeSchema")),
    ("ReleaseSchemaView", "serialisation"): {"type": "string", "enum": ["xml", "json-in-xml"]},
    ("SoftwareTypeSchemaView", "serialisation"): {"type": "string",
                                                  "enum": ["xml", "json-in-xml"]},
    ("SoftwareTypeSchemaView", "request"): {"type": "string",
                                            "contentMediaType": "application/schema+json"},
    ("SoftwareTypeSchemaView", "response"): nullable({
        "type": "string", "contentMediaType": "application/schema+json"}),
    ("InvoiceView", "state"): {"type": "string", "enum": ["issued", "paid", "credited"]},
    ("InvoiceSummaryView", "state"): {"type": "string", "enum": ["issued", "paid", "credited"]},
    ("InvoiceDocumentView", "content"): {"type": "string", "contentEncoding": "base64"},
    ("InvoiceView", "kind"): {"type": "string", "enum": ["invoice", "credit_note"]},
    ("InvoiceSummaryView", "kind"): {"type": "string", "enum": ["invoice", "credit_note"]},
    ("TicketView", "messages"): array(ref("TicketMessage")),
    ("TicketView", "kind"): TICKET_KIND,
    ("TicketSummaryView", "kind"): TICKET_KIND,
    ("TicketView", "state"): TICKET_STATE,
    ("TicketSummaryView", "state"): TICKET_STATE,
    ("TicketView", "turn"): TICKET_TURN,
    ("TicketSummaryView", "turn"): TICKET_TURN,
    ("TicketAttachmentView", "content"): {"type": "string", "contentEncoding": "base64"},
    ("SignupView", "state"): {"type": "string", "enum": [
        "unconfirmed", "pending", "accepted", "rejected", "expired"]},
    ("TokenView", "secret"): nullable({"type": "string", "description": "the whole token "
                                       "(sgt_...); only when created"}),
}
SCALAR_SCHEMAS = {str: {"type": "string"}, int: INTEGER, float: NUMBER, bool: BOOLEAN,
                  tuple: array({"type": "string"}), dict: STRING_MAP}


def field_schema(view, field):
    """The JSON schema of one field of a view dataclass."""
    special = FIELD_SCHEMAS.get((view.__name__, field.name))
    if special is not None:
        return special
    annotation = field.type
    if isinstance(annotation, types.UnionType):
        (member,) = [a for a in annotation.__args__ if a is not type(None)]
        return nullable(SCALAR_SCHEMAS[member])
    return SCALAR_SCHEMAS[annotation]


def view_schemas():
    """{component name: object schema} of every view the API answers with."""
    return {name: obj({field.name: field_schema(view, field)
                       for field in dataclasses.fields(view)})
            for view, name in VIEW_NAMES.items()}


# The schemas of answers that are not views: what only REST answers, and the error document.
VIEWS = {
    "Url": {"type": "string"},
    "ComputerStatus": obj({"text": {"type": "string"}, "at": nullable(NUMBER)}),
    "BangOutcome": obj({"bumped": INTEGER}),
    "AddressPair": array({"type": "string"}, minItems=2, maxItems=2,
                         description="(network interface, address)"),
    "Parameters": STRING_MAP,
    "AllocationOutcome": obj({"placed": INTEGER}),
    "CertificateList": array(ref("Certificate")),
    "RevokedCertificateList": array(ref("RevokedCertificate")),
    "Problem": obj({
        "type": {"type": "string"}, "title": {"type": "string"}, "status": INTEGER,
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "the slap_core error code (not_found, "
                 "invalid, ...) or the adaptor's (malformed, too_large, internal, ...)"},
        "errors": array(obj({"location": {"type": "string"}, "message": {"type": "string"}}))},
        required=["type", "title", "status", "detail", "code"]),
}
VIEWS.update(view_schemas())

# The schema of each argument in a request body, by name; (operation, name) where an operation
# reads a name its own way. A nullable schema: null asks for the core's default.
ARGUMENT_SCHEMAS = {
    "login": LOGIN,
    "password": nullable(string(1024)),
    "roles": array({"type": "string", "enum": list(ROLES)}, uniqueItems=True,
                   maxItems=len(ROLES)),
    "full_name": SHORT,
    "email": string(255, pattern=r"^$|^[^\x00-\x1f\x7f]*@[^\x00-\x1f\x7f]*$"),
    "phone": string(64, pattern=NO_CONTROL),
    ("person.create", "organisation"): SHORT,
    ("person.update", "organisation"): nullable(SHORT),
    ("person.update", "disabled"): nullable(BOOLEAN),
    ("person.update", "full_name"): nullable(SHORT),
    ("person.update", "phone"): nullable(string(64, pattern=NO_CONTROL)),
    ("person.update", "email"): nullable(string(
        255, pattern=r"^$|^[^\x00-\x1f\x7f]*@[^\x00-\x1f\x7f]*$")),
    "url": URL,
    "product": nullable(REFERENCE),
    "version": SHORT,
    "product_title": SHORT,
    "reference": COMPUTER_REFERENCE,
    "title": SHORT,
    "allocation_scope": {"type": "string", "enum": list(ALLOCATION_SCOPES)},
    "network_guid": nullable(SHORT),
    "project_guid": nullable(SHORT),
    "attributes": {"type": "object", "propertyNames": {"enum": list(CATEGORY_KEYS)},
                   "additionalProperties": string(255, pattern=NO_CONTROL)},
    "configuration": obj({
        "reference": dict(COMPUTER_REFERENCE,
                          description="ignored: the path names the computer"),
        "address": nullable(SHORT), "netmask": nullable(SHORT),
        "partition_list": array(obj({
            "reference": REFERENCE,
            "address_list": array(obj({"addr": string(255, minLength=1, pattern=NO_CONTROL),
                                       "netmask": SHORT, "network_interface": SHORT},
                                      required=["addr"], strict=False), maxItems=64),
            "tap": obj({"name": SHORT, "ipv4_addr": SHORT, "ipv4_netmask": SHORT,
                        "ipv4_gateway": SHORT, "ipv4_network": SHORT}, required=[],
                       strict=False),
            "capability_list": array(SHORT, maxItems=64)}, required=["reference"],
            strict=False), maxItems=10000)}, required=["partition_list"], strict=False),
    "message": TEXT,
    "slave_reference": nullable(REFERENCE),
    "connection": PARAMETERS_IN,
    "client_anchor": string(64, pattern=r"^[^\x00-\x1f\x7f]*$"),
    "server_anchor": string(64, pattern=r"^[^\x00-\x1f\x7f]*$"),
    "mapping": nullable(SYNC_MAP(255)),
    "digests": nullable(SYNC_MAP(128)),
    "new_name": TITLE,
    "error_text": nullable(TEXT),
    "document": string(4 * 1024 * 1024, description="the TioXML journal"),
    "software_release": URL,
    "software_type": nullable(SHORT),
    "parameters": nullable(PARAMETERS_IN),
    "sla": nullable(PARAMETERS_IN),
    "shared": BOOLEAN,
    "kind": CERTIFICATE_KIND,
    "computer": COMPUTER_REFERENCE,
    "partition": REFERENCE,
    "serial": string(128, minLength=1, pattern=r"^[0-9a-fA-F]+$"),
    "common_name": string(255, minLength=1, pattern=NO_CONTROL),
    "label": TITLE,
    "expires_in": nullable({"type": "number", "exclusiveMinimum": 0,
                            "maximum": 10 * 366 * 86400,
                            "description": "seconds from now; null or absent: never"}),
    "token": string(256, minLength=1, pattern=NO_CONTROL),
    "limit": {"type": "integer", "minimum": 1, "maximum": 10000},
    "currency": string(3, minLength=3, pattern=r"^[A-Z]{3}$"),
    "vat_rate": DECIMAL_TEXT,
    "effective_from": nullable(NUMBER),
    "subscriptions": array(obj({"product": nullable(REFERENCE), "release": nullable(URL),
                                "shared": BOOLEAN, "monthly": DECIMAL_TEXT},
                               required=["monthly"]), minItems=1, maxItems=10000),
    "usage": array(obj({"resource": string(255, minLength=1, pattern=NO_CONTROL),
                        "unit": string(64, pattern=NO_CONTROL), "unit_price": DECIMAL_TEXT},
                       required=["resource", "unit_price"]), maxItems=10000),
    "period": PERIOD,
    "amount": DECIMAL_TEXT,
    "paid_at": nullable(NUMBER),
    "reason": nonblank(2000),
    ("invoice.record_payment", "reference"): nonblank(255),
    "legal_name": nonblank(255),
    "country": {"type": "string", "enum": sorted(COUNTRIES)},
    "organisation": optional_text(255),
    "address": optional_text(1000),
    "registration": optional_text(64),
    "vat_code": nullable(string(15, pattern=r"^[A-Za-z]{2}[0-9A-Za-z+*]{2,13}$")),
    ("billing.set_profile", "email"): BILLING_EMAIL,
    ("billing.set_seller", "email"): BILLING_EMAIL,
    ("person.set_password", "password"): string(1024, description="empty removes it"),
    ("person.check_password", "password"): string(1024),
    "schema": nullable(string(MAX_SCHEMA_TEXT, description="a software.cfg.json, as JSON text")),
    "secret": string(1024, pattern=r"^(|[\s\S]{8,})$", description="empty removes it"),
    "nonce": string(256),
    "response": string(256),
    ("instance.request", "title"): TITLE,
    ("ticket.create", "title"): TITLE,
    ("ticket.create", "kind"): TICKET_KIND,
    ("ticket.create", "tree"): nullable(TITLE),
    ("ticket.create", "computer"): nullable(COMPUTER_REFERENCE),
    ("ticket.create", "login"): nullable(LOGIN),
    "text": nonblank(64 * 1024),
    ("ticket.close", "text"): nullable(nonblank(64 * 1024)),
    ("ticket.reopen", "text"): nullable(nonblank(64 * 1024)),
    "assignee": nullable(LOGIN),
    ("signup.request", "email"): string(255, minLength=3, pattern=(
        r"^[^\x00-\x1f\x7f%s]([^\x00-\x1f\x7f]*[^\x00-\x1f\x7f%s])?$" % (SPACE, SPACE))),
    ("signup.request", "password"): string(1024, minLength=8, pattern=r"^(?!sgt_)"),
    ("signup.request", "full_name"): SHORT,
    ("signup.request", "organisation"): SHORT,
    ("signup.request", "country"): nullable({"type": "string", "enum": sorted(COUNTRIES)}),
    "key": string(256, minLength=1),
    ("signup.reject", "reason"): nullable(string(2000)),
    "state": nullable(STATE),
    "idle_after": nullable({"type": "number", "minimum": 0, "maximum": 3650 * 86400}),
    "error_after": nullable({"type": "number", "minimum": 0, "maximum": 3650 * 86400}),
    "silent_after": nullable({"type": "number", "minimum": 0, "maximum": 3650 * 86400}),
    "attachment": nullable(string(
        4 * MAX_ATTACHMENT_LIMIT // 3, pattern=r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
        contentEncoding="base64", description="the file's bytes, base64")),
    "attachment_name": nullable(string(255, pattern=r"^[^\x00-\x1f\x7f/\\]*[^%s/\\]"
                                                    r"[^\x00-\x1f\x7f/\\]*$" % SPACE)),
    "attachment_type": nullable(string(255, pattern=MEDIA_TYPE)),
    ("supply.supply", "state"): {"type": "string", "enum": ["available", "destroyed"]},
    ("supply.report", "state"): {"type": "string",
                                 "enum": ["building", "available", "error", "destroyed"]},
}
# What a body says beyond its arguments: which ones a value of another makes required.
BODY_RULES = {
    # a computer's certificate names the computer, a partition's both (the core's Invalid else)
    "certificate.issue": {"allOf": [
        {"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
         "then": {"required": needed}}
        for kind, needed in (("computer", ["computer"]),
                             ("partition", ["computer", "partition"]))]},
}
# An attachment's name or type says something only of an attachment that is given.
ATTACHED = {"allOf": [
    {"if": {"properties": {name: {"type": "string"}}, "required": [name]},
     "then": {"properties": {"attachment": {"type": "string"}}, "required": ["attachment"]}}
    for name in ("attachment_name", "attachment_type")]}
BODY_RULES["ticket.create"] = BODY_RULES["ticket.post"] = ATTACHED
# Bodies that are one argument itself rather than an object of arguments.
UNWRAPPED = {"computer.format": "configuration"}


def argument_schema(operation, name):
    """The JSON schema of argument ``name`` of ``operation`` in a request body."""
    return ARGUMENT_SCHEMAS.get((operation, name)) or ARGUMENT_SCHEMAS[name]


def body_schema(route):
    """The request body of ``route``: the arguments of its operation that its path does not
    give, required as the operation declares them."""
    op = OPERATIONS[route.operations[0]]
    if op.name in UNWRAPPED:
        return argument_schema(op.name, UNWRAPPED[op.name])
    aliases = PATH_ALIASES.get(op.name.split(".", 1)[0], {})
    in_path = {aliases.get(name, name) for name in re.findall(r"\{(\w+)\}", route.path)}
    arguments = [a for a in op.declared if a.name not in in_path]
    required = [a.name for a in arguments if a.required]
    schema = obj({a.name: argument_schema(op.name, a.name) for a in arguments},
                 required=None if len(required) == len(arguments) else required)
    return dict(schema, **BODY_RULES.get(op.name, {}))


def body_schemas():
    """{component name: schema} of every route's request body."""
    bodies = {}
    for route in ROUTES:
        if route.body:
            schema = body_schema(route)
            if bodies.setdefault(route.body, schema) != schema:
                raise ValueError("two routes give body %s different schemas" % route.body)
    return bodies


ERRORS = {
    400: "the body is not JSON (or not UTF-8)",
    401: "no or wrong credentials (WWW-Authenticate: Basic)",
    403: "the caller may not do this",
    404: "no such resource, or not yours to see",
    405: "the path does not take this method (Allow lists those it takes)",
    409: "contradicts the current state",
    413: "the body is larger than the master's max_body (4 MiB unless configured)",
    414: "the request line is longer than 16 KiB",
    415: "the body is not application/json",
    422: "a parameter or the body does not match this document, or a value the core refuses",
    429: "asked too often (a computer polling its own information faster than the master "
         "allows); ask again after Retry-After seconds",
    500: "an unexpected server fault (nothing more is told)",
    503: "not ready; ask again after Retry-After seconds",
}
HEADERS = {
    "ETag": {"description": "a strong validator of the body; send it back in If-None-Match",
             "schema": {"type": "string"}},
    "Location": {"description": "the resource's address", "schema": {"type": "string"}},
    "Retry-After": {"description": "seconds to wait before asking again",
                    "schema": {"type": "string"}},
    "WWW-Authenticate": {"description": "the Basic challenge", "schema": {"type": "string"}},
    "Allow": {"description": "the methods this path takes", "schema": {"type": "string"}},
}
PAGING = (
    ("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
     "how many items at most (default %d)" % DEFAULT_LIMIT),
    ("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
     "how many items to skip"),
)


def page_schema(item):
    """A page of a list: its items, the total after filtering, and the paging used."""
    return obj({"items": array(ref(item)), "total": INTEGER, "limit": INTEGER,
                "offset": INTEGER,
                "next": nullable({"type": "string", "description": "the next page, if any"})})


def _response(status, spec):
    schema, description, headers = spec
    response = {"description": description}
    if headers:
        response["headers"] = {h: {"$ref": "#/components/headers/%s" % h} for h in headers}
    if isinstance(schema, tuple):  # media types of a document: its bytes
        response["content"] = {media: {"schema": {"type": "string", "format": "binary"}}
                               for media in schema}
    elif schema is not None:
        response["content"] = {"application/json": {"schema": ref(schema)}}
    return response


def _operation(route):
    operation = {"operationId": route.operation_id, "summary": route.summary,
                 "tags": [route.tag],
                 "x-slapgate-operations": list(route.operations)}
    parameters = [{"name": name, "in": "path", "required": True, "description": text,
                   "schema": schema}
                  for name, (schema, text) in PATH_PARAMETERS.items()
                  if "{%s}" % name in route.path]
    parameters.sort(key=lambda p: route.path.index("{%s}" % p["name"]))
    for item in route.filters:
        parameters.append({"name": item.name, "in": "query", "description": item.description,
                           "schema": item.schema})
    if route.listing:
        parameters += [{"name": name, "in": "query", "description": text, "schema": schema}
                       for name, schema, text in PAGING]
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": ref(route.body)}}}
    responses = {str(status): _response(status, spec)
                 for status, spec in sorted(route.responses.items())}
    if route.method == "GET":
        responses["304"] = {"description": "not modified (If-None-Match matched the ETag)",
                            "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}}
    for status in ERRORS:
        responses[str(status)] = {"$ref": "#/components/responses/E%d" % status}
    operation["responses"] = dict(sorted(responses.items()))
    if not route.secured:
        operation["security"] = []
    return operation


def document():
    """The OpenAPI 3.1 document (a dict)."""
    paths = {"/openapi.json": {"get": {
        "operationId": "getOpenApi", "summary": "This document", "tags": ["meta"],
        "security": [], "x-slapgate-operations": [],
        "responses": {
            "200": {"description": "the OpenAPI 3.1 document",
                    "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                    "content": {"application/json": {"schema": {"type": "object"}}}},
            "304": {"description": "not modified",
                    "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}},
            "405": {"$ref": "#/components/responses/E405"},
            "500": {"$ref": "#/components/responses/E500"}}}}}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    schemas = dict(VIEWS)
    schemas.update(body_schemas())
    for route in ROUTES:
        if route.listing:
            schemas["%sPage" % route.listing] = page_schema(route.listing)
    responses = {}
    for status, text in ERRORS.items():
        headers = {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}} \
            if status == 401 else {"Allow": {"$ref": "#/components/headers/Allow"}} \
            if status == 405 else {"Retry-After": {"$ref": "#/components/headers/Retry-After"}} \
            if status in (429, 503) else {}
        response = {"description": text,
                    "content": {"application/problem+json": {"schema": ref("Problem")}}}
        if headers:
            response["headers"] = headers
        responses["E%d" % status] = response
    return {
        "openapi": "3.1.0",
        "info": {"title": "slapgate REST API", "version": VERSION,
                 "description": "Resources over every slapgate core operation; see docs/rest.md."},
        "servers": [{"url": "/api"}],
        "security": [{"basic": []}, {"bearer": []}],
        "tags": [{"name": n} for n in ("people", "catalogue", "computers", "nodes", "supplies",
                                       "instances", "usage", "accounting", "meta")],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic",
                          "description": "a slapgate user's login and password (or a personal "
                                         "API token as the password)"},
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "a personal API token (sgt_...), or an access token "
                                          "of the OIDC provider when one is configured"}},
            "schemas": dict(sorted(schemas.items())),
            "responses": responses,
            "headers": HEADERS,
        },
    }


def generated():
    """The document as it is checked in: sorted keys, two-space indent, final newline."""
    return json.dumps(document(), indent=2, sort_keys=False, ensure_ascii=True) + "\n"


def template_regex(path):
    """A regex matching the decoded segments of ``path`` joined by NUL, with named groups."""
    parts = []
    for segment in path.strip("/").split("/"):
        name = re.fullmatch(r"\{(\w+)\}", segment)
        parts.append("(?P<%s>[^\x00]+)" % name.group(1) if name else re.escape(segment))
    return re.compile("\x00".join(parts))


if __name__ == "__main__":
    sys.stdout.write(generated())
