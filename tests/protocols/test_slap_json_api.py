"""Upstream SlapOS's JSON API (spec section 6) on a started master, through real HTTP.

The master runs with ``insecure_loopback`` (as slapproxy): node entry points act as the computer
they name and user entry points as the local admin. Every reply is checked against the request
and 200 schemas of ``schemas/slapos_json_api.json`` here too, so a test fails on a shape the
server let through.
"""

import json

import jsonschema
from twisted.internet import defer, threads
from twisted.trial import unittest

import schemas
from gateway.server import local_admin
from tests.fixtures import http_client, start_test_master

SR = "http://sr.example.invalid/software.cfg"
COMPUTER = "COMP-JSON"
DOCUMENT = json.loads(schemas.path("slapos_json_api.json").read_text())


def reply_validator(name, status="200"):
    """The Draft 7 validator of ``name``'s reply for ``status``."""
    response = DOCUMENT["paths"]["/" + name]["post"]["responses"][status]
    schema = response["content"]["application/json"]["schema"]
    return jsonschema.Draft7Validator(dict(schema, components=DOCUMENT["components"]))


class JsonApiTests(unittest.TestCase):
    """Every entry point and its error paths."""

    timeout = 60

    def setUp(self):
        self.running = start_test_master(self, insecure_loopback=True)
        self.slap = self.running.urls()[0] + "slap/"
        self.client = http_client(self)

    def core(self, name, **arguments):
        """Deferred result of a core operation called as the local admin, in a thread."""
        return threads.deferToThread(self.running.master.call, name, local_admin(), **arguments)

    @defer.inlineCallbacks
    def post(self, name, body=None, raw=None, headers=None, method="POST"):
        """(status, decoded JSON reply) of one entry point."""
        data = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
        response = yield self.client.request(method, self.slap + name, data=data,
                                             headers=headers or {b"Content-Type": [b"application/json"]})
        text = yield response.content()
        self.assertEqual(response.headers.getRawHeaders(b"content-type"), [b"application/json"],
                         text)
        document = json.loads(text)
        status = str(response.code)
        reply_validator(name, status if status in ("200",) else "403").validate(document)
        return response.code, document

    @defer.inlineCallbacks
    def ok(self, name, body=None, **kwargs):
        """The reply of a call that must succeed."""
        code, document = yield self.post(name, body, **kwargs)
        self.assertEqual(code, 200, document)
        return document

    @defer.inlineCallbacks
    def refused(self, name, body, status):
        """The error document of a call that must answer ``status``."""
        code, document = yield self.post(name, body)
        self.assertEqual(code, status, document)
        self.assertEqual(document["status"], status)
        self.assertTrue(document["title"])
        return document

    @defer.inlineCallbacks
    def formatted(self, partitions=3):
        """Format COMPUTER with ``partitions`` partitions and supply SR to it."""
        yield self.ok("slapos.put.v0.compute_node_format", {
            "computer_guid": COMPUTER,
            "compute_partition_list": [{
                "partition_id": "slappart%d" % i,
                "ip_list": [{"ip-address": "10.0.1.%d" % (i + 1), "netmask": "255.255.255.0",
                             "network-interface": "slaptap%d" % i}],
            } for i in range(partitions)]})
        answer = yield self.ok("slapos.post.v0.software_installation",
                               {"software_release_uri": SR, "computer_guid": COMPUTER})
        self.assertEqual(answer, {"type": "success",
                                  "title": "Supplied %s to be available" % SR})

    @defer.inlineCallbacks
    def test_node_software_and_instance_life(self):
        yield self.formatted()
        listed = yield self.ok("slapos.allDocs.v0.compute_node_software_installation_list",
                               {"computer_guid": COMPUTER})
        self.assertEqual(listed["result_list"],
                         [{"software_release_uri": SR, "state": "available"}])
        for state in ("building", "available"):
            yield self.ok("slapos.put.v0.software_installation_reported_state",
                          {"software_release_uri": SR, "computer_guid": COMPUTER,
                           "reported_state": state})
        yield self.ok("slapos.put.v0.software_installation_error",
                      {"software_release_uri": SR, "computer_guid": COMPUTER, "message": "boom"})
        supplies = yield self.core("supply.list", computer=COMPUTER)
        self.assertEqual((supplies[0].reported_state, supplies[0].error_text), ("error", "boom"))

        instance = yield self.ok("slapos.post.v0.software_instance", {
            "title": "main", "software_release_uri": SR, "software_type": "default",
            "parameters": {"greeting": "hello"}, "sla_parameters": {"computer_guid": COMPUTER}})
        self.assertEqual((instance["title"], instance["computer_guid"], instance["state"],
                          instance["parameters"], instance["shared"]),
                         ("main", COMPUTER, "started", {"greeting": "hello"}, False))
        guid = instance["instance_guid"]
        partition = instance["compute_partition_id"]
        self.assertIn([partition.replace("slappart", "slaptap"),
                       "10.0.1.%d" % (int(partition[-1]) + 1)], instance["ip_list"])
        again = yield self.ok("slapos.get.v0.software_instance", {"instance_guid": guid})
        self.assertEqual(again, instance)
        on_node = yield self.ok("slapos.allDocs.v0.compute_node_instance_list",
                                {"computer_guid": COMPUTER})
        self.assertEqual(on_node["result_list"], [{
            "title": "main", "instance_guid": guid, "state": "started",
            "compute_partition_id": partition, "software_release_uri": SR}])
        by_partition = yield self.ok("slapos.get.v0.compute_partition",
                                     {"computer_guid": COMPUTER, "compute_partition_id": partition})
        self.assertEqual(by_partition["instance_guid"], guid)

        answer = yield self.ok("slapos.put.v0.software_instance_connection_parameter",
                               {"instance_guid": guid,
                                "connection_parameter_dict": {"url": "http://10.0.1.1/"}})
        self.assertEqual(answer["title"], "Updated")
        tree = yield self.ok("slapos.get.v0.instance_tree", {"title": "main"})
        self.assertEqual(tree["connection_parameters"], {"url": "http://10.0.1.1/"})
        trees = yield self.ok("slapos.allDocs.v0.instance_tree_list", {})
        self.assertEqual(trees["result_list"], [{"title": "main"}])
        for state in ("started", "stopped"):
            yield self.ok("slapos.put.v0.software_instance_reported_state",
                          {"instance_guid": guid, "reported_state": state})
        yield self.ok("slapos.put.v0.software_instance_error",
                      {"instance_guid": guid, "message": "promise failed"})
        read = yield self.ok("slapos.get.v0.software_instance", {"instance_guid": guid})
        self.assertEqual(read["access_status_message"], "#error promise failed")
        before = read["processing_timestamp"]
        answer = yield self.ok("slapos.put.v0.software_instance_bang",
                               {"instance_guid": guid, "message": "again"})
        self.assertEqual(answer["title"], "Bang handled")
        read = yield self.ok("slapos.get.v0.software_instance", {"instance_guid": guid})
        self.assertGreater(read["processing_timestamp"], before)
        yield self.ok("slapos.put.v0.software_instance_title",
                      {"instance_guid": guid, "title": "renamed"})
        read = yield self.ok("slapos.get.v0.software_instance", {"instance_guid": guid})
        self.assertEqual(read["title"], "renamed")

        # Destruction: requested, then reported by the node, which frees the partition.
        yield self.ok("slapos.post.v0.software_instance", {
            "title": "renamed", "software_release_uri": SR, "software_type": "default",
            "state": "destroyed"})
        answer = yield self.ok("slapos.put.v0.software_instance_reported_state",
                               {"instance_guid": guid, "reported_state": "destroyed"})
        self.assertEqual(answer["title"], "Destroyed")
        on_node = yield self.ok("slapos.allDocs.v0.compute_node_instance_list",
                                {"computer_guid": COMPUTER})
        self.assertEqual(on_node["result_list"], [])
        yield self.ok("slapos.post.v0.software_installation",
                      {"software_release_uri": SR, "computer_guid": COMPUTER,
                       "state": "destroyed"})
        yield self.ok("slapos.put.v0.software_installation_reported_state",
                      {"software_release_uri": SR, "computer_guid": COMPUTER,
                       "reported_state": "destroyed"})

    @defer.inlineCallbacks
    def test_shared_instances_are_listed_on_their_host(self):
        yield self.formatted()
        host = yield self.ok("slapos.post.v0.software_instance", {
            "title": "host", "software_release_uri": SR, "software_type": "default"})
        shared = yield self.ok("slapos.post.v0.software_instance", {
            "title": "tenant", "software_release_uri": SR, "software_type": "default",
            "shared": True, "parameters": {"domain": "example.com"}})
        self.assertTrue(shared["shared"])
        hosted = yield self.ok("slapos.allDocs.v0.instance_node_instance_list",
                               {"instance_guid": host["instance_guid"]})
        self.assertEqual(hosted["result_list"], [{
            "title": "tenant", "instance_guid": shared["instance_guid"],
            "software_type": "default", "state": "started",
            "parameters": {"domain": "example.com"},
            "compute_partition_id": host["compute_partition_id"]}])
        yield self.ok("slapos.put.v0.software_instance_connection_parameter",
                      {"instance_guid": shared["instance_guid"],
                       "connection_parameter_dict": {"site": "https://example.com/"}})
        read = yield self.ok("slapos.get.v0.software_instance",
                             {"instance_guid": shared["instance_guid"]})
        self.assertEqual(read["connection_parameters"], {"site": "https://example.com/"})
        yield self.refused("slapos.allDocs.v0.instance_node_instance_list",
                           {"instance_guid": shared["instance_guid"]}, 403)
        yield self.refused("slapos.put.v0.software_instance_bang",
                           {"instance_guid": shared["instance_guid"], "message": "x"}, 403)

    @defer.inlineCallbacks
    def test_compute_node_entries(self):
        yield self.formatted()
        yield self.ok("slapos.put.v0.compute_node_bang",
                      {"computer_guid": COMPUTER, "message": "reboot"})
        status = yield self.ok("slapos.get.v0.compute_node_status", {"computer_guid": COMPUTER})
        self.assertIn("reboot", status["text"])
        nodes = yield self.ok("slapos.allDocs.WIP.compute_node_list", {})
        self.assertEqual(nodes["result_list"], [{"computer_guid": COMPUTER}])
        url = yield self.ok("slapos.get.v0.hateoas_url", {})
        self.assertEqual(url["hateoas_url"], self.slap + "hateoas/")
        journal = ("<journal><transaction type='Sale Packing List'><title>Resource consumptions"
                   "</title><start_date>2026-11-01 at 00:00:00</start_date><stop_date>"
                   "2026-11-02 at 00:00:00</stop_date><reference>slappart0</reference>"
                   "<currency>EUR</currency><payment_mode/><arrow type='Administration'>"
                   "<source/><destination/></arrow><movement><resource>cpu_time</resource>"
                   "<title>CPU</title><reference>slappart0</reference><quantity>1.5</quantity>"
                   "<price>0.1</price><VAT/><category>cpu</category></movement></transaction>"
                   "</journal>")
        yield self.ok("slapos.post.v0.compute_node_usage",
                      {"computer_guid": COMPUTER, "tioxml": journal})
        records = yield self.core("usage.list", computer=COMPUTER)
        self.assertEqual([r.quantity for r in records], [1.5])
        yield self.refused("slapos.post.v0.compute_node_usage",
                           {"computer_guid": COMPUTER, "tioxml": "<journal><oops/></journal>"},
                           400)

    @defer.inlineCallbacks
    def test_bad_requests_are_400_documents(self):
        yield self.refused("slapos.get.v0.software_instance", {}, 400)
        yield self.refused("slapos.get.v0.software_instance", {"instance_guid": 7}, 400)
        yield self.refused("slapos.get.v0.software_instance",
                           {"instance_guid": "x", "stray": 1}, 400)
        yield self.refused("slapos.put.v0.software_instance_reported_state",
                           {"instance_guid": "x", "reported_state": "paused"}, 400)
        code, document = yield self.post("slapos.get.v0.software_instance", raw=b"{not json")
        self.assertEqual((code, document["status"]), (400, 400))
        code, document = yield self.post("slapos.get.v0.software_instance", raw=b"[]")
        self.assertEqual(code, 400)
        code, document = yield self.post("slapos.get.v0.software_instance",
                                         raw=b" " * (4 * 1024 * 1024 + 10))
        self.assertEqual((code, document["status"]), (413, 413))  # the guard, in JSON

    @defer.inlineCallbacks
    def test_not_found_is_403_and_get_is_405(self):
        yield self.refused("slapos.get.v0.software_instance", {"instance_guid": "SOFTINST-9"},
                           403)
        yield self.refused("slapos.allDocs.v0.compute_node_software_installation_list",
                           {"computer_guid": "COMP-NONE"}, 403)
        yield self.refused("slapos.get.v0.instance_tree", {"title": "nothing"}, 403)
        yield self.formatted(partitions=1)
        yield self.refused("slapos.get.v0.compute_partition",
                           {"computer_guid": COMPUTER, "compute_partition_id": "slappart0"}, 403)
        code, document = yield self.post("slapos.get.v0.hateoas_url", method="GET")
        self.assertEqual((code, document["type"]), (405, "Method Not Allowed"))

    @defer.inlineCallbacks
    def test_a_request_waiting_for_a_partition_is_408(self):
        document = yield self.refused("slapos.post.v0.software_instance", {
            "title": "waiting", "software_release_uri": SR, "software_type": ""}, 408)
        self.assertEqual(document["type"], "Request Timeout")


