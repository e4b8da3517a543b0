"""The REST adaptor at /api/ through treq against a started master: every route, every error."""

import dataclasses
import json
import re
from urllib.parse import quote, unquote, urlsplit

from twisted.internet import defer, threads
from twisted.trial import unittest

import schemas
from protocols.rest import openapi
from protocols.rest.resource import DOCUMENT_URI, load_document
from protocols.rest.routes import ROUTES
from protocols.rest.problems import problem_for
from slap_core import errors, views
from slap_core.master import load_all
from slap_core.principals import PartitionAgent
from tests.fixtures import format_configuration, http_client, start_test_master
from tests.core.test_usage import journal, movement

SR = "http://sr.example.invalid/software.cfg"
SR_V2 = "http://sr.example.invalid/software-2.cfg"
JSON = {"Content-Type": ["application/json"]}


DOCUMENT = load_document()


def documented_schema(method, url, status, content_type):
    """The schema the document gives the answer ``status`` of ``method url``, or None."""
    segments = [unquote(s) for s in urlsplit(url).path.split("/")[2:]]
    matched = DOCUMENT.match(segments)
    if matched is None:
        return None
    path = next((p for p, methods in DOCUMENT.document["paths"].items()
                 if method.lower() in methods and openapi.template_regex(p).fullmatch(
                     "\x00".join(segments))), None)
    if path is None:  # 405: the path does not take the method
        return None
    responses = DOCUMENT.document["paths"][path][method.lower()]["responses"]
    if str(status) not in responses:
        raise AssertionError("%s %s answered %s, which the document does not list"
                             % (method, path, status))
    response = responses[str(status)]
    if "$ref" in response:
        response = DOCUMENT.document["components"]["responses"][response["$ref"].split("/")[-1]]
    media = response.get("content", {}).get(content_type)
    if media is None:
        raise AssertionError("%s %s answered %s with %s, which the document does not list"
                             % (method, path, status, content_type))
    return media["schema"]


def seg(text):
    """``text`` percent-encoded as one path segment."""
    return quote(text, safe="")


class RestTestCase(unittest.TestCase):
    """A master on 127.0.0.1, its admin, and ``api()`` to call /api/ with treq."""

    timeout = 60

    def setUp(self):
        self.running = start_test_master(self)
        self.base = self.running.urls()[0] + "api"
        self.admin = self.running.credentials
        self.client = http_client(self)

    @defer.inlineCallbacks
    def api(self, method, path, body=None, auth=True, headers=None, data=None):
        """(status, headers, decoded JSON body or None) of one request to /api``path``."""
        headers = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", ["application/json"])
        if auth is True:
            auth = self.admin
        response = yield self.client.request(method, self.base + path, data=data,
                                             headers=headers or None, auth=auth or None)
        content = yield response.content()
        document = json.loads(content) if content else None
        if document is not None:  # every answer is what the document says it is
            content_type = response.headers.getRawHeaders("content-type")[0]
            schema = documented_schema(method, self.base + path, response.code, content_type)
            if schema is not None:
                if "$ref" in schema:
                    schema = {"$ref": DOCUMENT_URI + schema["$ref"]}
                errors = list(DOCUMENT.validator(schema).iter_errors(document))
                self.assertEqual(errors, [], "%s %s" % (method, path))
        return response.code, response.headers, document

    def header(self, headers, name):
        """The one value of header ``name``."""
        (value,) = headers.getRawHeaders(name)
        return value

    @defer.inlineCallbacks
    def problem(self, status, method, path, code=None, **kwargs):
        """Assert that the request is answered with a problem document of ``status``."""
        got, headers, document = yield self.api(method, path, **kwargs)
        self.assertEqual(got, status, document)
        self.assertEqual(self.header(headers, "content-type"), "application/problem+json")
        self.assertEqual(document["status"], status)
        self.assertEqual(document["type"], "about:blank")
        self.assertTrue(document["title"] and document["detail"])
        if code is not None:
            self.assertEqual(document["code"], code)
        return headers, document

    @defer.inlineCallbacks
    def fleet(self, partitions=1):
        """COMP-0 formatted with ``partitions`` partitions and SR supplied."""
        yield self.api("POST", "/computers", {"reference": "COMP-0", "title": "node"})
        yield self.api("PUT", "/computers/COMP-0/configuration",
                       format_configuration("COMP-0", partitions))
        yield self.api("PUT", "/computers/COMP-0/supplies/%s" % seg(SR), {})


