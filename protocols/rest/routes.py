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


@dataclass(frozen=True)
class Reply:
    """A response: status, JSON-able body (None for none) and extra headers."""

    status: int
    body: object = None
    headers: dict = field(default_factory=dict)


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
    operations: tuple
    handler: object
    responses: dict
    body: str | None = None
    listing: str | None = None
    filters: tuple = ()
    secured: bool = True
    tag: str = ""


class Context:
    """What a handler gets: the caller, path parameters, query, body, and the core."""

    def __init__(self, calls, principal, params, query, body):
        self.calls = calls
        self.principal = principal
        self.params = params
        self.query = query
        self.body = body

    def call(self, name, **arguments):
        """Deferred result of core operation ``name`` called as this request's principal."""
        return self.calls.call(name, self.principal, **arguments)

    def present(self, *names):
        """The body's fields among ``names`` that the client sent."""
        return {n: self.body[n] for n in names if n in self.body}


def location(*segments):
    """The ``/api/...`` path of a resource, each segment percent-encoded (slashes too)."""
    return "/api/" + "/".join(quote(str(s), safe="") for s in segments)


def equals(name):
    """A Filter ``match`` comparing the item's field ``name`` with the value."""
    return lambda item, value: item.get(name) == value


STRING = {"type": "string", "maxLength": 255}
NAME = {"type": "string", "minLength": 1, "maxLength": 255}
BOOLEAN = {"type": "boolean"}


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


# People ----------------------------------------------------------------------------------------

async def get_me(ctx):
    """The caller's own record."""
    return Reply(200, await ctx.call("person.me"))


async def list_people(ctx):
    """Every person (admins)."""
    return Listing(await ctx.call("person.list"))


async def create_person(ctx):
    """Create a local user."""
    person = await ctx.call("person.create", **ctx.body)
    return Reply(201, person, {"Location": location("people", person.login)})


async def get_person(ctx):
    """One person: the caller themselves, or anyone for admins."""
    return Reply(200, await ctx.call("person.get", login=ctx.params["login"]))


async def set_password(ctx):
    """Set or remove a local password."""
    return Reply(200, await ctx.call("person.set_password", login=ctx.params["login"],
                                     password=ctx.body["password"]))


async def check_password(ctx):
    """Check a local password (anyone may ask)."""
    return Reply(200, await ctx.call("person.check_password", login=ctx.params["login"],
                                     password=ctx.body["password"]))


# Catalogue -------------------------------------------------------------------------------------

async def list_products(ctx):
    """Every product with its releases."""
    return Listing(await ctx.call("catalogue.list_products"))


async def get_product(ctx):
    """One product with its releases."""
    return Reply(200, await ctx.call("catalogue.get_product", product=ctx.params["product"]))


async def product_release_urls(ctx):
    """The URLs of a product's releases, newest first."""
    return Listing(await ctx.call("catalogue.product_release_urls",
                                  product=ctx.params["product"]))


async def list_releases(ctx):
    """Releases newest first, of one product with ``product``."""
    return Listing(await ctx.call("catalogue.list_releases", product=ctx.query.get("product")))


async def add_release(ctx):
    """Register a release (201 when new, 200 when it was known)."""
    release = await ctx.call("catalogue.add_release", **ctx.body)
    return Reply(201 if release.created else 200, release, {"Location": location("releases", release.url)})


async def get_release(ctx):
    """One release by URL."""
    return Reply(200, await ctx.call("catalogue.get_release", url=ctx.params["url"]))


async def remove_release(ctx):
    """Take a release out of the catalogue (204)."""
    await ctx.call("catalogue.remove_release", url=ctx.params["url"])
    return Reply(204)


async def sibling_release_urls(ctx):
    """The URLs of the releases of the product this release belongs to, newest first."""
    return Listing(await ctx.call("catalogue.product_release_urls", url=ctx.params["url"]))


