"""The SLAP adaptor's own contract: status codes, refusals and hostile input, over real HTTP."""

from urllib.parse import urlencode

from twisted.internet import defer
from twisted.trial import unittest

from gateway.config import ConfigError, load
from protocols.slap_wire.marshal import dumps
from tests.fixtures import http_client, start_test_master

SR = "http://sr.example.invalid/software.cfg"
FORM = {b"Content-Type": [b"application/x-www-form-urlencoded"]}
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><marshal><string>&b;</string></marshal>'
)


class SlapMaster:
    """A master on 127.0.0.1 (``insecure``: with --insecure-loopback), its SLAP calls, and what
    holds with or without authentication."""

    insecure = True

    def setUp(self):
        self.running = start_test_master(self, insecure_loopback=self.insecure)
        self.url = self.running.urls()[0] + "slap/"
        self.http = http_client(self)

    @defer.inlineCallbacks
    def post(self, name, fields, headers=None):
        all_headers = {**FORM, **(headers or {})}
        response = yield self.http.post(self.url + name, data=urlencode(fields).encode(),
                                        headers=all_headers)
        body = yield response.content()
        return response.code, body

    @defer.inlineCallbacks
    def get(self, name, fields=None):
        query = ("?" + urlencode(fields)) if fields else ""
        response = yield self.http.get(self.url + name + query)
        body = yield response.content()
        return response.code, body

    @defer.inlineCallbacks
    def format_node(self, partitions=2):
        configuration = {"reference": "COMP-0", "partition_list": [
            {"reference": "slappart%d" % i, "address_list": [{"addr": "127.0.1.%d" % i}]}
            for i in range(partitions)]}
        code, _ = yield self.post("loadComputerConfigurationFromXML",
                                  {"xml": dumps(configuration)})
        self.assertEqual(code, 200)
        code, _ = yield self.post("supplySupply", {"url": SR, "computer_id": "COMP-0",
                                                   "state": "available"})
        self.assertEqual(code, 200)

    def request_fields(self, title, **extra):
        fields = {"software_release": SR, "software_type": "default",
                  "partition_reference": title, "shared_xml": dumps(False),
                  "partition_parameter_xml": dumps({}), "filter_xml": dumps({}),
                  "state": dumps(None)}
        fields.update(extra)
        return fields

    @defer.inlineCallbacks
    def test_unknown_call_is_404_and_wrong_method_is_405(self):
        code, _ = yield self.get("noSuchCall")
        self.assertEqual(code, 404)
        code, _ = yield self.get("supplySupply")
        self.assertEqual(code, 405)
        code, body = yield self.get("")
        self.assertEqual(code, 200)
        self.assertIn(b"requestComputerPartition", body)

    @defer.inlineCallbacks
    def test_oversized_body_is_413(self):
        code, _ = yield self.post("useComputer", {"computer_id": "COMP-0",
                                                  "use_string": "x" * (9 * 1024 * 1024)})
        self.assertEqual(code, 413)