class DocumentTests(RestTestCase):
    """The served document is the checked-in one, and it has a route for every operation."""

    @defer.inlineCallbacks
    def test_served_document_is_the_checked_in_file_with_an_etag(self):
        status, headers, document = yield self.api("GET", "/openapi.json", auth=False)
        self.assertEqual(status, 200)
        self.assertEqual(document, json.loads(schemas.path("openapi.json").read_text()))
        self.assertEqual(document["openapi"], "3.1.0")
        tag = self.header(headers, "etag")
        status, _, body = yield self.api("GET", "/openapi.json", auth=False,
                                         headers={"If-None-Match": [tag]})
        self.assertEqual((status, body), (304, None))

    def test_document_is_valid_openapi_3_1(self):
        from jsonschema import Draft202012Validator
        from schemathesis.specs.openapi.definitions import OPENAPI_31  # the official meta-schema

        document = json.loads(schemas.path("openapi.json").read_text())
        self.assertEqual([e.message for e in Draft202012Validator(OPENAPI_31).iter_errors(document)],
                         [])
        broken = dict(document, paths={"/x": {"get": {"responses": "none"}}})
        self.assertTrue(list(Draft202012Validator(OPENAPI_31).iter_errors(broken)))

    def test_checked_in_document_is_what_the_routes_generate(self):
        self.assertTrue(schemas.path("openapi.json").read_text() == openapi.generated(),
                        "schemas/openapi.json is stale: regenerate it with `python -m "
                        "protocols.rest.openapi > schemas/openapi.json` and review the diff")

    def test_every_operation_has_a_route_and_every_route_is_documented(self):
        reached = {name for route in ROUTES for name in route.operations}
        self.assertEqual(reached, set(load_all()))
        for route in ROUTES:  # each path parameter is described (and validated)
            for name in re.findall(r"\{(\w+)\}", route.path):
                self.assertIn(name, openapi.PATH_PARAMETERS, route.path)
        document = openapi.document()
        documented = {(path, method.upper()) for path, methods in document["paths"].items()
                      for method in methods}
        routes = {(route.path, route.method) for route in ROUTES} | {("/openapi.json", "GET")}
        self.assertEqual(documented, routes)
        for path, methods in document["paths"].items():
            for method, spec in methods.items():
                for status in ("401", "404", "422", "500") if spec.get("security") != [] else ():
                    self.assertIn(status, spec["responses"], (path, method))

    def test_result_schemas_have_exactly_the_fields_of_the_core_views(self):
        pairs = {"Person": views.PersonView, "Release": views.ReleaseView,
                 "Product": views.ProductView, "Computer": views.ComputerView,
                 "Address": views.AddressView, "Partition": views.PartitionView,
                 "Software": views.SoftwareView, "ComputerInformation": views.ComputerInformation,
                 "Supply": views.SupplyView, "Instance": views.InstanceView,
                 "Tree": views.TreeView, "DestroyOutcome": views.DestroyOutcome,
                 "UsageRecord": views.UsageRecordView,
                 "UsageReportOutcome": views.UsageReportOutcome,
                 "Certificate": views.CertificateView,
                 "CertificateIdentity": views.CertificateIdentity,
                 "RevokedCertificate": views.RevokedCertificate,
                 "ComputerRevision": views.ComputerRevision}
        schemas_ = openapi.document()["components"]["schemas"]
        for name, view in pairs.items():
            self.assertEqual(sorted(schemas_[name]["properties"]),
                             sorted(f.name for f in dataclasses.fields(view)), name)

    def test_a_document_naming_an_operation_without_a_route_is_refused(self):
        from protocols.rest.resource import OpenApiDocument

        document = openapi.document()
        document["paths"]["/me"]["get"]["operationId"] = "getSomeoneElse"
        self.assertRaises(ValueError, OpenApiDocument, json.dumps(document))

    def test_rest_column_of_the_operations_table_names_the_routes(self):
        from tests.protocols.test_docs import operation_rows

        expected = {}
        for route in ROUTES:
            for name in route.operations:
                expected.setdefault(name, []).append("`%s /api%s`" % (route.method, route.path))
        documented = {name: cells[7] for name, cells in operation_rows().items()}
        self.assertEqual(documented, {name: ", ".join(cells) for name, cells in expected.items()})