# Computers -------------------------------------------------------------------------------------

async def list_computers(ctx):
    """The computers the caller may see."""
    return Listing(await ctx.call("computer.list"))


async def create_computer(ctx):
    """Register a computer owned by the caller."""
    computer = await ctx.call("computer.create", **ctx.body)
    return Reply(201, computer, {"Location": location("computers", computer.reference)})


async def get_computer(ctx):
    """One computer."""
    return Reply(200, await ctx.call("computer.get", reference=ctx.params["computer"]))


async def update_computer(ctx):
    """Change some of a computer's settings."""
    return Reply(200, await ctx.call("computer.update", reference=ctx.params["computer"],
                                     **ctx.body))


async def format_computer(ctx):
    """Record the node's partitions and addresses."""
    reference = ctx.params["computer"]
    return Reply(200, await ctx.call("computer.format", reference=reference,
                                     configuration=dict(ctx.body, reference=reference)))


async def computer_information(ctx):
    """The node's poll."""
    return Reply(200, await ctx.call("computer.information", reference=ctx.params["computer"]))


async def computer_status(ctx):
    """The computer's latest news."""
    return Reply(200, await ctx.call("computer.status", reference=ctx.params["computer"]))


async def bang_computer(ctx):
    """Have every instance of the computer processed again."""
    count = await ctx.call("computer.bang", reference=ctx.params["computer"],
                           message=ctx.body.get("message", ""))
    return Reply(200, {"bumped": count})


async def list_partitions(ctx):
    """The computer's partitions as its node sees them."""
    information = await ctx.call("computer.information", reference=ctx.params["computer"])
    return Listing(list(information.partitions))


async def get_partition(ctx):
    """One partition as its node sees it."""
    return Reply(200, await ctx.call("computer.partition", reference=ctx.params["computer"],
                                     partition=ctx.params["partition"]))


def _node_arguments(ctx):
    return {"computer": ctx.params["computer"], "partition": ctx.params["partition"]}


async def report_started(ctx):
    """The node started the partition."""
    await ctx.call("instance.report_started", **_node_arguments(ctx))
    return Reply(204)


async def report_stopped(ctx):
    """The node stopped the partition."""
    await ctx.call("instance.report_stopped", **_node_arguments(ctx))
    return Reply(204)


async def report_error(ctx):
    """The node failed to deploy the partition (or a shared instance on it)."""
    await ctx.call("instance.report_error", **_node_arguments(ctx),
                   **ctx.present("message", "slave_reference"))
    return Reply(204)


async def report_destroyed(ctx):
    """The node wiped the partition: 200 when freed, 202 while requested instances remain."""
    outcome = await ctx.call("instance.report_destroyed", **_node_arguments(ctx))
    return Reply(200 if outcome.freed else 202, outcome)


async def set_connection(ctx):
    """Publish connection parameters."""
    return Reply(200, await ctx.call("instance.set_connection", **_node_arguments(ctx),
                                     **ctx.present("connection", "slave_reference")))


async def bang_partition(ctx):
    """Have the partition's whole tree processed again."""
    await ctx.call("instance.bang", **_node_arguments(ctx), message=ctx.body.get("message", ""))
    return Reply(204)


async def rename_partition(ctx):
    """Rename the partition's instance (or a shared one it hosts)."""
    return Reply(200, await ctx.call("instance.rename", **_node_arguments(ctx),
                                     **ctx.present("new_name", "slave_reference")))


async def hosting_ip_list(ctx):
    """Every address of the partition's tree."""
    return Listing(await ctx.call("instance.hosting_ip_list", **_node_arguments(ctx)))


# Supplies and usage ----------------------------------------------------------------------------

async def list_supplies(ctx):
    """The supplies the caller may see, of one computer with ``computer``."""
    return Listing(await ctx.call("supply.list", computer=ctx.query.get("computer")))


