"""A directory that refuses connections, seen from every face (issue 16): a directory person's
login is answered "unavailable" in the face's idiom (never a 500, a hang or a wrong-password
answer), and a local account still logs in everywhere."""

import base64
import json
import xmlrpc.client

from twisted.internet import defer, threads
from twisted.trial import unittest

from tests.fixtures import http_client, start_test_master
from tests.gateway.test_ldap import settings
from tests.upstream import _free_port as closed_port


class DirectoryDownTests(unittest.TestCase):
    """A master whose [ldap] URL refuses connections."""

    timeout = 60

    def setUp(self):
        self.running = start_test_master(
            self, ldap=settings("ldap://127.0.0.1:%d" % closed_port(), timeout=1.0))  # refused
        self.base = self.running.urls()[0]
        self.client = http_client(self)
        self.admin = self.running.credentials

    @defer.inlineCallbacks
    def request(self, method, path, auth, body=None, media_type=None):
        headers = {"Content-Type": [media_type]} if media_type else None
        response = yield self.client.request(method, self.base + path, auth=auth, data=body,
                                             headers=headers)
        return response.code, (yield response.content())

    @defer.inlineCallbacks
    def test_every_face_says_unavailable_and_local_accounts_log_in(self):
        alice = ("alice", "alice-secret")
        call = xmlrpc.client.dumps(({},), "person.me").encode()
        code, answer = yield self.request("POST", "xmlrpc", alice, call, "text/xml")
        self.assertIn(b"<int>503</int>", answer)
        code, answer = yield self.request("POST", "xmlrpc", self.admin, call, "text/xml")
        self.assertEqual(xmlrpc.client.loads(answer)[0][0]["login"], self.admin[0])

        envelope = (b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
                    b' xmlns:s="urn:slapgate:soap"><soapenv:Body><s:personMe/></soapenv:Body>'
                    b"</soapenv:Envelope>")
        code, answer = yield self.request("POST", "soap", alice, envelope, "text/xml")
        self.assertEqual(code, 500)
        self.assertIn(b"<slap:code>unavailable</slap:code>", answer)
        code, answer = yield self.request("POST", "soap", self.admin, envelope, "text/xml")
        self.assertEqual(code, 200)

        code, answer = yield self.request("GET", "api/me", alice)
        self.assertEqual((code, json.loads(answer)["code"]), (503, "unavailable"))
        code, answer = yield self.request("GET", "api/me", self.admin)
        self.assertEqual(code, 200)

        code, answer = yield self.request("GET", "slap/getComputerInformation?computer_id=X",
                                          alice)
        self.assertEqual(code, 503, answer)

        for answer in (answer,):
            self.assertNotIn(b"LDAP", answer)
            self.assertNotIn(b"Traceback", answer)

    @defer.inlineCallbacks
    def test_the_dashboard_login_says_the_directory_is_unavailable(self):
        import re

        import requests

        def login(login, password):
            with requests.Session() as session:
                session.headers["Connection"] = "close"
                form = session.get(self.base + "login", timeout=10)
                csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
                return session.post(self.base + "login", data={
                    "login": login, "password": password, "csrf": csrf},
                    allow_redirects=False, timeout=10)

        refused = yield threads.deferToThread(login, "alice", "alice-secret")
        self.assertEqual(refused.status_code, 503)
        self.assertIn("directory", refused.text)
        self.assertNotIn("Wrong login or password", refused.text)
        local = yield threads.deferToThread(login, *self.admin)
        self.assertEqual(local.status_code, 303)

    @defer.inlineCallbacks
    def test_syncml_answers_503(self):
        from tests.syncml.client import SyncMLClient, alert

        body = SyncMLClient(user="alice", password="alice-secret").body(alert(201))
        code, answer = yield self.request("POST", "syncml", None, body,
                                          "application/vnd.syncml+xml")
        self.assertEqual(code, 200)
        self.assertIn(b"<Data>503</Data>", answer)
        body = SyncMLClient(user=self.admin[0], password=self.admin[1]).body(alert(201))
        code, answer = yield self.request("POST", "syncml", None, body,
                                          "application/vnd.syncml+xml")
        self.assertIn(b"<Data>212</Data>", answer)