class PeopleTests(RestTestCase):
    """/me, /people and passwords."""

    @defer.inlineCallbacks
    def test_people_are_created_read_listed_and_their_passwords_checked(self):
        status, headers, me = yield self.api("GET", "/me")
        self.assertEqual((status, me["login"], me["roles"]), (200, "admin", ["admin"]))
        status, headers, alice = yield self.api("POST", "/people", {
            "login": "alice", "password": "wonderland", "full_name": "Alice"})
        self.assertEqual(status, 201)
        self.assertEqual(self.header(headers, "location"), "/api/people/alice")
        self.assertEqual((alice["login"], alice["roles"], alice["has_password"]),
                         ("alice", ["user"], True))
        status, _, read = yield self.api("GET", "/people/alice")
        self.assertEqual((status, read), (200, alice))
        status, _, own = yield self.api("GET", "/people/alice", auth=("alice", "wonderland"))
        self.assertEqual((status, own["login"]), (200, "alice"))
        status, _, page = yield self.api("GET", "/people?role=user")
        self.assertEqual([p["login"] for p in page["items"]], ["alice"])
        status, _, page = yield self.api("GET", "/people?has_password=true&limit=1")
        self.assertEqual((page["total"], len(page["items"])), (2, 1))
        self.assertEqual(page["next"], "/api/people?has_password=true&limit=1&offset=1")
        status, _, rest = yield self.api("GET", page["next"][len("/api"):])
        self.assertEqual((rest["offset"], rest["next"], len(rest["items"])), (1, None, 1))
        status, _, checked = yield self.api("POST", "/people/alice/password-check",
                                            {"password": "wonderland"}, auth=False)
        self.assertEqual((status, checked["login"]), (200, "alice"))
        yield self.problem(401, "POST", "/people/alice/password-check", "unauthenticated",
                           body={"password": "wrong"}, auth=False)
        status, _, changed = yield self.api("PUT", "/people/alice/password",
                                            {"password": "looking-glass"},
                                            auth=("alice", "wonderland"))
        self.assertEqual(status, 200)
        status, _, me = yield self.api("GET", "/me", auth=("alice", "looking-glass"))
        self.assertEqual((status, me["login"]), (200, "alice"))
        yield self.problem(409, "POST", "/people", "conflict", body={"login": "alice"})
        yield self.problem(404, "GET", "/people/nobody", "not_found")
        yield self.problem(404, "PUT", "/people/nobody/password", "not_found",
                           body={"password": "x"})
        _, document = yield self.problem(403, "GET", "/people", "forbidden",
                                         auth=("alice", "looking-glass"))
        yield self.problem(403, "PUT", "/people/admin/password", "forbidden",
                           body={"password": "x"}, auth=("alice", "looking-glass"))
        yield self.problem(422, "POST", "/people", "invalid",
                           body={"login": "bob", "roles": ["emperor"]})


class CatalogueTests(RestTestCase):
    """/releases and /products."""

    @defer.inlineCallbacks
    def test_releases_and_products(self):
        status, headers, release = yield self.api("POST", "/releases", {
            "url": SR, "product": "kvm", "version": "1", "product_title": "KVM"})
        self.assertEqual(status, 201)
        self.assertEqual(self.header(headers, "location"), "/api/releases/%s" % seg(SR))
        self.assertEqual((release["product"], release["version"]), ("kvm", "1"))
        status, _, again = yield self.api("POST", "/releases", {"url": SR})
        self.assertEqual((status, again["url"]), (200, SR))
        yield self.api("POST", "/releases", {"url": SR_V2, "product": "kvm", "version": "2"})
        status, _, read = yield self.api("GET", "/releases/%s" % seg(SR))
        self.assertEqual((status, read["version"]), (200, "1"))
        status, _, page = yield self.api("GET", "/releases?product=kvm&version=2")
        self.assertEqual([r["url"] for r in page["items"]], [SR_V2])
        status, _, page = yield self.api("GET", "/products")
        self.assertEqual([(p["reference"], p["title"], len(p["releases"]))
                          for p in page["items"]], [("kvm", "KVM", 2)])
        status, _, page = yield self.api("GET", "/products?title=nope")
        self.assertEqual((page["items"], page["total"]), ([], 0))
        status, _, product = yield self.api("GET", "/products/kvm")
        self.assertEqual(product["reference"], "kvm")
        status, _, urls = yield self.api("GET", "/products/kvm/release-urls")
        self.assertEqual(urls["items"], [SR_V2, SR])
        status, _, urls = yield self.api("GET", "/releases/%s/product-release-urls?prefix=%s"
                                         % (seg(SR), seg(SR_V2)))
        self.assertEqual(urls["items"], [SR_V2])
        yield self.problem(404, "GET", "/products/none", "not_found")
        yield self.problem(404, "GET", "/releases/%s" % seg("http://unknown"), "not_found")
        yield self.problem(404, "GET", "/releases?product=none", "not_found")
        yield self.problem(409, "POST", "/releases", "conflict",
                           body={"url": SR, "product": "other"})


