"""``/syncml`` over HTTP: what is SyncML gets a SyncML answer in a 200, what is not an HTTP error."""

from twisted.internet import defer
from twisted.trial import unittest

from protocols.syncml.message import MAX_MESSAGE
from tests.fixtures import http_client, start_test_master
from tests.syncml.client import Answer, SyncMLClient, alert

XML = "application/vnd.syncml+xml"


class SyncMLResourceTests(unittest.TestCase):
    """The endpoint on a running master."""

    def setUp(self):
        self.running = start_test_master(self)
        self.url = (self.running.urls()[0].rstrip("/") + "/syncml").encode()
        self.login, self.password = self.running.credentials
        self.http = http_client(self)

    @defer.inlineCallbacks
    def post(self, body, content_type=XML + "; charset=UTF-8"):
        response = yield self.http.post(self.url, data=body,
                                        headers={b"Content-Type": [content_type.encode()]})
        content = yield response.content()
        return response.code, response.headers.getRawHeaders(b"content-type", [b""])[0], content

    @defer.inlineCallbacks
    def test_a_session_starts_over_http(self):
        client = SyncMLClient(user=self.login, password=self.password)
        code, content_type, body = yield self.post(client.body(alert(201)))
        self.assertEqual((code, content_type), (200, b"application/vnd.syncml+xml; charset=UTF-8"))
        answer = Answer(body)
        self.assertEqual(answer.header_status(), 212)
        from protocols.syncml.message import text
        header = answer.root[0]
        self.assertEqual(text(header, "RespURI"), self.url.decode())
        self.assertEqual(text(header, "Meta", "MaxObjSize"), str(MAX_MESSAGE))
        self.assertEqual(answer.server_alert()[0], 201)

    @defer.inlineCallbacks
    def test_wrong_credentials_are_a_syncml_401_in_a_200(self):
        client = SyncMLClient(user=self.login, password="wrong")
        code, _, body = yield self.post(client.body(alert(200)))
        self.assertEqual((code, Answer(body).header_status()), (200, 401))

    @defer.inlineCallbacks
    def test_what_is_not_syncml(self):
        client = SyncMLClient(user=self.login, password=self.password)
        good = client.body(alert(201))
        xxe = (b'<?xml version="1.0"?><!DOCTYPE SyncML [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
               b"<SyncML><SyncHdr/><SyncBody>&x;</SyncBody></SyncML>")
        laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                  b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><SyncML>&b;</SyncML>')
        cases = [
            (good, "application/vnd.syncml+wbxml", 415),
            (good, "text/plain", 415),
            (xxe, XML, 400),
            (laughs, XML, 400),
            (b"<SyncML><SyncHdr>", XML, 400),
            (b"<Other/>", XML, 400),
            (b"<SyncML><SyncHdr/></SyncML>", XML, 400),
            (b"<SyncML>" + b" " * MAX_MESSAGE + b"</SyncML>", XML, 413),
        ]
        for body, content_type, expected in cases:
            code, answer_type, answer = yield self.post(body, content_type)
            self.assertEqual(code, expected, (body[:60], answer))
            self.assertTrue(answer_type.startswith(b"text/plain"))
            self.assertNotIn(b"Traceback", answer)
            self.assertNotIn(b"root:", answer)

    @defer.inlineCallbacks
    def test_a_doctype_naming_the_syncml_dtd_is_tolerated(self):
        client = SyncMLClient(user=self.login, password=self.password)
        body = client.body(alert(201)).replace(
            b"?>", b'?><!DOCTYPE SyncML PUBLIC "-//SYNCML//DTD SyncML 1.2//EN" '
                   b'"http://www.openmobilealliance.org/tech/DTD/OMA-TS-SyncML_RepPro_DTD-V1_2.dtd">',
            1)
        code, _, answer = yield self.post(body)
        self.assertEqual((code, Answer(answer).header_status()), (200, 212))

    @defer.inlineCallbacks
    def test_a_browser_is_told_what_this_is(self):
        response = yield self.http.get(self.url)
        self.assertEqual(response.code, 200)
        self.assertIn(b"SyncML", (yield response.content()))
