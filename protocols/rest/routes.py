"""The routes of ``/api/``: what each method on each path does with the core.

Each :class:`Route` names the core operations it calls (the REST column of docs/operations.md),
its request body and response schemas (components of the OpenAPI document) and an ``async``
handler taking a :class:`Context`. A handler returns a :class:`Reply`, or a :class:`Listing` that
the resource filters and pages; it raises slap_core errors or :class:`Problem` for the rest.
"""

from dataclasses import dataclass, field
from urllib.parse import quote

from protocols.rest.problems import RETRY_AFTER
from slap_core import errors
from slap_core.declarations import FLAG, NUMBER, TEXT
from slap_core.master import load_all
from slap_core.principals import ROLES

OPERATIONS = load_all()
# Path parameters that name an operation's ``reference`` in its namespace.
PATH_ALIASES = {"computer": {"computer": "reference"}, "token": {"token": "reference"},
                "ticket": {"ticket": "reference"}, "signup": {"signup": "reference"},
                "outbox": {"mail": "number"}}


@dataclass(frozen=True)
class Reply:
    """A response: status, JSON-able body (None for none) and extra headers; a body of another
    ``media_type`` is bytes."""

    status: int
    body: object = None
    headers: dict = field(default_factory=dict)
    media_type: str = "application/json"


@dataclass(frozen=True)
class Listing:
    """A list result: the resource applies the route's filters, then ``offset`` and ``limit``."""

    items: list


@dataclass(frozen=True)
class Filter:
    """A query parameter narrowing a list: ``match(item, value)`` on the wire form of an item.

    A filter without ``match`` is passed to the core by the handler itself.
    """

    name: str
    schema: dict
    description: str
    match: object = None


@dataclass(frozen=True)
class Route:
    """One method on one path template (relative to ``/api``), and what it answers."""

    method: str
    path: str
    operation_id: str
    summary: str
    handler: object
    responses: dict
    body: str | None = None
    listing: str | None = None
    filters: tuple = ()
    secured: bool = True
    tag: str = ""

    @property
    def operations(self):
        """The core operations the handler calls (:func:`one_call`, :func:`calls`)."""
        return self.handler.operations


def calls(*names):
    """Declare the core operations a handler written out calls."""

    def declare(handler):
        handler.operations = names
        return handler

    return declare


class Context:
    """What a handler gets: the caller, path parameters, query, body, its route and the core."""

    def __init__(self, calls, principal, params, query, body, route=None):
        self.calls = calls
        self.principal = principal
        self.params = params
        self.query = query
        self.body = body
        self.route = route

    def call(self, name, **arguments):
        """Deferred result of core operation ``name`` called as this request's principal."""
        return self.calls.call(name, self.principal, **arguments)

    def present(self, *names):
        """The body's fields among ``names`` that the client sent."""
        return {n: self.body[n] for n in names if n in self.body}


def given_arguments(ctx, op):
    """The declared arguments of ``op`` the request gives, found by name: a path parameter, then
    a member of the body, then a query filter the route passes to the core (one without a
    ``match``); what the request leaves out gets the operation's default."""
    aliases = PATH_ALIASES.get(op.name.split(".", 1)[0], {})
    params = {aliases.get(name, name): value for name, value in ctx.params.items()}
    body = ctx.body if isinstance(ctx.body, dict) else {}
    core_filters = {f.name for f in (ctx.route.filters if ctx.route else ()) if f.match is None}
    query = {name: value for name, value in ctx.query.items() if name in core_filters}
    given = {}
    for argument in op.declared:
        for source in (params, body, query):
            if argument.name in source:
                given[argument.name] = source[argument.name]
                break
    return given


PAGING_NAMES = ("limit", "offset")


def declared_filters(name):
    """The query filters of operation ``name``'s optional arguments, passed to the core (the
    paging parameters aside): their schemas from the arguments' kinds (or FILTER_SCHEMAS, by
    name), their meaning from the core's declaration."""
    schemas = {TEXT: NAME, FLAG: BOOLEAN, NUMBER: {"type": "number"}}
    return tuple(Filter(argument.name,
                        FILTER_SCHEMAS.get((name, argument.name))
                        or FILTER_SCHEMAS.get(argument.name) or schemas[argument.kind],
                        argument.doc)
                 for argument in OPERATIONS[name].declared
                 if not argument.required and argument.name not in PAGING_NAMES)


def one_call(name, status=200, located=None):
    """The handler of a route that calls operation ``name`` with what the request gives (see
    :func:`given_arguments`) and answers its result: a Listing on a route that pages a list,
    204 when the operation answers nothing (or None), else ``status`` (a number, or a function
    of the result), with a Location header when ``located`` is (collection, the result's field
    naming it)."""
    op = OPERATIONS[name]

    async def handle(ctx):
        result = await ctx.call(name, **given_arguments(ctx, op))
        if ctx.route is not None and ctx.route.listing is not None:
            return Listing(list(result))
        if result is None:
            return Reply(204)
        headers = {}
        if located is not None:
            headers["Location"] = location(located[0], getattr(result, located[1]))
        return Reply(status(result) if callable(status) else status, result, headers)

    handle.__doc__ = op.summary
    handle.__name__ = name.replace(".", "_")
    handle.operations = (name,)
    return handle


