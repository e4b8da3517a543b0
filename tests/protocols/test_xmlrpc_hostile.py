"""XML-RPC under hostile bodies: every answer a fault of our own codes, nothing logged.

Seeded, generated bodies (nested structs and arrays of odd values: huge integers, NaN, bad
dates and base64, empty names, unknown types, nil) for operations and ``system.*`` methods with
wrong parameter counts and types, then truncated, bit-flipped or deeply nested. Trial fails a
test on any error the master logs, so a traceback is a failure too.
"""

import random
import re

from twisted.internet import defer
from twisted.trial import unittest

from tests.fixtures import http_client, start_test_master

VALUES = ["<int>1</int>", "<int>99999999999999999999</int>", "<i4>-x</i4>",
          "<double>nan</double>", "<double>1e999</double>", "<boolean>2</boolean>",
          "<string>\u00e9</string>", "<nil/>", "<dateTime.iso8601>garbage</dateTime.iso8601>",
          "<dateTime.iso8601>20261207T00:00:00</dateTime.iso8601>", "<base64>!!!</base64>",
          "<base64>AAAA</base64>", "<array><data></data></array>", "<array></array>",
          "<struct></struct>", "<struct><member><name></name></member></struct>",
          "<struct><member><value><int>1</int></value></member></struct>", "plain", "",
          "<i8>123</i8>", "<unknown>1</unknown>"]
NAMES = ["url", "computer", "reference", "title", "software_release", "state", "parameters",
         "sla", "login", "period", "number", "configuration", "connection", "document",
         "device", "store", "mapping", "limit", "amount", "schema"]
METHODS = ["instance.request", "computer.create", "person.create", "catalogue.add_release",
           "usage.report", "computer.format", "sync.record", "invoice.generate", "pricing.set",
           "system.multicall", "system.methodHelp", "system.methodSignature",
           "system.listMethods", "system.nothing", "nosuch.method", "person.update",
           "supply.supply", "instance.list", "tree.get"]
OUR_CODES = {-32700, -32600, -32601, -32602, 400, 401, 403, 404, 408, 409, 429, 503}


def hostile_bodies(seed, count):
    """``count`` generated bodies (bytes)."""
    rng = random.Random(seed)

    def value(depth=0):
        if depth < 4 and rng.random() < 0.15:
            return "<array><data>%s</data></array>" % "".join(
                "<value>%s</value>" % value(depth + 1) for _ in range(rng.randrange(3)))
        if depth < 4 and rng.random() < 0.2:
            return "<struct>%s</struct>" % "".join(
                "<member><name>%s</name><value>%s</value></member>"
                % (rng.choice(NAMES), value(depth + 1)) for _ in range(rng.randrange(4)))
        return rng.choice(VALUES)

    for _ in range(count):
        params = "".join("<param><value>%s</value></param>" % value()
                         for _ in range(rng.choice([0, 1, 1, 1, 2])))
        data = ("<?xml version='1.0'?><methodCall><methodName>%s</methodName><params>%s"
                "</params></methodCall>" % (rng.choice(METHODS), params)).encode("utf-8")
        mutation = rng.random()
        if mutation < 0.1:
            data = data[:rng.randrange(len(data))]
        elif mutation < 0.2:
            at = rng.randrange(len(data))
            data = data[:at] + bytes([rng.randrange(256)]) + data[at + 1:]
        elif mutation < 0.23:
            data = b"<a>" * 5000 + b"x" + b"</a>" * 5000
        elif mutation < 0.26:
            data = data.replace(b"<params>",
                                b"<params><param><value>" + b"<array><data><value>" * 300, 1)
        yield data


class HostileXmlRpcTests(unittest.TestCase):
    """Generated hostile bodies on /xmlrpc and /xmlrpc/nil, as the admin."""

    def setUp(self):
        self.running = start_test_master(self)
        self.base = self.running.urls()[0].encode()
        self.http = http_client(self)

    @defer.inlineCallbacks
    def test_every_answer_is_one_of_our_faults_or_a_result(self):
        login, password = self.running.credentials
        seen = {}
        for number, body in enumerate(hostile_bodies(seed=16, count=400)):
            path = b"xmlrpc/nil" if number % 2 else b"xmlrpc"
            response = yield self.http.post(self.base + path, data=body, auth=(login, password),
                                            headers={b"Content-Type": [b"text/xml"]})
            answer = yield response.content()
            self.assertEqual(response.code, 200, body[:200])
            self.assertNotIn(b"Traceback", answer)
            self.assertNotIn(b"Error:", answer, body[:200])
            fault = re.search(rb"<name>faultCode</name>\s*<value><int>(-?\d+)</int>", answer)
            code = int(fault.group(1)) if fault else None
            if code is not None:
                self.assertIn(code, OUR_CODES, (body[:200], answer[:300]))
            seen[code] = seen.get(code, 0) + 1
        self.assertGreater(seen.get(-32700, 0), 20)  # the generator reaches the parser...
        self.assertGreater(seen.get(-32602, 0), 20)  # ...and the argument checks
        health = yield self.http.get(self.base + b"health")
        self.assertEqual(health.code, 200)
