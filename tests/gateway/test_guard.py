"""The guard in front of every face (gateway/guard.py): an oversized body, a DTD and a wrong
media type are refused in each face's own idiom before the face reads anything, and no body is
kept past the master's max_body."""

import json
import xmlrpc.client

from twisted.internet import defer
from twisted.trial import unittest
from twisted.web.test.requesthelper import DummyChannel

from gateway.guard import BoundedRequest, dtd_problem
from tests.fixtures import http_client, start_test_master

LIMIT = 64 * 1024
BIG = b"<x>" + b" " * (LIMIT + 1) + b"</x>"
DTD = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'


class GuardOverTheWireTests(unittest.TestCase):
    """A master whose max_body is 64 KiB."""

    timeout = 60

    def setUp(self):
        self.running = start_test_master(self, max_body=LIMIT)
        self.base = self.running.urls()[0]

    @defer.inlineCallbacks
    def post(self, path, body, media_type):
        response = yield http_client(self).post(
            self.base + path, data=body, headers={"Content-Type": [media_type]},
            auth=self.running.credentials)
        return (response.code, response.headers.getRawHeaders("content-type", [""])[0],
                (yield response.content()))

    @defer.inlineCallbacks
    def test_each_face_refuses_in_its_idiom(self):
        # XML-RPC: a fault "invalid request" in an HTTP 200
        for body in (BIG, DTD):
            code, media, answer = yield self.post("xmlrpc", body, "text/xml")
            self.assertEqual((code, media.split(";")[0]), (200, "text/xml"))
            with self.assertRaises(xmlrpc.client.Fault) as fault:
                xmlrpc.client.loads(answer)
            self.assertEqual(fault.exception.faultCode, -32600)
        # SOAP: a Client fault
        for body, words in ((BIG, b"larger than 65536"), (DTD, b"DTDs")):
            code, media, answer = yield self.post("soap", body, "text/xml")
            self.assertEqual(code, 500)
            self.assertIn(b"<faultcode>soap11env:Client</faultcode>", answer)
            self.assertIn(words, answer)
        # REST: problem documents
        for body, media_type, status in ((b"{}" + b" " * LIMIT, "application/json", 413),
                                         (b"{}", "text/plain", 415)):
            code, media, answer = yield self.post("api/computers", body, media_type)
            self.assertEqual((code, media), (status, "application/problem+json"))
            self.assertEqual(json.loads(answer)["status"], status)
        # SLAP: a line of text
        code, media, answer = yield self.post("slap/requestComputerPartition", BIG,
                                              "application/x-www-form-urlencoded")
        self.assertEqual((code, answer), (413, b"the body is larger than 65536 bytes"))
        # SyncML: its own limit (2 MB) is above this master's: the master's holds
        code, media, answer = yield self.post("syncml", BIG, "application/vnd.syncml+xml")
        self.assertEqual(code, 413)
        code, media, answer = yield self.post("syncml", DTD, "application/vnd.syncml+xml")
        self.assertEqual((code, answer.startswith(b"DTD internal subsets")), (400, True))
        # the dashboard: a page
        code, media, answer = yield self.post("login", b"login=x", "application/json")
        self.assertEqual((code, media.split(";")[0]), (415, "text/html"))
        self.assertIn(b"This form was refused", answer)

    @defer.inlineCallbacks
    def test_a_good_request_goes_through_every_guard(self):
        code, _, answer = yield self.post("xmlrpc", xmlrpc.client.dumps(
            ({},), "person.me").encode(), "text/xml")
        self.assertEqual(xmlrpc.client.loads(answer)[0][0]["login"],
                         self.running.credentials[0])
        response = yield http_client(self).get(self.base + "health")
        self.assertEqual(response.code, 200)
        yield response.content()


def kept(request):
    """The body bytes a request holds."""
    request.content.seek(0)
    return request.content.read()


class BoundedRequestTests(unittest.TestCase):
    """What is kept of a body that grows past the cap."""

    def request(self):
        channel = DummyChannel()
        channel.site.max_body = 10
        return BoundedRequest(channel)

    def test_chunks_past_the_cap_are_dropped(self):
        request = self.request()
        request.gotLength(None)  # chunked: no length announced
        for chunk in (b"12345", b"67890", b"x" * 1000, b"more"):
            request.handleContentChunk(chunk)
        self.assertTrue(request.too_large)
        self.assertEqual(kept(request), b"")

    def test_an_announced_length_past_the_cap_keeps_nothing(self):
        request = self.request()
        request.gotLength(10 ** 9)
        request.handleContentChunk(b"x" * 100)
        self.assertTrue(request.too_large)
        self.assertEqual(kept(request), b"")

    def test_within_the_cap_all_is_kept(self):
        request = self.request()
        request.gotLength(10)
        request.handleContentChunk(b"0123456789")
        self.assertFalse(request.too_large)
        self.assertEqual(kept(request), b"0123456789")

    def test_doctype_rules(self):
        external = (b'<!DOCTYPE SyncML PUBLIC "-//SYNCML//DTD SyncML 1.2//EN" '
                    b'"http://www.openmobilealliance.org/tech/DTD/x.dtd"><SyncML/>')
        self.assertIsNone(dtd_problem(external, external_ok=True))
        self.assertIsNotNone(dtd_problem(external, external_ok=False))
        self.assertIsNotNone(dtd_problem(DTD, external_ok=True))
        self.assertIsNotNone(dtd_problem(b"<x><!ENTITY a 'b'></x>", external_ok=True))
        self.assertIsNone(dtd_problem(b"<x>no declaration</x>", external_ok=False))