async def get_supply(ctx):
    """One supply of a computer."""
    return Reply(200, await ctx.call("supply.get", computer=ctx.params["computer"],
                                     url=ctx.params["url"]))


async def put_supply(ctx):
    """Ask the computer to install or remove the release."""
    return Reply(200, await ctx.call("supply.supply", computer=ctx.params["computer"],
                                     url=ctx.params["url"], **ctx.present("state")))


async def report_supply(ctx):
    """The node reports the release's state (204 once ``destroyed`` removed the supply)."""
    supply = await ctx.call("supply.report", computer=ctx.params["computer"],
                            url=ctx.params["url"], **ctx.present("state", "error_text"))
    return Reply(204) if supply is None else Reply(200, supply)


async def list_usage(ctx):
    """Usage records the caller may read, of one computer with ``computer``."""
    return Listing(await ctx.call("usage.list", computer=ctx.query.get("computer"), limit=10000))


async def report_usage(ctx):
    """Accept a node's usage journal."""
    return Reply(200, await ctx.call("usage.report", computer=ctx.params["computer"],
                                     document=ctx.body["document"]))


# Certificates and revisions ---------------------------------------------------------------------

async def list_certificates(ctx):
    """Certificates the caller may see, of one computer or one person with the filters."""
    return Listing(await ctx.call("certificate.list", computer=ctx.query.get("computer"),
                                  login=ctx.query.get("login"),
                                  include_revoked=bool(ctx.query.get("include_revoked"))))


async def issue_certificate(ctx):
    """Issue a key and certificate (the key is in this answer only)."""
    view = await ctx.call("certificate.issue", kind=ctx.body["kind"],
                          **{k: ctx.body[k] for k in ctx.present("computer", "partition",
                                                                 "login")})
    return Reply(201, view, {"Location": location("certificates", view.serial)})


async def revoke_certificate(ctx):
    """Revoke one certificate by serial."""
    (view,) = await ctx.call("certificate.revoke", serial=ctx.params["serial"])
    return Reply(200, view)


async def revoke_computer_certificates(ctx):
    """Revoke every computer certificate of a computer."""
    return Reply(200, await ctx.call("certificate.revoke", computer=ctx.params["computer"]))


async def revoked_certificates(ctx):
    """Every revoked, unexpired certificate (what the CRL lists)."""
    return Reply(200, await ctx.call("certificate.revoked_list"))


async def check_certificate(ctx):
    """Who a CA-verified client certificate stands for."""
    return Reply(200, await ctx.call("certificate.authenticate", serial=ctx.body["serial"],
                                     common_name=ctx.body["common_name"]))


# Personal API tokens ---------------------------------------------------------------------------

async def list_tokens(ctx):
    """The caller's API tokens (an admin's: anyone's, or one person's), without secrets."""
    return Listing(await ctx.call("token.list", login=ctx.query.get("login"),
                                  include_revoked=bool(ctx.query.get("include_revoked"))))


async def create_token(ctx):
    """Create an API token (its secret is in this answer only)."""
    view = await ctx.call("token.create", label=ctx.body["label"],
                          **ctx.present("login", "expires_in"))
    return Reply(201, view, {"Location": location("tokens", view.reference)})


async def revoke_token(ctx):
    """Revoke one API token by reference."""
    return Reply(200, await ctx.call("token.revoke", reference=ctx.params["token"]))


async def check_token(ctx):
    """Who an API token stands for."""
    return Reply(200, await ctx.call("token.authenticate", token=ctx.body["token"],
                                     **ctx.present("login")))


async def computer_revision(ctx):
    """The computer's revision: it moves with every change its poll shows."""
    (revision,) = await ctx.call("computer.revisions", references=[ctx.params["computer"]])
    return Reply(200, revision)


# Instances -------------------------------------------------------------------------------------

async def list_trees(ctx):
    """The caller's instance trees."""
    return Listing(await ctx.call("tree.list",
                                  include_archived=ctx.query.get("include_archived", False)))