class ComputerTests(RestTestCase):
    """/computers, their configuration, status, partitions and supplies."""

    @defer.inlineCallbacks
    def test_computer_life(self):
        status, headers, computer = yield self.api("POST", "/computers", {
            "reference": "COMP-0", "title": "node", "attributes": {"region": "eu"}})
        self.assertEqual(status, 201)
        self.assertEqual(self.header(headers, "location"), "/api/computers/COMP-0")
        self.assertEqual((computer["owner"], computer["attributes"]), ("admin", {"region": "eu"}))
        status, _, generated = yield self.api("POST", "/computers", {})
        self.assertEqual((status, generated["reference"][:5]), (201, "COMP-"))
        status, _, changed = yield self.api("PATCH", "/computers/COMP-0",
                                            {"allocation_scope": "close", "title": "renamed"})
        self.assertEqual((changed["allocation_scope"], changed["title"]), ("close", "renamed"))
        status, _, page = yield self.api("GET", "/computers?allocation_scope=close")
        self.assertEqual([c["reference"] for c in page["items"]], ["COMP-0"])
        status, _, formatted = yield self.api("PUT", "/computers/COMP-0/configuration",
                                              format_configuration("COMP-0", 2))
        self.assertEqual((status, formatted["partition_count"]), (200, 2))
        status, _, body = yield self.api("PUT", "/computers/COMP-0/configuration",
                                         format_configuration("COMP-1", 2))
        self.assertEqual((status, body["reference"]), (200, "COMP-0"))  # the path decides
        status, _, news = yield self.api("GET", "/computers/COMP-0/status")
        self.assertEqual(news["text"], "#access computer formatted with 2 partitions")
        status, _, supply = yield self.api("PUT", "/computers/COMP-0/supplies/%s" % seg(SR),
                                           {"state": "available"})
        self.assertEqual((status, supply["desired_state"]), (200, "available"))
        status, _, read = yield self.api("GET", "/computers/COMP-0/supplies/%s" % seg(SR))
        self.assertEqual(read, supply)
        status, _, reported = yield self.api(
            "POST", "/computers/COMP-0/supplies/%s/reports" % seg(SR), {"state": "building"})
        self.assertEqual((status, reported["reported_state"]), (200, "building"))
        status, _, page = yield self.api("GET", "/supplies?computer=COMP-0&desired_state=available")
        self.assertEqual([s["url"] for s in page["items"]], [SR])
        yield self.api("PUT", "/computers/COMP-0/supplies/%s" % seg(SR), {"state": "destroyed"})
        status, _, gone = yield self.api(
            "POST", "/computers/COMP-0/supplies/%s/reports" % seg(SR), {"state": "destroyed"})
        self.assertEqual((status, gone), (204, None))
        yield self.problem(404, "GET", "/computers/COMP-0/supplies/%s" % seg(SR), "not_found")
        status, _, info = yield self.api("GET", "/computers/COMP-0/information")
        self.assertEqual((info["reference"], len(info["partitions"])), ("COMP-0", 2))
        status, _, page = yield self.api("GET", "/computers/COMP-0/partitions?state=destroyed")
        self.assertEqual([p["reference"] for p in page["items"]], ["slappart0", "slappart1"])
        status, _, partition = yield self.api("GET", "/computers/COMP-0/partitions/slappart1")
        self.assertEqual((partition["instance"], partition["addresses"][0]["address"]),
                         (None, "10.0.1.2"))
        status, _, bang = yield self.api("POST", "/computers/COMP-0/bang", {"message": "hi"})
        self.assertEqual((status, bang), (200, {"bumped": 0}))
        yield self.problem(409, "POST", "/computers", "conflict", body={"reference": "COMP-0"})
        yield self.problem(404, "GET", "/computers/COMP-9", "not_found")
        yield self.problem(404, "GET", "/computers/COMP-0/partitions/slappart9", "not_found")
        yield self.problem(422, "PATCH", "/computers/COMP-0", "invalid",
                           body={"allocation_scope": "everyone"})

    @defer.inlineCallbacks
    def test_usage_journal_and_records(self):
        yield self.fleet()
        status, _, instance = yield self.api("POST", "/instances",
                                             {"title": "metered", "software_release": SR})
        status, _, outcome = yield self.api("POST", "/computers/COMP-0/usage-reports", {
            "document": journal([movement(instance["partition"])])})
        self.assertEqual((status, outcome["record_count"]), (200, 1))
        status, _, page = yield self.api("GET", "/usage?computer=COMP-0&resource=cpu_time")
        self.assertEqual([(r["instance"], r["quantity"]) for r in page["items"]],
                         [(instance["reference"], 12.5)])
        status, _, page = yield self.api("GET", "/usage?resource=disk")
        self.assertEqual(page["total"], 0)
        _, document = yield self.problem(422, "POST", "/computers/COMP-0/usage-reports",
                                         "invalid", body={"document": "<journal>"})
        yield self.problem(404, "GET", "/usage?computer=COMP-9", "not_found")


