"""REST under hostile requests: every answer a problem document or a view, never a 5xx,
nothing logged.

Seeded requests to every route of the OpenAPI document (``bench.hostile.rest_requests``: odd path
values and queries, bodies with members dropped, retyped, unknown or duplicated, odd JSON, wrong
media types, cut or bit-flipped), as the admin. Trial fails a test on any error the master
logs.
"""

import json

from twisted.internet import defer
from twisted.trial import unittest

from bench.fuzz import EXCEPTION_TEXT
from bench.hostile import rest_requests
from tests.fixtures import http_client, start_test_master



class HostileRestTests(unittest.TestCase):
    """Generated hostile requests on /api, as the admin."""

    timeout = 120

    def setUp(self):
        self.running = start_test_master(self)
        self.base = self.running.urls()[0].rstrip("/").encode()
        self.http = http_client(self)

    @defer.inlineCallbacks
    def test_no_server_error_and_nothing_logged(self):
        document = yield (yield self.http.get(self.base + b"/api/openapi.json")).json()
        refused = 0
        for method, path, body, content_type in rest_requests(17, 400, document):
            headers = {b"Content-Type": [content_type.encode()]} if content_type else {}
            response = yield self.http.request(method, self.base + path.encode(), data=body,
                                               auth=self.running.credentials, headers=headers)
            answer = yield response.content()
            self.assertLess(response.code, 500, (method, path, body and body[:200], answer))
            self.assertIsNone(EXCEPTION_TEXT.search(answer), (method, path, answer[:200]))
            if (content_type or "").startswith("multipart/") and response.code == 400:
                continue  # twisted.web refuses a broken multipart body itself, before any face
            if response.code >= 400 and response.code != 405:
                self.assertTrue(answer.startswith(b"{"), (method, path, response.code, answer))
                json.loads(answer)  # a problem document
                refused += 1
        self.assertGreater(refused, 200)
        self.assertEqual((yield self.http.get(self.base + b"/health")).code, 200)