class JsonApiDocumentTests(unittest.TestCase):
    """The checked-in document describes exactly the entry points served."""

    def test_every_entry_point_is_described_and_served(self):
        from protocols.slap import json_api

        self.assertEqual({path.lstrip("/") for path in DOCUMENT["paths"]}, set(json_api.ENTRIES))
        for path, item in DOCUMENT["paths"].items():
            jsonschema.Draft7Validator.check_schema(
                item["post"]["requestBody"]["content"]["application/json"]["schema"])


class SameAnswersAsSlapproxy:
    """One scenario against a master whose JSON API is at ``self.base``: statuses and shapes.

    Run against slapgate and against upstream slapproxy (slapos.core 1.26.1): both must answer
    the same statuses, and every reply must match ``schemas/slapos_json_api.json``, which is
    therefore checked against upstream's own server too.
    """

    timeout = 90

    @defer.inlineCallbacks
    def post(self, name, body):
        response = yield http_client(self).request(
            "POST", self.base + name, data=json.dumps(body).encode(),
            headers={b"Content-Type": [b"application/json"]})
        document = json.loads((yield response.content()))
        reply_validator(name, "200" if response.code == 200 else "403").validate(document)
        return response.code, document

    @defer.inlineCallbacks
    def test_scenario_statuses_and_shapes(self):
        seen = []

        @defer.inlineCallbacks
        def step(name, body):
            code, document = yield self.post(name, body)
            seen.append((name, code, document.get("type") if code != 200 else None))
            return document

        yield step("slapos.put.v0.compute_node_format", {
            "computer_guid": "COMP-0", "compute_partition_list": [
                {"partition_id": "slappart%d" % i,
                 # slapproxy needs network-interface (a KeyError, 500, without it).
                 "ip_list": [{"ip-address": "10.0.1.%d" % (i + 1), "netmask": "255.255.255.0",
                              "network-interface": "slaptap%d" % i}]}
                for i in range(2)]})
        yield step("slapos.post.v0.software_installation",
                   {"software_release_uri": SR, "computer_guid": "COMP-0"})
        yield step("slapos.allDocs.v0.compute_node_software_installation_list",
                   {"computer_guid": "COMP-0"})
        instance = yield step("slapos.post.v0.software_instance", {
            "title": "main", "software_release_uri": SR, "software_type": "default",
            "parameters": {"a": "1"}, "sla_parameters": {"computer_guid": "COMP-0"}})
        yield step("slapos.get.v0.software_instance", {"instance_guid": instance["instance_guid"]})
        yield step("slapos.allDocs.v0.compute_node_instance_list", {"computer_guid": "COMP-0"})
        yield step("slapos.get.v0.compute_partition",
                   {"computer_guid": "COMP-0",
                    "compute_partition_id": instance["compute_partition_id"]})
        yield step("slapos.put.v0.software_instance_connection_parameter",
                   {"instance_guid": instance["instance_guid"],
                    "connection_parameter_dict": {"url": "http://x/"}})
        tree = yield step("slapos.get.v0.instance_tree", {"title": "main"})
        self.assertEqual(tree["connection_parameters"], {"url": "http://x/"})
        yield step("slapos.allDocs.v0.instance_tree_list", {})
        yield step("slapos.get.v0.hateoas_url", {})
        # Errors: a body that does not match the schema, "not found", not POST.
        yield step("slapos.get.v0.software_instance", {})
        yield step("slapos.get.v0.software_instance", {"instance_guid": "nothing___x___0"})
        yield step("slapos.allDocs.v0.compute_node_software_installation_list",
                   {"computer_guid": "COMP-404"})
        # (A GET is 405 on both, but slapproxy's is Flask's HTML page: not compared here.)
        self.assertEqual([code for _, code, _ in seen], [200] * 11 + [400, 403, 403], seen)
        self.assertEqual([kind for _, _, kind in seen[11:]],
                         ["Bad Request", "Forbidden", "Forbidden"])


class SlapgateAnswers(SameAnswersAsSlapproxy, unittest.TestCase):
    """The scenario against slapgate."""

    def setUp(self):
        self.base = start_test_master(self, insecure_loopback=True).urls()[0] + "slap/"


class SlapproxyAnswers(SameAnswersAsSlapproxy, unittest.TestCase):
    """The scenario against upstream slapproxy, whose JSON API is at its root."""

    @defer.inlineCallbacks
    def setUp(self):
        from tests.upstream import start_slapproxy

        url = yield start_slapproxy(self)
        self.base = url.rstrip("/") + "/"