class InstanceTests(RestTestCase):
    """/instances, /trees and the node's view of partitions."""

    @defer.inlineCallbacks
    def test_instance_life_from_request_to_destruction(self):
        yield self.fleet(partitions=2)
        status, headers, web = yield self.api("POST", "/instances", {
            "title": "web", "software_release": SR, "parameters": {"port": 8080}})
        self.assertEqual(status, 201)
        location = self.header(headers, "location")
        self.assertEqual(location, "/api/instances/%s" % web["reference"])
        self.assertEqual((web["parameters"], web["computer"], web["allocated"]),
                         ({"port": "8080"}, "COMP-0", True))
        status, _, again = yield self.api("POST", "/instances",
                                          {"title": "web", "software_release": SR})
        self.assertEqual((status, again["reference"]), (200, web["reference"]))
        status, headers, read = yield self.api("GET", location[len("/api"):])
        self.assertEqual((status, read["title"]), (200, "web"))
        tag = self.header(headers, "etag")
        status, headers, body = yield self.api("GET", location[len("/api"):],
                                               headers={"If-None-Match": ['"x", ' + tag]})
        self.assertEqual((status, body, self.header(headers, "etag")), (304, None, tag))
        status, _, changed = yield self.api("PATCH", location[len("/api"):],
                                            {"parameters": {"port": "9090"}, "state": "stopped"})
        self.assertEqual((status, changed["parameters"], changed["state"]),
                         (200, {"port": "9090"}, "stopped"))
        status, _, body = yield self.api("GET", location[len("/api"):],
                                         headers={"If-None-Match": [tag]})
        self.assertEqual(status, 200)  # the representation changed, so did its tag
        node = "/computers/COMP-0/partitions/%s" % web["partition"]
        status, _, published = yield self.api("PUT", node + "/connection",
                                              {"connection": {"url": "http://web"}})
        self.assertEqual((status, published["connection"]), (200, {"url": "http://web"}))
        status, _, connection = yield self.api("GET", location[len("/api"):] + "/connection")
        self.assertEqual(connection, {"url": "http://web"})
        status, _, partition = yield self.api("GET", node)
        self.assertEqual((partition["instance"], partition["state"]),
                         (web["reference"], "stopped"))
        for report in ("started", "stopped"):
            status, _, body = yield self.api("POST", node + "/" + report)
            self.assertEqual((status, body), (204, None))
        status, _, body = yield self.api("POST", node + "/error", {"message": "boom"})
        self.assertEqual(status, 204)
        status, _, read = yield self.api("GET", location[len("/api"):])
        self.assertEqual(read["status_text"], "#error boom")
        status, _, body = yield self.api("POST", node + "/bang", {"message": "again"})
        self.assertEqual(status, 204)
        status, _, ips = yield self.api("GET", node + "/hosting-ip-list?network_interface=slaptap0")
        self.assertEqual(ips["items"], [["slaptap0", "10.0.1.1"]])
        status, _, renamed = yield self.api("POST", node + "/rename", {"new_name": "www"})
        self.assertEqual((status, renamed["title"]), (200, "www"))
        status, _, page = yield self.api("GET", "/trees?title=www")
        self.assertEqual([t["root"] for t in page["items"]], [web["reference"]])
        status, _, page = yield self.api("GET", "/instances?tree=www&state=stopped&allocated=true")
        self.assertEqual([i["reference"] for i in page["items"]], [web["reference"]])
        yield self.problem(409, "POST", node + "/destroyed", "conflict")
        status, headers, destroyed = yield self.api("DELETE", location[len("/api"):])
        self.assertEqual((status, destroyed["state"]), (202, "destroyed"))
        self.assertEqual(self.header(headers, "location"), location)
        status, _, outcome = yield self.api("POST", node + "/destroyed")
        self.assertEqual((status, outcome["freed"]), (200, True))
        status, _, page = yield self.api("GET", "/instances")
        self.assertEqual(page["total"], 0)
        status, _, page = yield self.api("GET", "/instances?include_archived=true")
        self.assertEqual(page["total"], 1)
        yield self.problem(404, "PATCH", location[len("/api"):], "not_found",
                           body={"state": "started"})

    @defer.inlineCallbacks
    def test_a_request_waiting_for_a_partition_is_202_until_placed(self):
        status, headers, waiting = yield self.api("POST", "/instances",
                                                  {"title": "early", "software_release": SR})
        self.assertEqual((status, waiting["allocated"]), (202, False))
        self.assertEqual(self.header(headers, "location"),
                         "/api/instances/%s" % waiting["reference"])
        self.assertEqual(self.header(headers, "retry-after"), "10")
        yield self.fleet()
        status, _, outcome = yield self.api("POST", "/allocation-passes", {"limit": 10})
        self.assertEqual((status, outcome), (200, {"placed": 1}))
        status, _, placed = yield self.api("GET", "/instances/%s" % waiting["reference"])
        self.assertEqual((placed["allocated"], placed["computer"]), (True, "COMP-0"))

    @defer.inlineCallbacks
    def test_only_the_owner_changes_a_root_and_only_its_requester_a_child(self):
        yield self.fleet(partitions=3)
        yield self.api("POST", "/people", {"login": "alice", "password": "pw"})
        alice = ("alice", "pw")
        status, _, root = yield self.api("POST", "/instances",
                                         {"title": "app", "software_release": SR}, auth=alice)
        self.assertEqual(status, 201)
        yield self.problem(403, "PATCH", "/instances/%s" % root["reference"], "forbidden",
                           body={"state": "stopped"})
        status, _, read = yield self.api("GET", "/instances/%s" % root["reference"])
        self.assertEqual(read["owner"], "alice")  # an admin reads anything
        partition = PartitionAgent("COMP-0", root["partition"])
        child = yield threads.deferToThread(
            self.running.master.call, "instance.request", partition, title="db",
            software_release=SR)
        yield self.problem(409, "PATCH", "/instances/%s" % child.reference, "conflict",
                           body={"state": "stopped"}, auth=alice)
        yield self.api("POST", "/people", {"login": "bob", "password": "pw"})
        yield self.problem(404, "GET", "/instances/%s" % root["reference"], "not_found",
                           auth=("bob", "pw"))
        yield self.problem(404, "DELETE", "/instances/%s" % root["reference"], "not_found",
                           auth=("bob", "pw"))