async def get_tree(ctx):
    """One of the caller's live trees, by title."""
    return Reply(200, await ctx.call("tree.get", title=ctx.params["title"]))


async def list_instances(ctx):
    """The caller's instances, of one tree with ``tree``."""
    return Listing(await ctx.call("instance.list", tree=ctx.query.get("tree"),
                                  include_archived=ctx.query.get("include_archived", False)))


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


async def request_instance(ctx):
    """Request or re-request a root instance: 201 new, 200 known, 202 waiting for a partition."""
    return await _request(ctx, "instance.request", ctx.body,
                          lambda view: 201 if view.created else 200)


async def get_instance(ctx):
    """One instance."""
    return Reply(200, await ctx.call("instance.get", reference=ctx.params["reference"]))


async def change_instance(ctx):
    """Change a root instance's parameters, SLA, type, release or state by requesting it again."""
    return await _request(ctx, "instance.change",
                          dict(ctx.body, reference=ctx.params["reference"]), lambda view: 200)


async def destroy_instance(ctx):
    """Ask for the instance (for a root, its tree) to be destroyed; the node does it later."""
    view = await ctx.call("instance.destroy", reference=ctx.params["reference"])
    return Reply(202, view, {"Location": location("instances", view.reference)})


async def instance_connection(ctx):
    """The connection parameters the instance published."""
    view = await ctx.call("instance.get", reference=ctx.params["reference"])
    return Reply(200, view.connection)


async def allocate_pending(ctx):
    """One pass of the allocator over waiting instances."""
    placed = await ctx.call("instance.allocate_pending", **ctx.present("limit"))
    return Reply(200, {"placed": placed})


# The table -------------------------------------------------------------------------------------

def _partition_route(method, action, operation_id, summary, operations, handler, responses,
                     body=None, listing=None, filters=()):
    return Route(method, "/computers/{computer}/partitions/{partition}" + action, operation_id,
                 summary, operations, handler, responses, body, listing, filters, tag="nodes")


def _person_filters():
    return (Filter("role", {"type": "string", "enum": ["admin", "operator", "user"]},
                   "only people with this role", lambda item, value: value in item["roles"]),
            bool_filter("has_password", "people"))


INSTANCE_FILTERS = (
    Filter("tree", STRING, "only the instances of the tree with this (root) title"),
    Filter("include_archived", BOOLEAN, "include destroyed instances (default false)"),
    string_filter("title", "instances"),
    Filter("state", {"type": "string", "enum": ["started", "stopped", "destroyed"]},
           "only instances whose effective state is this", equals("state")),
    string_filter("software_release", "instances"),
    string_filter("computer", "instances"),
    bool_filter("shared", "instances"),
    bool_filter("allocated", "instances"),
)