class SlapAdaptorTests(SlapMaster, unittest.TestCase):
    """A master with --insecure-loopback on 127.0.0.1."""

    @defer.inlineCallbacks
    def test_answers_carry_their_length_not_chunks(self):
        yield self.format_node()
        response = yield self.http.get(self.url + "getFullComputerInformation?computer_id=COMP-0")
        body = yield response.content()
        self.assertEqual(response.code, 200)
        self.assertEqual(response.length, len(body))
        self.assertIsNone(response.headers.getRawHeaders(b"Transfer-Encoding"))
        code, error = yield self.get("getFullComputerInformation", {"computer_id": "NOPE"})
        self.assertEqual(code, 404)

    @defer.inlineCallbacks
    def test_unknown_computer_is_404_and_missing_field_is_400(self):
        code, body = yield self.get("getFullComputerInformation", {"computer_id": "COMP-9"})
        self.assertEqual((code, body), (404, b"no computer 'COMP-9'"))
        code, body = yield self.get("getFullComputerInformation")
        self.assertEqual((code, body), (400, b"computer_id is required"))

    @defer.inlineCallbacks
    def test_request_that_cannot_be_allocated_is_408(self):
        yield self.format_node(partitions=1)
        code, _ = yield self.post("requestComputerPartition", self.request_fields("a"))
        self.assertEqual(code, 200)
        code, body = yield self.post("requestComputerPartition", self.request_fields("b"))
        self.assertEqual(code, 408)
        self.assertIn(b"not allocated yet", body)

    @defer.inlineCallbacks
    def test_hostile_and_malformed_marshal_is_400_and_the_master_still_serves(self):
        yield self.format_node()
        for bad in (BILLION_LAUGHS, "<marshal><string>unclosed</marshal>",
                    '<marshal><object id="i2" module="os" class="system"><tuple/>'
                    '<dictionary id="i3"/></object></marshal>', "not xml at all"):
            code, _ = yield self.post("requestComputerPartition",
                                      self.request_fields("x", partition_parameter_xml=bad))
            self.assertEqual(code, 400, bad)
        code, _ = yield self.post("requestComputerPartition",
                                  self.request_fields("x", partition_parameter_xml=dumps([1])))
        self.assertEqual(code, 400)
        code, _ = yield self.get("getFullComputerInformation", {"computer_id": "COMP-0"})
        self.assertEqual(code, 200)

    @defer.inlineCallbacks
    def test_malformed_partition_header_is_400(self):
        yield self.format_node()
        code, body = yield self.post("requestComputerPartition", self.request_fields("x"),
                                     {b"Authorization": [b"X-SlapPartition nonsense"]})
        self.assertEqual((code, body), (400, b"malformed X-SlapPartition authorization header"))

    @defer.inlineCallbacks
    def test_partition_header_names_the_requester(self):
        yield self.format_node(partitions=3)
        code, _ = yield self.post("requestComputerPartition", self.request_fields("root"))
        self.assertEqual(code, 200)
        header = {b"Authorization": [
            b"X-SlapPartition computer_id=COMP-0, computer_partition_id=slappart0"]}
        code, _ = yield self.post("requestComputerPartition", self.request_fields("child"),
                                  header)
        self.assertEqual(code, 200)
        calls = self.running.site.resource.children[b"slap"].resource.calls
        from gateway.server import local_admin

        child, = [i for i in (yield calls.call("instance.list", local_admin()))
                  if i.title == "child"]
        self.assertEqual((child.tree, child.requester is not None), ("root", True))
        header = {b"Authorization": [
            b"X-SlapPartition computer_id=COMP-0, computer_partition_id=slappart2"]}
        code, _ = yield self.post("requestComputerPartition", self.request_fields("x"), header)
        self.assertEqual(code, 403)  # a free partition requests nothing

    @defer.inlineCallbacks
    def test_invalid_usage_journal_is_400(self):
        yield self.format_node()
        code, _ = yield self.post("useComputer", {"computer_id": "COMP-0",
                                                  "use_string": "<journal/>"})
        self.assertEqual(code, 400)

class SlapWithoutAuthenticationTests(SlapMaster, unittest.TestCase):
    """Without --insecure-loopback, and before certificates, every SLAP call is 401."""

    insecure = False

    @defer.inlineCallbacks
    def test_every_call_is_refused(self):
        for name, method in (("getFullComputerInformation", self.get),
                             ("requestComputerPartition", self.post)):
            code, _ = yield (method(name, {"computer_id": "COMP-0"}) if method == self.get
                             else method(name, self.request_fields("x")))
            self.assertEqual(code, 401, name)



class InsecureLoopbackConfigTests(unittest.TestCase):
    """--insecure-loopback is refused on anything but loopback addresses."""

    def test_non_loopback_listen_address_is_refused(self):
        for address in ("0.0.0.0:8080", "10.1.2.3:8080", "[::]:8080"):
            self.assertRaises(ConfigError, load, None, listen=[address], insecure_loopback=True)
        for address in ("127.0.0.1:8080", "127.9.9.9:1", "[::1]:8080", "localhost:80"):
            load(None, listen=[address], insecure_loopback=True)
