"""XML-RPC under hostile bodies: every answer a fault of our own codes, nothing logged.

Seeded, generated bodies (nested structs and arrays of odd values: huge integers, NaN, bad
dates and base64, empty names, unknown types, nil) for operations and ``system.*`` methods with
wrong parameter counts and types, then truncated, bit-flipped or deeply nested. Trial fails a
test on any error the master logs, so a traceback is a failure too.
"""

import re

from twisted.internet import defer
from twisted.trial import unittest

from bench.hostile import hostile_bodies
from tests.fixtures import http_client, start_test_master

OUR_CODES = {-32700, -32600, -32601, -32602, 400, 401, 403, 404, 408, 409, 429, 503}


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
