"""SOAP under hostile bodies: every refusal a SOAP Fault, nothing logged.

Seeded, generated envelopes for every operation of the WSDL (and unknown ones), with wrong
namespaces, mustUnderstand headers, odd values, truncated, bit-flipped (invalid UTF-8), with a
stray byte-order mark or deep nesting, under other charsets. Trial fails a test on any error the
master logs.
"""

import random
import re

from twisted.internet import defer
from twisted.trial import unittest

from tests.fixtures import http_client, start_test_master

CHILDREN = ["login", "password", "title", "software_release", "url", "computer", "reference",
            "state", "period", "number", "limit", "parameters", "sla", "roles", "document",
            "configuration", "amount", "shared", "device", "store", "mapping", "schema"]
VALUES = ["x", "", "99999999999999999999", "-1", "nan", "1e999", "true", "maybe", "COMP-0",
          "2026-11", "<item><key>a</key><value>b</value></item>", "<item><key/></item>",
          "\u00e9", "<![CDATA[<x>]]>", "<a><b><c/></b></a>", "&amp;", "2026-13-45T99:00:00"]
HEADERS = ["", "<x:Security xmlns:x='urn:x' soapenv:mustUnderstand='1'/>", "<junk/>"]


def hostile_envelopes(seed, count, operations, namespace):
    """``count`` (operation, content type, body) triples."""
    rng = random.Random(seed)
    for _ in range(count):
        operation = rng.choice(operations + ["noSuchOperation"])
        children = "".join("<tns:%s>%s</tns:%s>" % (name, rng.choice(VALUES), name)
                           for name in rng.sample(CHILDREN, rng.randrange(5)))
        envelope = (
            '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/'
            'soap/envelope/" xmlns:tns="%s"><soapenv:Header>%s</soapenv:Header><soapenv:Body>'
            '<tns:%s>%s</tns:%s></soapenv:Body></soapenv:Envelope>'
            % (namespace if rng.random() < 0.85 else "urn:wrong", rng.choice(HEADERS),
               operation, children, operation)).encode("utf-8")
        mutation = rng.random()
        if mutation < 0.1:
            envelope = envelope[:rng.randrange(len(envelope))]
        elif mutation < 0.25:
            at = rng.randrange(len(envelope))
            envelope = envelope[:at] + bytes([rng.randrange(128, 256)]) + envelope[at + 1:]
        elif mutation < 0.28:
            envelope = envelope.replace(b"<soapenv:Body>", b"<soapenv:Body>" + b"<a>" * 3000, 1)
        elif mutation < 0.32:
            envelope = b"\xff\xfe" + envelope
        content_type = rng.choice(["text/xml; charset=utf-8"] * 6
                                  + ["text/xml", "text/xml; charset=latin-1"])
        yield operation, content_type, envelope


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