def document_call(name):
    """The handler of a route answering a document (a view with ``media_type``, ``filename``
    and ``content``) as itself rather than as JSON."""
    op = OPERATIONS[name]

    async def handle(ctx):
        result = await ctx.call(name, **given_arguments(ctx, op))
        return Reply(200, result.content,
                     {"Content-Disposition": 'inline; filename="%s"' % result.filename},
                     media_type=result.media_type)

    handle.__doc__ = op.summary
    handle.__name__ = name.replace(".", "_")
    handle.operations = (name,)
    return handle


def location(*segments):
    """The ``/api/...`` path of a resource, each segment percent-encoded (slashes too)."""
    return "/api/" + "/".join(quote(str(s), safe="") for s in segments)


def equals(name):
    """A Filter ``match`` comparing the item's field ``name`` with the value."""
    return lambda item, value: item.get(name) == value


STRING = {"type": "string", "maxLength": 255}
NAME = {"type": "string", "minLength": 1, "maxLength": 255}
BOOLEAN = {"type": "boolean"}
PERIOD = {"type": "string", "pattern": r"^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])$",
          "description": "a month from 1970, YYYY-MM"}
# Query filters whose text has a form of its own.
FILTER_SCHEMAS = {"period": PERIOD, "format": {"type": "string", "enum": ["pdf", "html"]},
                  ("signup.list", "state"): {"type": "string", "enum": [
                      "unconfirmed", "pending", "accepted", "rejected", "expired"]}}
# The media types of a document answer (ok(DOCUMENTS, ...)): bytes, not JSON.
DOCUMENTS = ("application/pdf", "text/html")
# A file as it was attached: any media type.
ANY_FILE = ("*/*",)


def string_filter(name, what):
    """A filter on field ``name`` compared for equality."""
    return Filter(name, STRING, "only %s whose %s is this" % (what, name.replace("_", " ")),
                  equals(name))


def bool_filter(name, what):
    """A boolean filter on field ``name``."""
    return Filter(name, BOOLEAN, "only %s whose %s is this" % (what, name.replace("_", " ")),
                  equals(name))


def ok(schema, description="the resource", etag=False):
    """A response spec: (schema component or None, description, header names)."""
    return (schema, description, ("ETag",) if etag else ())


def created(schema, description):
    """A 201 response spec with a Location header."""
    return (schema, description, ("Location",))


NO_CONTENT = {204: (None, "done", ())}


# Tickets ---------------------------------------------------------------------------------------


@calls("ticket.attachment")
async def ticket_attachment(ctx):
    """The file attached to one message of a ticket, as it was attached."""
    result = await ctx.call("ticket.attachment", reference=ctx.params["ticket"],
                            message=int(ctx.params["message"]))
    return Reply(200, result.content, {
        "Content-Disposition": "attachment; filename*=UTF-8''%s" % quote(result.filename),
        "X-Content-Type-Options": "nosniff"}, media_type=result.media_type)


@calls("outbox.record_attempt")
async def record_mail_attempt(ctx):
    """Record that a queued mail was sent, or why sending it failed."""
    return Reply(200, await ctx.call("outbox.record_attempt", number=int(ctx.params["mail"]),
                                     **ctx.present("error_text")))


# Computers -------------------------------------------------------------------------------------


@calls("computer.format")
async def format_computer(ctx):
    """Record the node's partitions and addresses."""
    reference = ctx.params["computer"]
    return Reply(200, await ctx.call("computer.format", reference=reference,
                                     configuration=dict(ctx.body, reference=reference)))


@calls("computer.bang")
async def bang_computer(ctx):
    """Have every instance of the computer processed again."""
    count = await ctx.call("computer.bang", reference=ctx.params["computer"],
                           message=ctx.body.get("message", ""))
    return Reply(200, {"bumped": count})


@calls("computer.information")
async def list_partitions(ctx):
    """The computer's partitions as its node sees them."""
    information = await ctx.call("computer.information", reference=ctx.params["computer"])
    return Listing(list(information.partitions))


# Supplies and usage ----------------------------------------------------------------------------


@calls("usage.list")
async def list_usage(ctx):
    """Usage records the caller may read, of one computer with ``computer``."""
    return Listing(await ctx.call("usage.list", computer=ctx.query.get("computer"), limit=10000))


# Certificates and revisions ---------------------------------------------------------------------


@calls("certificate.revoke")
async def revoke_certificate(ctx):
    """Revoke one certificate by serial."""
    (view,) = await ctx.call("certificate.revoke", serial=ctx.params["serial"])
    return Reply(200, view)