class ErrorTests(RestTestCase):
    """Every protocol error is a problem document with the right status."""

    @defer.inlineCallbacks
    def test_credentials(self):
        headers, _ = yield self.problem(401, "GET", "/me", "unauthenticated", auth=False)
        self.assertTrue(self.header(headers, "www-authenticate").startswith("Basic realm="))
        yield self.problem(401, "GET", "/computers", "unauthenticated", auth=("admin", "wrong"))
        yield self.problem(401, "GET", "/me", "unauthenticated",
                           auth=False, headers={"Authorization": ["Basic !!!"]})

    @defer.inlineCallbacks
    def test_routing(self):
        yield self.problem(404, "GET", "/nothing/here", "not_found")
        yield self.problem(404, "GET", "/computers/", "not_found")
        headers, _ = yield self.problem(405, "DELETE", "/computers", "method_not_allowed")
        self.assertEqual(self.header(headers, "allow"), "GET, POST")

    @defer.inlineCallbacks
    def test_bodies_and_parameters(self):
        yield self.problem(400, "POST", "/computers", "malformed", data=b"{", headers=JSON)
        yield self.problem(400, "POST", "/computers", "malformed", data=b"\xff", headers=JSON)
        yield self.problem(400, "POST", "/computers", "malformed",
                           data=b'{"title": "\\ud800"}', headers=JSON)
        yield self.problem(415, "POST", "/computers", "unsupported_media_type", data=b"{}",
                           headers={"Content-Type": ["text/plain"]})
        yield self.problem(413, "POST", "/computers", "too_large",
                           data=b" " * (4 * 1024 * 1024 + 1), headers=JSON)
        _, document = yield self.problem(422, "POST", "/instances", "invalid",
                                         body={"title": 3, "colour": "red"})
        locations = sorted(e["location"] for e in document["errors"])
        self.assertEqual(locations, ["body", "body", "body/title"])
        _, document = yield self.problem(422, "GET", "/computers?limit=0&offset=x&sort=up",
                                         "invalid")
        self.assertEqual(sorted(e["location"] for e in document["errors"]),
                         ["query/limit", "query/offset", "query/sort"])
        _, document = yield self.problem(422, "GET", "/computers/" + "a" * 1025, "invalid")
        self.assertEqual(document["errors"][0]["location"], "path/computer")
        yield self.problem(404, "GET", "/computers/a%20b", "not_found")
        yield self.problem(404, "GET", "/computers/a%00b", "not_found")

    @defer.inlineCallbacks
    def test_overlong_request_line_is_414(self):
        status, headers, document = yield self.api("GET", "/computers?owner=" + "x" * 20000)
        self.assertEqual((status, document["code"]), (414, "too_large"))


