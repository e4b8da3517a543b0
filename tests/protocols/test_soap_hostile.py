"""SOAP under hostile bodies: every refusal a SOAP Fault, nothing logged.

Seeded, generated envelopes for every operation of the WSDL (and unknown ones), with wrong
namespaces, mustUnderstand headers, odd values, truncated, bit-flipped (invalid UTF-8), with a
stray byte-order mark or deep nesting, under other charsets. Trial fails a test on any error the
master logs.
"""

import re

from twisted.internet import defer
from twisted.trial import unittest

from bench.hostile import hostile_envelopes
from tests.fixtures import http_client, start_test_master

class HostileSoapTests(unittest.TestCase):
    """Generated hostile envelopes on /soap, as the admin."""

    def setUp(self):
        self.running = start_test_master(self)
        self.base = self.running.urls()[0].encode()
        self.http = http_client(self)

    @defer.inlineCallbacks
    def test_every_refusal_is_a_fault_and_nothing_is_logged(self):
        login, password = self.running.credentials
        wsdl = yield (yield self.http.get(self.base + b"soap?wsdl")).text()
        namespace = re.search(r'targetNamespace="([^"]+)"', wsdl).group(1)
        operations = sorted(set(re.findall(r'<wsdl:operation name="(\w+)"', wsdl)))
        faults = 0
        for operation, content_type, body in hostile_envelopes(16, 300, operations, namespace):
            response = yield self.http.post(
                self.base + b"soap", data=body, auth=(login, password),
                headers={b"Content-Type": [content_type.encode()],
                         b"SOAPAction": [b'"%s"' % operation.encode()]})
            answer = yield response.content()
            self.assertNotIn(b"Traceback", answer)
            if response.code >= 500:
                self.assertIn(b"Fault>", answer, (body[:200], answer[:200]))
                faults += 1
        self.assertGreater(faults, 200)
        self.assertEqual((yield self.http.get(self.base + b"health")).code, 200)

    @defer.inlineCallbacks
    def test_an_empty_body_is_a_client_fault(self):
        for body in (b"", b"  \r\n"):
            response = yield self.http.post(self.base + b"soap", data=body,
                                            auth=self.running.credentials,
                                            headers={b"Content-Type": [b"text/xml"]})
            answer = yield response.content()
            self.assertEqual(response.code, 500)
            self.assertIn(b"<faultcode>soap11env:Client</faultcode>", answer)
            self.assertIn(b"the body is empty", answer)

    @defer.inlineCallbacks
    def test_text_that_is_not_utf8_is_a_client_fault(self):
        login, password = self.running.credentials
        body = (b'<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap'
                b'.org/soap/envelope/"><soapenv:Body><x>\xe9</x></soapenv:Body>'
                b'</soapenv:Envelope>')
        for content_type, message in ((b"text/xml; charset=utf-8", b"not UTF-8 text (byte"),
                                      (b"text/xml; charset=latin-1", b"UTF-8 here, not latin-1")):
            response = yield self.http.post(self.base + b"soap", data=body,
                                            auth=(login, password),
                                            headers={b"Content-Type": [content_type]})
            answer = yield response.content()
            self.assertEqual(response.code, 500)
            self.assertIn(b"<faultcode>", answer)
            self.assertIn(message, answer)