# Revisions ---------------------------------------------------------------------------------------


@calls("computer.revisions")
async def computer_revision(ctx):
    """The computer's revision: it moves with every change its poll shows."""
    (revision,) = await ctx.call("computer.revisions", references=[ctx.params["computer"]])
    return Reply(200, revision)


# Instances -------------------------------------------------------------------------------------


def _requested(view, status):
    headers = {"Location": location("instances", view.reference)}
    if status == 202:
        headers["Retry-After"] = str(RETRY_AFTER)
    return Reply(status, view, headers)


async def _request(ctx, name, arguments, status):
    try:
        view = await ctx.call(name, **arguments)
    except errors.NotReady as waiting:
        if waiting.result is None:
            raise
        return _requested(waiting.result, 202)
    return _requested(view, status(view))


@calls("instance.request")
async def request_instance(ctx):
    """Request or re-request a root instance: 201 new, 200 known, 202 waiting for a partition."""
    return await _request(ctx, "instance.request", ctx.body,
                          lambda view: 201 if view.created else 200)


@calls("instance.change")
async def change_instance(ctx):
    """Change a root instance's parameters, SLA, type, release or state by requesting it again."""
    return await _request(ctx, "instance.change",
                          dict(ctx.body, reference=ctx.params["reference"]), lambda view: 200)


@calls("instance.get")
async def instance_connection(ctx):
    """The connection parameters the instance published."""
    view = await ctx.call("instance.get", reference=ctx.params["reference"])
    return Reply(200, view.connection)


@calls("instance.allocate_pending")
async def allocate_pending(ctx):
    """One pass of the allocator over waiting instances."""
    placed = await ctx.call("instance.allocate_pending", **ctx.present("limit"))
    return Reply(200, {"placed": placed})


# The table -------------------------------------------------------------------------------------

def _partition_route(method, action, operation_id, summary, handler, responses, body=None,
                     listing=None, filters=()):
    return Route(method, "/computers/{computer}/partitions/{partition}" + action, operation_id,
                 summary, handler, responses, body, listing, filters, tag="nodes")


def _person_filters():
    return (Filter("role", {"type": "string", "enum": list(ROLES)},
                   "only people with this role", lambda item, value: value in item["roles"]),
            bool_filter("has_password", "people"))


INSTANCE_FILTERS = declared_filters("instance.list") + (
    string_filter("title", "instances"),
    Filter("state", {"type": "string", "enum": ["started", "stopped", "destroyed"]},
           "only instances whose effective state is this", equals("state")),
    string_filter("software_release", "instances"),
    string_filter("computer", "instances"),
    bool_filter("shared", "instances"),
    bool_filter("allocated", "instances"),
)