class ProblemMappingTests(unittest.TestCase):
    """Each core error has its status; NotReady outside a request is 503 with Retry-After."""

    def test_core_errors_map_to_statuses(self):
        expected = {errors.NotFound: 404, errors.NotReady: 503, errors.Invalid: 422,
                    errors.Unauthenticated: 401, errors.Forbidden: 403, errors.Conflict: 409}
        for cls, status in expected.items():
            problem = problem_for(cls("message"))
            self.assertEqual((problem.status, problem.code, problem.detail),
                             (status, cls.code, "message"))
        self.assertEqual(problem_for(errors.NotReady("x")).headers, {"Retry-After": "10"})
        self.assertIsNone(problem_for(RuntimeError("x")))


class ServerFaultTests(unittest.TestCase):
    """An unexpected error inside an operation is a 500 problem that tells nothing more."""

    timeout = 30

    @defer.inlineCallbacks
    def test_internal_error_is_a_bare_500_problem(self):
        from twisted.internet import reactor
        from twisted.web.server import Site

        from protocols.rest.resource import ApiResource
        from slap_core.principals import User

        class BrokenCalls:
            def call(self, name, principal, **arguments):
                return defer.fail(RuntimeError("secret database path /var/lib/x"))

        class Authenticator:
            def principal(self, request):
                return defer.succeed(User("admin", {"admin"}))

        port = reactor.listenTCP(0, Site(ApiResource(BrokenCalls(), Authenticator())),
                                 interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        response = yield http_client(self).get("http://127.0.0.1:%d/me" % port.getHost().port)
        body = yield response.content()
        self.assertEqual(response.code, 500)
        self.assertEqual(json.loads(body), {"type": "about:blank", "title": "Internal Server Error",
                                            "status": 500, "detail": "internal error",
                                            "code": "internal"})
        self.flushLoggedErrors(RuntimeError)


class CertificateAndRevisionTests(RestTestCase):
    """/certificates, /revoked-certificates, /certificate-checks and a computer's revision."""

    @defer.inlineCallbacks
    def test_certificates_are_issued_listed_checked_and_revoked(self):
        yield self.fleet()
        status, headers, issued = yield self.api("POST", "/certificates",
                                                 {"kind": "computer", "computer": "COMP-0"})
        self.assertEqual((status, issued["kind"], issued["computer"]), (201, "computer", "COMP-0"))
        self.assertIn("BEGIN CERTIFICATE", issued["certificate"])
        self.assertIn("PRIVATE KEY", issued["private_key"])
        self.assertEqual(self.header(headers, "location"),
                         "/api/certificates/%s" % issued["serial"])
        status, _, page = yield self.api("GET", "/certificates?computer=COMP-0")
        self.assertEqual([c["serial"] for c in page["items"]], [issued["serial"]])
        self.assertIsNone(page["items"][0]["private_key"])  # the key is only in the answer
        status, _, identity = yield self.api(
            "POST", "/certificate-checks",
            {"serial": issued["serial"], "common_name": issued["common_name"]}, auth=False)
        self.assertEqual((status, identity["kind"], identity["computer"]),
                         (200, "computer", "COMP-0"))
        status, _, revoked = yield self.api("DELETE", "/certificates/%s" % issued["serial"])
        self.assertEqual(status, 200)
        self.assertIsNotNone(revoked["revoked_at"])
        status, _, listed = yield self.api("GET", "/revoked-certificates", auth=False)
        self.assertEqual([r["serial"] for r in listed], [issued["serial"]])
        yield self.problem(401, "POST", "/certificate-checks",
                           body={"serial": issued["serial"],
                                 "common_name": issued["common_name"]}, auth=False)
        yield self.problem(404, "DELETE", "/certificates/abc123")
        yield self.problem(422, "POST", "/certificates", body={"kind": "robot"})
        status, _, none_left = yield self.api("POST",
                                              "/computers/COMP-0/certificate-revocations")
        self.assertEqual((status, none_left), (200, []))

    @defer.inlineCallbacks
    def test_certificate_error_paths(self):
        yield self.fleet()
        yield self.problem(401, "GET", "/certificates", auth=False)
        yield self.problem(401, "POST", "/certificates", body={"kind": "user"}, auth=False)
        yield self.problem(404, "POST", "/certificates",
                           body={"kind": "computer", "computer": "COMP-9"})
        yield self.problem(404, "GET", "/certificates?computer=COMP-9")
        yield self.problem(422, "GET", "/certificates?colour=blue")
        yield self.problem(422, "POST", "/certificates", body={"kind": "user", "stray": 1})
        yield self.problem(404, "POST", "/computers/COMP-9/certificate-revocations")
        yield self.problem(422, "POST", "/certificate-checks",
                           body={"serial": "not-hex", "common_name": "x"}, auth=False)
        yield self.problem(401, "POST", "/certificate-checks",
                           body={"serial": "abcdef", "common_name": "x"}, auth=False)
        yield self.problem(405, "PUT", "/revoked-certificates")
        # a plain user may issue their own certificate, not one for somebody else
        yield self.api("POST", "/people", {"login": "carol", "password": "carol-pw"})
        status, _, mine = yield self.api("POST", "/certificates", {"kind": "user"},
                                         auth=("carol", "carol-pw"))
        self.assertEqual((status, mine["login"]), (201, "carol"))
        yield self.problem(403, "POST", "/certificates", body={"kind": "user", "login": "admin"},
                           auth=("carol", "carol-pw"))
        yield self.problem(403, "POST", "/certificates",
                           body={"kind": "computer", "computer": "COMP-0"},
                           auth=("carol", "carol-pw"))

    @defer.inlineCallbacks
    def test_a_computer_revision_moves_with_its_changes(self):
        yield self.fleet()
        status, _, before = yield self.api("GET", "/computers/COMP-0/revision")
        self.assertEqual((status, before["reference"]), (200, "COMP-0"))
        yield self.api("PUT", "/computers/COMP-0/supplies/%s" % quote(SR_V2, safe=""),
                       {"state": "available"})
        status, _, after = yield self.api("GET", "/computers/COMP-0/revision")
        self.assertGreater(after["revision"], before["revision"])
        yield self.problem(404, "GET", "/computers/COMP-9/revision")
        yield self.problem(401, "GET", "/computers/COMP-0/revision", auth=False)
        yield self.api("POST", "/people", {"login": "carol", "password": "carol-pw"})
        yield self.problem(403, "GET", "/computers/COMP-0/revision", auth=("carol", "carol-pw"))