ROUTES = (
    Route("GET", "/me", "getMe", "The calling user's own record", ("person.me",), get_me,
          {200: ok("Person", "the caller", etag=True)}, tag="people"),
    Route("GET", "/people", "listPeople", "Every person (admins)", ("person.list",), list_people,
          {200: ok("PersonPage", "a page of people", etag=True)}, listing="Person",
          filters=_person_filters(), tag="people"),
    Route("POST", "/people", "createPerson", "Create a local user", ("person.create",),
          create_person, {201: created("Person", "the new person")}, body="PersonCreate",
          tag="people"),
    Route("GET", "/people/{login}", "getPerson", "One person (yourself, or anyone for admins)",
          ("person.get",), get_person, {200: ok("Person", "the person", etag=True)},
          tag="people"),
    Route("PUT", "/people/{login}/password", "setPassword",
          "Set (or with an empty string remove) a local password", ("person.set_password",),
          set_password, {200: ok("Person", "the person")}, body="PasswordChange", tag="people"),
    Route("POST", "/people/{login}/password-check", "checkPassword",
          "Check a local password: 200 with the person, or 401", ("person.check_password",),
          check_password, {200: ok("Person", "the password matches")}, body="PasswordCheck",
          secured=False, tag="people"),

    Route("GET", "/products", "listProducts", "Software products with their releases",
          ("catalogue.list_products",), list_products,
          {200: ok("ProductPage", "a page of products", etag=True)}, listing="Product",
          filters=(string_filter("title", "products"),), tag="catalogue"),
    Route("GET", "/products/{product}", "getProduct", "One software product",
          ("catalogue.get_product",), get_product,
          {200: ok("Product", "the product", etag=True)}, tag="catalogue"),
    Route("GET", "/products/{product}/release-urls", "listProductReleaseUrls",
          "The URLs of a product's releases, newest first", ("catalogue.product_release_urls",),
          product_release_urls, {200: ok("UrlPage", "a page of URLs", etag=True)},
          listing="Url", filters=(Filter("prefix", STRING, "only URLs starting with this",
                                         lambda item, value: item.startswith(value)),),
          tag="catalogue"),
    Route("GET", "/releases", "listReleases", "Software releases, newest first",
          ("catalogue.list_releases",), list_releases,
          {200: ok("ReleasePage", "a page of releases", etag=True)}, listing="Release",
          filters=(Filter("product", NAME, "only the releases of this product (404 if none)"),
                   string_filter("version", "releases")), tag="catalogue"),
    Route("POST", "/releases", "addRelease",
          "Register a release, optionally as a version of a product",
          ("catalogue.add_release",), add_release,
          {200: ok("Release", "the release was already registered"),
           201: created("Release", "the release is new")}, body="ReleaseCreate",
          tag="catalogue"),
    Route("GET", "/releases/{url}", "getRelease", "One release (its URL percent-encoded)",
          ("catalogue.get_release",), get_release,
          {200: ok("Release", "the release", etag=True)}, tag="catalogue"),
    Route("DELETE", "/releases/{url}", "removeRelease",
          "Take a release out of the catalogue (409 while a supply or a live instance uses it)",
          ("catalogue.remove_release",), remove_release,
          NO_CONTENT, tag="catalogue"),
    Route("GET", "/releases/{url}/product-release-urls", "listSiblingReleaseUrls",
          "The URLs of every release of this release's product, newest first",
          ("catalogue.product_release_urls",), sibling_release_urls,
          {200: ok("UrlPage", "a page of URLs", etag=True)}, listing="Url",
          filters=(Filter("prefix", STRING, "only URLs starting with this",
                          lambda item, value: item.startswith(value)),), tag="catalogue"),

    Route("GET", "/computers", "listComputers", "The computers the caller may see",
          ("computer.list",), list_computers,
          {200: ok("ComputerPage", "a page of computers", etag=True)}, listing="Computer",
          filters=(string_filter("owner", "computers"),
                   Filter("allocation_scope", {"type": "string", "enum": ["open", "close"]},
                          "only computers with this allocation scope", equals("allocation_scope")),
                   string_filter("network_guid", "computers"),
                   string_filter("project_guid", "computers")), tag="computers"),
    Route("POST", "/computers", "createComputer", "Register a computer owned by the caller",
          ("computer.create",), create_computer,
          {201: created("Computer", "the new computer")}, body="ComputerCreate", tag="computers"),
    Route("GET", "/computers/{computer}", "getComputer", "One computer", ("computer.get",),
          get_computer, {200: ok("Computer", "the computer", etag=True)}, tag="computers"),
    Route("PATCH", "/computers/{computer}", "updateComputer",
          "Change a computer's title, allocation scope, network, project or attributes",
          ("computer.update",), update_computer, {200: ok("Computer", "the changed computer")},
          body="ComputerUpdate", tag="computers"),
    Route("PUT", "/computers/{computer}/configuration", "formatComputer",
          "Record what `node format` found (an admin's call creates a missing computer)",
          ("computer.format",), format_computer, {200: ok("Computer", "the formatted computer")},
          body="ComputerConfiguration", tag="nodes"),
    Route("GET", "/computers/{computer}/information", "getComputerInformation",
          "The node's poll: releases to install or remove and every partition",
          ("computer.information",), computer_information,
          {200: ok("ComputerInformation", "what the node must do", etag=True)}, tag="nodes"),
    Route("GET", "/computers/{computer}/status", "getComputerStatus",
          "The computer's latest news", ("computer.status",), computer_status,
          {200: ok("ComputerStatus", "the latest news", etag=True)}, tag="computers"),
    Route("POST", "/computers/{computer}/bang", "bangComputer",
          "Have every instance of the computer processed again", ("computer.bang",),
          bang_computer, {200: ok("BangOutcome", "how many instances were bumped")},
          body="Bang", tag="nodes"),
    Route("GET", "/computers/{computer}/partitions", "listPartitions",
          "The computer's partitions as its node sees them", ("computer.information",),
          list_partitions, {200: ok("PartitionPage", "a page of partitions", etag=True)},
          listing="Partition",
          filters=(Filter("state", {"type": "string",
                                    "enum": ["started", "stopped", "destroyed"]},
                          "only partitions in this state", equals("state")),
                   string_filter("software_release", "partitions")), tag="nodes"),
    _partition_route("GET", "", "getPartition", "One partition as its node sees it",
                     ("computer.partition",), get_partition,
                     {200: ok("Partition", "the partition", etag=True)}),
    _partition_route("POST", "/started", "reportStarted", "The node started the partition",
                     ("instance.report_started",), report_started, NO_CONTENT),
    _partition_route("POST", "/stopped", "reportStopped", "The node stopped the partition",
                     ("instance.report_stopped",), report_stopped, NO_CONTENT),
    _partition_route("POST", "/error", "reportError",
                     "The node failed to deploy the partition or a shared instance on it",
                     ("instance.report_error",), report_error, NO_CONTENT, body="ErrorReport"),
    _partition_route("POST", "/destroyed", "reportDestroyed",
                     "The node wiped the partition (202 while instances it requested remain)",
                     ("instance.report_destroyed",), report_destroyed,
                     {200: ok("DestroyOutcome", "the partition is free"),
                      202: ok("DestroyOutcome", "kept until the instances it requested are gone")}),
    _partition_route("PUT", "/connection", "setConnection",
                     "Publish connection parameters of the instance or of a shared one it hosts",
                     ("instance.set_connection",), set_connection,
                     {200: ok("Instance", "the instance")}, body="ConnectionPublish"),
    _partition_route("POST", "/bang", "bangPartition",
                     "Have the whole tree of the partition's instance processed again",
                     ("instance.bang",), bang_partition, NO_CONTENT, body="Bang"),
    _partition_route("POST", "/rename", "renamePartitionInstance",
                     "Give the partition's instance (or a shared one it hosts) a new title",
                     ("instance.rename",), rename_partition, {200: ok("Instance", "the instance")},
                     body="Rename"),
    _partition_route("GET", "/hosting-ip-list", "listHostingIps",
                     "Every (interface, address) of every partition of the instance's tree",
                     ("instance.hosting_ip_list",), hosting_ip_list,
                     {200: ok("AddressPairPage", "a page of addresses", etag=True)},
                     listing="AddressPair",
                     filters=(Filter("network_interface", STRING, "only this interface",
                                     lambda item, value: item[0] == value),)),

    Route("GET", "/supplies", "listSupplies",
          "Supplies of one computer, or of every computer the caller manages", ("supply.list",),
          list_supplies, {200: ok("SupplyPage", "a page of supplies", etag=True)},
          listing="Supply",
          filters=(Filter("computer", NAME, "only the supplies of this computer (404 if none)"),
                   string_filter("url", "supplies"),
                   Filter("desired_state", {"type": "string", "enum": ["available", "destroyed"]},
                          "only supplies wanted in this state", equals("desired_state"))),
          tag="supplies"),
    Route("GET", "/computers/{computer}/supplies/{url}", "getSupply",
          "One release supplied to a computer", ("supply.get",), get_supply,
          {200: ok("Supply", "the supply", etag=True)}, tag="supplies"),
    Route("PUT", "/computers/{computer}/supplies/{url}", "putSupply",
          "Ask the computer to install (available) or remove (destroyed) the release",
          ("supply.supply",), put_supply, {200: ok("Supply", "the supply")}, body="SupplyChange",
          tag="supplies"),
    Route("POST", "/computers/{computer}/supplies/{url}/reports", "reportSupply",
          "The node reports the release building, available, error or destroyed",
          ("supply.report",), report_supply,
          {200: ok("Supply", "the supply"), 204: (None, "destroyed: the supply is gone", ())},
          body="SupplyReport", tag="nodes"),

    Route("GET", "/trees", "listTrees", "The caller's instance trees", ("tree.list",), list_trees,
          {200: ok("TreePage", "a page of trees", etag=True)}, listing="Tree",
          filters=(Filter("include_archived", BOOLEAN, "include destroyed trees (default false)"),
                   string_filter("title", "trees"), string_filter("owner", "trees")),
          tag="instances"),
    Route("GET", "/trees/{title}", "getTree", "One of the caller's live instance trees",
          ("tree.get",), get_tree, {200: ok("Tree", "the tree", etag=True)}, tag="instances"),
    Route("GET", "/instances", "listInstances", "The caller's instances", ("instance.list",),
          list_instances, {200: ok("InstancePage", "a page of instances", etag=True)},
          listing="Instance", filters=INSTANCE_FILTERS, tag="instances"),
    Route("POST", "/instances", "requestInstance",
          "Request (or request again) a root instance", ("instance.request",), request_instance,
          {200: ok("Instance", "a known instance, requested again"),
           201: created("Instance", "a new instance, placed on a partition"),
           202: ("Instance", "recorded, waiting for a partition or a host: poll its Location",
                 ("Location", "Retry-After"))},
          body="InstanceRequest", tag="instances"),
    Route("GET", "/instances/{reference}", "getInstance", "One instance", ("instance.get",),
          get_instance, {200: ok("Instance", "the instance", etag=True)}, tag="instances"),
    Route("PATCH", "/instances/{reference}", "changeInstance",
          "Change a root instance's parameters, SLA, type, release or state",
          ("instance.change",), change_instance,
          {200: ok("Instance", "the changed instance"),
           202: ("Instance", "recorded, waiting for a partition or a host: poll its Location",
                 ("Location", "Retry-After"))},
          body="InstanceChange", tag="instances"),
    Route("DELETE", "/instances/{reference}", "destroyInstance",
          "Ask for the instance (for a root, its whole tree) to be destroyed",
          ("instance.destroy",), destroy_instance,
          {202: ("Instance", "destruction requested; the node carries it out", ("Location",))},
          tag="instances"),
    Route("GET", "/instances/{reference}/connection", "getInstanceConnection",
          "The connection parameters the instance published", ("instance.get",),
          instance_connection, {200: ok("Parameters", "the connection parameters", etag=True)},
          tag="instances"),
    Route("POST", "/allocation-passes", "allocatePending",
          "Try again to place instances waiting for a partition or a host",
          ("instance.allocate_pending",), allocate_pending,
          {200: ok("AllocationOutcome", "how many were placed")}, body="AllocationPass",
          tag="instances"),

    Route("GET", "/usage", "listUsage", "Usage records the caller may read", ("usage.list",),
          list_usage, {200: ok("UsageRecordPage", "a page of usage records", etag=True)},
          listing="UsageRecord",
          filters=(Filter("computer", NAME, "only the records of this computer (404 if none)"),
                   string_filter("partition", "records"), string_filter("resource", "records"),
                   string_filter("person", "records"), string_filter("instance", "records")),
          tag="usage"),
    Route("POST", "/computers/{computer}/usage-reports", "reportUsage",
          "Accept a node's usage journal (TioXML)", ("usage.report",), report_usage,
          {200: ok("UsageReportOutcome", "the journal was recorded")}, body="UsageReport",
          tag="nodes"),

    Route("GET", "/certificates", "listCertificates",
          "Certificates of the master's CA the caller may see, newest first",
          ("certificate.list",), list_certificates,
          {200: ok("CertificatePage", "a page of certificates", etag=True)},
          listing="Certificate",
          filters=(Filter("computer", NAME, "only the certificates of this computer (404 if none)"),
                   Filter("login", NAME, "only the certificates of this person (404 if none)"),
                   Filter("include_revoked", BOOLEAN, "include revoked ones (default false)"),
                   string_filter("kind", "certificates")),
          tag="certificates"),
    Route("POST", "/certificates", "issueCertificate",
          "Issue a key and certificate for a computer, a deployed partition or a person",
          ("certificate.issue",), issue_certificate,
          {201: created("Certificate", "the certificate with its private key (only here)")},
          body="CertificateRequest", tag="certificates"),
    Route("DELETE", "/certificates/{serial}", "revokeCertificate", "Revoke a certificate",
          ("certificate.revoke",), revoke_certificate,
          {200: ok("Certificate", "the revoked certificate")}, tag="certificates"),
    Route("POST", "/computers/{computer}/certificate-revocations",
          "revokeComputerCertificates", "Revoke every computer certificate of a computer",
          ("certificate.revoke",), revoke_computer_certificates,
          {200: ok("CertificateList", "the certificates revoked")}, tag="certificates"),
    Route("GET", "/revoked-certificates", "listRevokedCertificates",
          "Every revoked, unexpired certificate (public, as a CRL)",
          ("certificate.revoked_list",), revoked_certificates,
          {200: ok("RevokedCertificateList", "serials and revocation times", etag=True)},
          secured=False, tag="certificates"),
    Route("POST", "/certificate-checks", "checkCertificate",
          "Who a CA-verified client certificate (serial, common name) stands for",
          ("certificate.authenticate",), check_certificate,
          {200: ok("CertificateIdentity", "the principal it stands for")},
          body="CertificateCheck", secured=False, tag="certificates"),
    Route("GET", "/tokens", "listTokens",
          "The caller's personal API tokens (an admin's: anyone's), newest first",
          ("token.list",), list_tokens,
          {200: ok("TokenPage", "a page of tokens, without their secrets", etag=True)},
          listing="Token",
          filters=(Filter("login", NAME, "only the tokens of this person (404 if none)"),
                   Filter("include_revoked", BOOLEAN, "include revoked ones (default false)"),
                   string_filter("label", "tokens")),
          tag="tokens"),
    Route("POST", "/tokens", "createToken", "Create a personal API token",
          ("token.create",), create_token,
          {201: created("Token", "the token with its secret (only here)")},
          body="TokenRequest", tag="tokens"),
    Route("DELETE", "/tokens/{token}", "revokeToken", "Revoke a personal API token",
          ("token.revoke",), revoke_token,
          {200: ok("Token", "the revoked token")}, tag="tokens"),
    Route("POST", "/token-checks", "checkToken",
          "Who a personal API token stands for", ("token.authenticate",), check_token,
          {200: ok("TokenIdentity", "the person it stands for")},
          body="TokenCheck", secured=False, tag="tokens"),
    Route("GET", "/computers/{computer}/revision", "getComputerRevision",
          "The computer's revision: it moves with every change its node's poll shows",
          ("computer.revisions",), computer_revision,
          {200: ok("ComputerRevision", "the revision", etag=True)}, tag="nodes"),
)