ROUTES = (
    Route("GET", "/me", "getMe", "The calling user's own record",
          one_call("person.me"),
          {200: ok("Person", "the caller", etag=True)}, tag="people"),
    Route("GET", "/people", "listPeople", "Every person (admins and accountants)",
          one_call("person.list"),
          {200: ok("PersonPage", "a page of people", etag=True)}, listing="Person",
          filters=_person_filters(), tag="people"),
    Route("POST", "/people", "createPerson", "Create a local user",
          one_call("person.create", 201, ("people", "login")),
          {201: created("Person", "the new person")}, body="PersonCreate", tag="people"),
    Route("GET", "/people/{login}", "getPerson", "One person (yourself, or anyone for admins)",
          one_call("person.get"), {200: ok("Person", "the person", etag=True)},
          tag="people"),
    Route("PATCH", "/people/{login}", "updatePerson",
          "Change a person's contact card: name, email, phone, organisation (yourself, or "
          "anyone for admins, who also disable or enable a person and change their roles)",
          one_call("person.update"), {200: ok("Person", "the person")}, body="PersonUpdate",
          tag="people"),
    Route("PUT", "/people/{login}/password", "setPassword",
          "Set (or with an empty string remove) a local password",
          one_call("person.set_password"), {200: ok("Person", "the person")},
          body="PasswordChange", tag="people"),
    Route("POST", "/people/{login}/password-check", "checkPassword",
          "Check a local password: 200 with the person, or 401",
          one_call("person.check_password"), {200: ok("Person", "the password matches")},
          body="PasswordCheck",
          secured=False, tag="people"),

    Route("GET", "/products", "listProducts", "Software products with their releases",
          one_call("catalogue.list_products"),
          {200: ok("ProductPage", "a page of products", etag=True)}, listing="Product",
          filters=(string_filter("title", "products"),), tag="catalogue"),
    Route("GET", "/products/{product}", "getProduct", "One software product",
          one_call("catalogue.get_product"),
          {200: ok("Product", "the product", etag=True)}, tag="catalogue"),
    Route("GET", "/products/{product}/release-urls", "listProductReleaseUrls",
          "The URLs of a product's releases, newest first",
          one_call("catalogue.product_release_urls"),
          {200: ok("UrlPage", "a page of URLs", etag=True)},
          listing="Url", filters=(Filter("prefix", STRING, "only URLs starting with this",
                                         lambda item, value: item.startswith(value)),),
          tag="catalogue"),
    Route("GET", "/releases", "listReleases", "Software releases, newest first",
          one_call("catalogue.list_releases"),
          {200: ok("ReleasePage", "a page of releases", etag=True)}, listing="Release",
          filters=declared_filters("catalogue.list_releases")
          + (string_filter("version", "releases"),), tag="catalogue"),
    Route("POST", "/releases", "addRelease",
          "Register a release, optionally as a version of a product",
          one_call("catalogue.add_release", lambda release: 201 if release.created else 200,
                   ("releases", "url")),
          {200: ok("Release", "the release was already registered"),
           201: created("Release", "the release is new")}, body="ReleaseCreate",
          tag="catalogue"),
    Route("GET", "/releases/{url}", "getRelease", "One release (its URL percent-encoded)",
          one_call("catalogue.get_release"),
          {200: ok("Release", "the release", etag=True)}, tag="catalogue"),
    Route("DELETE", "/releases/{url}", "removeRelease",
          "Take a release out of the catalogue (409 while a supply or a live instance uses it)",
          one_call("catalogue.remove_release"),
          NO_CONTENT, tag="catalogue"),
    Route("GET", "/releases/{url}/schema", "getReleaseSchema",
          "A release's parameter schema: its software types with their request and connection "
          "parameter JSON Schemas (404 when the master holds none)",
          one_call("catalogue.release_schema"),
          {200: ok("ReleaseSchema", "the schema", etag=True)}, tag="catalogue"),
    Route("GET", "/releases/{url}/product-release-urls", "listSiblingReleaseUrls",
          "The URLs of every release of this release's product, newest first",
          one_call("catalogue.product_release_urls"),
          {200: ok("UrlPage", "a page of URLs", etag=True)}, listing="Url",
          filters=(Filter("prefix", STRING, "only URLs starting with this",
                          lambda item, value: item.startswith(value)),), tag="catalogue"),

    Route("GET", "/computers", "listComputers", "The computers the caller may see",
          one_call("computer.list"),
          {200: ok("ComputerPage", "a page of computers", etag=True)}, listing="Computer",
          filters=(string_filter("owner", "computers"),
                   Filter("allocation_scope", {"type": "string", "enum": ["open", "close"]},
                          "only computers with this allocation scope", equals("allocation_scope")),
                   string_filter("network_guid", "computers"),
                   string_filter("project_guid", "computers")), tag="computers"),
    Route("POST", "/computers", "createComputer", "Register a computer owned by the caller",
          one_call("computer.create", 201, ("computers", "reference")),
          {201: created("Computer", "the new computer")}, body="ComputerCreate", tag="computers"),
    Route("GET", "/computers/{computer}", "getComputer", "One computer",
          one_call("computer.get"), {200: ok("Computer", "the computer", etag=True)},
          tag="computers"),
    Route("PATCH", "/computers/{computer}", "updateComputer",
          "Change a computer's title, allocation scope, network, project or attributes",
          one_call("computer.update"), {200: ok("Computer", "the changed computer")},
          body="ComputerUpdate", tag="computers"),
    Route("PUT", "/computers/{computer}/configuration", "formatComputer",
          "Record what `node format` found (an admin's call creates a missing computer)",
          format_computer, {200: ok("Computer", "the formatted computer")},
          body="ComputerConfiguration", tag="nodes"),
    Route("GET", "/computers/{computer}/information", "getComputerInformation",
          "The node's poll: releases to install or remove and every partition",
          one_call("computer.information"),
          {200: ok("ComputerInformation", "what the node must do", etag=True)}, tag="nodes"),
    Route("GET", "/computers/{computer}/status", "getComputerStatus",
          "The computer's latest news", one_call("computer.status"),
          {200: ok("ComputerStatus", "the latest news", etag=True)}, tag="computers"),
    Route("POST", "/computers/{computer}/bang", "bangComputer",
          "Have every instance of the computer processed again",
          bang_computer, {200: ok("BangOutcome", "how many instances were bumped")},
          body="Bang", tag="nodes"),
    Route("GET", "/computers/{computer}/partitions", "listPartitions",
          "The computer's partitions as its node sees them",
          list_partitions, {200: ok("PartitionPage", "a page of partitions", etag=True)},
          listing="Partition",
          filters=(Filter("state", {"type": "string",
                                    "enum": ["started", "stopped", "destroyed"]},
                          "only partitions in this state", equals("state")),
                   string_filter("software_release", "partitions")), tag="nodes"),
    _partition_route("GET", "", "getPartition", "One partition as its node sees it",
                     one_call("computer.partition"),
                     {200: ok("Partition", "the partition", etag=True)}),
    _partition_route("POST", "/started", "reportStarted", "The node started the partition",
                     one_call("instance.report_started"), NO_CONTENT),
    _partition_route("POST", "/stopped", "reportStopped", "The node stopped the partition",
                     one_call("instance.report_stopped"), NO_CONTENT),
    _partition_route("POST", "/error", "reportError",
                     "The node failed to deploy the partition or a shared instance on it",
                     one_call("instance.report_error"), NO_CONTENT,
                     body="ErrorReport"),
    _partition_route("POST", "/destroyed", "reportDestroyed",
                     "The node wiped the partition (202 while instances it requested remain)",
                     one_call("instance.report_destroyed",
                              lambda outcome: 200 if outcome.freed else 202),
                     {200: ok("DestroyOutcome", "the partition is free"),
                      202: ok("DestroyOutcome", "kept until the instances it requested are gone")}),
    _partition_route("PUT", "/connection", "setConnection",
                     "Publish connection parameters of the instance or of a shared one it hosts",
                     one_call("instance.set_connection"),
                     {200: ok("Instance", "the instance")}, body="ConnectionPublish"),
    _partition_route("POST", "/bang", "bangPartition",
                     "Have the whole tree of the partition's instance processed again",
                     one_call("instance.bang"), NO_CONTENT,
                     body="PartitionBang"),
    _partition_route("POST", "/rename", "renamePartitionInstance",
                     "Give the partition's instance (or a shared one it hosts) a new title",
                     one_call("instance.rename"), {200: ok("Instance", "the instance")},
                     body="Rename"),
    _partition_route("GET", "/hosting-ip-list", "listHostingIps",
                     "Every (interface, address) of every partition of the instance's tree",
                     one_call("instance.hosting_ip_list"),
                     {200: ok("AddressPairPage", "a page of addresses", etag=True)},
                     listing="AddressPair",
                     filters=(Filter("network_interface", STRING, "only this interface",
                                     lambda item, value: item[0] == value),)),

    Route("GET", "/supplies", "listSupplies",
          "Supplies of one computer, or of every computer the caller manages",
          one_call("supply.list"), {200: ok("SupplyPage", "a page of supplies", etag=True)},
          listing="Supply",
          filters=declared_filters("supply.list") + (
                   string_filter("url", "supplies"),
                   Filter("desired_state", {"type": "string", "enum": ["available", "destroyed"]},
                          "only supplies wanted in this state", equals("desired_state"))),
          tag="supplies"),
    Route("GET", "/computers/{computer}/supplies/{url}", "getSupply",
          "One release supplied to a computer", one_call("supply.get"),
          {200: ok("Supply", "the supply", etag=True)}, tag="supplies"),
    Route("PUT", "/computers/{computer}/supplies/{url}", "putSupply",
          "Ask the computer to install (available) or remove (destroyed) the release",
          one_call("supply.supply"), {200: ok("Supply", "the supply")},
          body="SupplyChange",
          tag="supplies"),
    Route("POST", "/computers/{computer}/supplies/{url}/reports", "reportSupply",
          "The node reports the release building, available, error or destroyed",
          one_call("supply.report"),
          {200: ok("Supply", "the supply"), 204: (None, "destroyed: the supply is gone", ())},
          body="SupplyReport", tag="nodes"),

    Route("GET", "/trees", "listTrees", "The caller's instance trees",
          one_call("tree.list"),
          {200: ok("TreePage", "a page of trees", etag=True)}, listing="Tree",
          filters=declared_filters("tree.list")
          + (string_filter("title", "trees"), string_filter("owner", "trees")),
          tag="instances"),
    Route("GET", "/trees/{title}", "getTree", "One of the caller's live instance trees",
          one_call("tree.get"), {200: ok("Tree", "the tree", etag=True)},
          tag="instances"),
    Route("GET", "/instances", "listInstances", "The caller's instances",
          one_call("instance.list"), {200: ok("InstancePage", "a page of instances", etag=True)},
          listing="Instance", filters=INSTANCE_FILTERS, tag="instances"),
    Route("POST", "/instances", "requestInstance",
          "Request (or request again) a root instance", request_instance,
          {200: ok("Instance", "a known instance, requested again"),
           201: created("Instance", "a new instance, placed on a partition"),
           202: ("Instance", "recorded, waiting for a partition or a host: poll its Location",
                 ("Location", "Retry-After"))},
          body="InstanceRequest", tag="instances"),
    Route("GET", "/instances/{reference}", "getInstance", "One instance",
          one_call("instance.get"), {200: ok("Instance", "the instance", etag=True)},
          tag="instances"),
    Route("PATCH", "/instances/{reference}", "changeInstance",
          "Change a root instance's parameters, SLA, type, release or state",
          change_instance,
          {200: ok("Instance", "the changed instance"),
           202: ("Instance", "recorded, waiting for a partition or a host: poll its Location",
                 ("Location", "Retry-After"))},
          body="InstanceChange", tag="instances"),
    Route("DELETE", "/instances/{reference}", "destroyInstance",
          "Ask for the instance (for a root, its whole tree) to be destroyed",
          one_call("instance.destroy", 202, ("instances", "reference")),
          {202: ("Instance", "destruction requested; the node carries it out", ("Location",))},
          tag="instances"),
    Route("GET", "/instances/{reference}/connection", "getInstanceConnection",
          "The connection parameters the instance published",
          instance_connection, {200: ok("Parameters", "the connection parameters", etag=True)},
          tag="instances"),
    Route("POST", "/allocation-passes", "allocatePending",
          "Try again to place instances waiting for a partition or a host",
          allocate_pending,
          {200: ok("AllocationOutcome", "how many were placed")}, body="AllocationPass",
          tag="instances"),

    Route("POST", "/price-lists", "setPrices",
          "Publish a price list, in force from its date on (admins)",
          one_call("pricing.set", 201), {201: ok("PriceList", "the new price list")},
          body="PriceListCreate", tag="accounting"),
    Route("GET", "/price-lists/current", "getPrices",
          "The price list in force now, or at the instant given",
          one_call("pricing.get"), {200: ok("PriceList", "the price list", etag=True)},
          filters=declared_filters("pricing.get"), tag="accounting"),

    Route("GET", "/subscriptions", "listSubscriptions",
          "Subscriptions (one per instance tree), oldest first: yours, or anyone's for an "
          "admin or an accountant",
          one_call("subscription.list"),
          {200: ok("SubscriptionPage", "a page of subscriptions", etag=True)},
          listing="Subscription",
          filters=declared_filters("subscription.list") + (string_filter("tree", "subscriptions"),),
          tag="accounting"),

    Route("GET", "/consumption/current", "getCurrentConsumption",
          "What your invoice for the current month would be now (an admin or an accountant: "
          "anyone's)",
          one_call("consumption.current"), {200: ok("Consumption", "the running total")},
          filters=declared_filters("consumption.current"), tag="accounting"),

    Route("POST", "/invoice-runs", "generateInvoices",
          "Issue the invoices of a month that has ended to everyone not yet invoiced for it "
          "(admins); running it again adds nothing",
          one_call("invoice.generate"), {200: ok("InvoiceRun", "what the run issued")},
          body="InvoiceRunCreate", tag="accounting"),
    Route("GET", "/invoices", "listInvoices",
          "Invoices, oldest first: yours, or anyone's for an admin or an accountant",
          one_call("invoice.list"),
          {200: ok("InvoiceSummaryPage", "a page of invoices", etag=True)},
          listing="InvoiceSummary", filters=declared_filters("invoice.list"), tag="accounting"),
    Route("GET", "/invoices/{number}", "getInvoice",
          "One invoice with its lines (another person's is not found)",
          one_call("invoice.get"), {200: ok("Invoice", "the invoice", etag=True)},
          tag="accounting"),
    Route("GET", "/invoices/{number}/document", "getInvoiceDocument",
          "An invoice or credit note as a PDF (the default) or HTML document",
          document_call("invoice.document"),
          {200: ok(DOCUMENTS, "the document", etag=True)},
          filters=declared_filters("invoice.document"), tag="accounting"),
    Route("POST", "/invoices/{number}/payments", "recordPayment",
          "Record that an issued invoice was paid in full (admins): it becomes paid",
          one_call("invoice.record_payment"), {200: ok("Invoice", "the invoice, paid")},
          body="PaymentCreate", tag="accounting"),
    Route("POST", "/invoices/{number}/credit-notes", "creditInvoice",
          "Cancel an issued, unpaid invoice with a credit note of its whole amount (admins)",
          one_call("invoice.credit", 201, located=("invoices", "number")),
          {201: ok("Invoice", "the credit note")}, body="CreditNoteCreate", tag="accounting"),

    Route("GET", "/seller", "getSeller", "Who the master's invoices come from",
          one_call("billing.get_seller"), {200: ok("Seller", "the seller", etag=True)},
          tag="accounting"),
    Route("PUT", "/seller", "setSeller",
          "Set who the master's invoices come from (admins; what is left out is cleared)",
          one_call("billing.set_seller"), {200: ok("Seller", "the seller")},
          body="SellerUpdate", tag="accounting"),
    Route("GET", "/people/{login}/billing-profile", "getBillingProfile",
          "Whom a person's invoices are made out to (yours; anyone's for an admin or an "
          "accountant)",
          one_call("billing.get_profile"),
          {200: ok("BillingProfile", "the billing profile", etag=True)}, tag="accounting"),
    Route("PUT", "/people/{login}/billing-profile", "setBillingProfile",
          "Set whom a person's invoices are made out to (yours; anyone's for an admin; what is "
          "left out is cleared)",
          one_call("billing.set_profile"), {200: ok("BillingProfile", "the billing profile")},
          body="BillingProfileUpdate", tag="accounting"),

    Route("GET", "/sync-partnerships/{device}/{store}", "getSyncPartnership",
          "What one of your SyncML devices last agreed about a store (empty anchors: never)",
          one_call("sync.get"), {200: ok("SyncPartnership", "the partnership", etag=True)},
          tag="people"),
    Route("PUT", "/sync-partnerships/{device}/{store}", "recordSyncPartnership",
          "Remember what a SyncML session of one of your devices ended with (what the SyncML "
          "adaptor writes; put empty anchors to make the next session slow)",
          one_call("sync.record"), {200: ok("SyncPartnership", "the partnership")},
          body="SyncPartnershipUpdate", tag="people"),

    Route("PUT", "/syncml-secret", "setSyncmlSecret",
          "Set (or with an empty string remove) your SyncML secret, for devices that log in "
          "with syncml:auth-md5",
          one_call("sync.set_secret"), {200: ok("Person", "you")}, body="SyncmlSecret",
          tag="people"),
    Route("POST", "/syncml-secret/checks", "checkSyncmlMd5",
          "Check a device's syncml:auth-md5 credential: 200 with the person, or 401",
          one_call("sync.check_md5"), {200: ok("Person", "the credential matches")},
          body="SyncmlMd5Check", secured=False, tag="people"),

    Route("GET", "/usage", "listUsage", "Usage records the caller may read",
          list_usage, {200: ok("UsageRecordPage", "a page of usage records", etag=True)},
          listing="UsageRecord",
          filters=declared_filters("usage.list") + (
                   string_filter("partition", "records"), string_filter("resource", "records"),
                   string_filter("person", "records"), string_filter("instance", "records")),
          tag="usage"),
    Route("POST", "/computers/{computer}/usage-reports", "reportUsage",
          "Accept a node's usage journal (TioXML)", one_call("usage.report"),
          {200: ok("UsageReportOutcome", "the journal was recorded")}, body="UsageReport",
          tag="nodes"),

    Route("GET", "/certificates", "listCertificates",
          "Certificates of the master's CA the caller may see, newest first",
          one_call("certificate.list"),
          {200: ok("CertificatePage", "a page of certificates", etag=True)},
          listing="Certificate",
          filters=declared_filters("certificate.list") + (string_filter("kind", "certificates"),),
          tag="certificates"),
    Route("POST", "/certificates", "issueCertificate",
          "Issue a key and certificate for a computer, a deployed partition or a person",
          one_call("certificate.issue", 201, ("certificates", "serial")),
          {201: created("Certificate", "the certificate with its private key (only here)")},
          body="CertificateRequest", tag="certificates"),
    Route("DELETE", "/certificates/{serial}", "revokeCertificate", "Revoke a certificate",
          revoke_certificate,
          {200: ok("Certificate", "the revoked certificate")}, tag="certificates"),
    Route("POST", "/computers/{computer}/certificate-revocations",
          "revokeComputerCertificates", "Revoke every computer certificate of a computer",
          one_call("certificate.revoke"),
          {200: ok("CertificateList", "the certificates revoked")}, tag="certificates"),
    Route("GET", "/revoked-certificates", "listRevokedCertificates",
          "Every revoked, unexpired certificate (public, as a CRL)",
          one_call("certificate.revoked_list"),
          {200: ok("RevokedCertificateList", "serials and revocation times", etag=True)},
          secured=False, tag="certificates"),
    Route("POST", "/certificate-checks", "checkCertificate",
          "Who a CA-verified client certificate (serial, common name) stands for",
          one_call("certificate.authenticate"),
          {200: ok("CertificateIdentity", "the principal it stands for")},
          body="CertificateCheck", secured=False, tag="certificates"),
    Route("GET", "/tokens", "listTokens",
          "The caller's personal API tokens (an admin's: anyone's), newest first",
          one_call("token.list"),
          {200: ok("TokenPage", "a page of tokens, without their secrets", etag=True)},
          listing="Token",
          filters=declared_filters("token.list") + (string_filter("label", "tokens"),),
          tag="tokens"),
    Route("POST", "/tokens", "createToken", "Create a personal API token",
          one_call("token.create", 201, ("tokens", "reference")),
          {201: created("Token", "the token with its secret (only here)")},
          body="TokenRequest", tag="tokens"),
    Route("DELETE", "/tokens/{token}", "revokeToken", "Revoke a personal API token",
          one_call("token.revoke"),
          {200: ok("Token", "the revoked token")}, tag="tokens"),
    Route("POST", "/token-checks", "checkToken",
          "Who a personal API token stands for",
          one_call("token.authenticate"),
          {200: ok("TokenIdentity", "the person it stands for")},
          body="TokenCheck", secured=False, tag="tokens"),

    Route("GET", "/tickets", "listTickets",
          "Support tickets, most recently active first: yours, or anyone's for support and "
          "admins (open ones unless include_closed)",
          one_call("ticket.list"),
          {200: ok("TicketSummaryPage", "a page of tickets", etag=True)},
          listing="TicketSummary", filters=declared_filters("ticket.list"), tag="support"),
    Route("POST", "/tickets", "createTicket",
          "Open a support ticket about one of your instance trees, a computer or nothing in "
          "particular, with its first message",
          one_call("ticket.create", 201, ("tickets", "reference")),
          {201: created("Ticket", "the ticket")}, body="TicketCreate", tag="support"),
    Route("GET", "/tickets/{ticket}", "getTicket",
          "One ticket with its thread of messages (another person's is not found)",
          one_call("ticket.get"), {200: ok("Ticket", "the ticket", etag=True)}, tag="support"),
    Route("POST", "/tickets/{ticket}/messages", "postTicketMessage",
          "Add a message to a ticket: the requester's makes it the operator's turn, anyone "
          "else's the customer's",
          one_call("ticket.post"), {200: ok("Ticket", "the ticket with the message")},
          body="TicketMessageCreate", tag="support"),
    Route("GET", "/tickets/{ticket}/messages/{message}/attachment", "getTicketAttachment",
          "The file attached to one message of a ticket",
          ticket_attachment, {200: ok(ANY_FILE, "the file, as it was attached", etag=True)},
          tag="support"),
    Route("PUT", "/tickets/{ticket}/assignee", "assignTicket",
          "Assign a ticket to a support person or an admin, or (assignee left out) to nobody "
          "(support and admins)",
          one_call("ticket.assign"), {200: ok("Ticket", "the ticket")},
          body="TicketAssignment", tag="support"),
    Route("POST", "/tickets/{ticket}/closing", "closeTicket",
          "Close a ticket, with a last message when text is given",
          one_call("ticket.close"), {200: ok("Ticket", "the closed ticket")},
          body="TicketNote", tag="support"),
    Route("POST", "/tickets/{ticket}/reopening", "reopenTicket",
          "Reopen a closed ticket, with a message when text is given",
          one_call("ticket.reopen"), {200: ok("Ticket", "the reopened ticket")},
          body="TicketNote", tag="support"),
    Route("POST", "/signups", "requestSignup",
          "Ask for an account (no credentials needed, when the master takes sign-ups); with "
          "mail, a key goes to the address to confirm it",
          one_call("signup.request", 201, ("signups", "reference")),
          {201: created("Signup", "the request")}, body="SignupCreate", secured=False,
          tag="support"),
    Route("POST", "/signup-confirmations", "confirmSignup",
          "Confirm a sign-up's address with the key mailed to it",
          one_call("signup.confirm"), {200: ok("Signup", "the request, pending or accepted")},
          body="SignupConfirmation", secured=False, tag="support"),
    Route("GET", "/signups", "listSignups", "Sign-up requests, newest first (admins)",
          one_call("signup.list"), {200: ok("SignupPage", "a page of requests", etag=True)},
          listing="Signup", filters=declared_filters("signup.list"), tag="support"),
    Route("POST", "/signups/{signup}/acceptance", "acceptSignup",
          "Accept a pending sign-up: the person is created with the user role (admins)",
          one_call("signup.accept"), {200: ok("Signup", "the accepted request")},
          tag="support"),
    Route("POST", "/signups/{signup}/rejection", "rejectSignup",
          "Reject a sign-up, with a reason (admins)",
          one_call("signup.reject"), {200: ok("Signup", "the rejected request")},
          body="SignupRejection", tag="support"),
    Route("GET", "/outbox", "listOutbox",
          "The mails still to send, oldest first (admins; what the master's mailer reads)",
          one_call("outbox.pending"), {200: ok("MailPage", "a page of mails", etag=True)},
          listing="Mail", tag="support"),
    Route("POST", "/outbox/{mail}/attempts", "recordMailAttempt",
          "Record that a queued mail was sent, or (error_text) why sending it failed (admins)",
          record_mail_attempt, {200: ok("Mail", "the mail")}, body="MailAttempt",
          tag="support"),
    Route("POST", "/ticket-monitoring-runs", "monitorTickets",
          "One monitoring pass (admins; the master runs it on a timer): open a monitoring "
          "ticket for each tree in error and each silent computer, close those well again and "
          "tickets idle on their customer's side",
          one_call("ticket.monitor"), {200: ok("MonitoringRun", "what the pass did")},
          body="MonitoringRunCreate", tag="support"),
    Route("GET", "/computers/{computer}/revision", "getComputerRevision",
          "The computer's revision: it moves with every change its node's poll shows",
          computer_revision,
          {200: ok("ComputerRevision", "the revision", etag=True)}, tag="nodes"),
)
