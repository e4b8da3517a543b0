"""Personal API tokens: the token.* operations, and scripts logging in with a token.

The gateway tests run a real master on 127.0.0.1 and call it with the clients scripts use:
xmlrpc.client with the token as the Basic password in the URL, requests with a Bearer header for
REST and the SOAP and SLAP adaptors, zeep with HTTP Basic.
"""

import base64
import json
import os
import xmlrpc.client

from sqlalchemy import select
from twisted.internet import defer, threads
from twisted.trial import unittest

from gateway.server import local_admin
from slap_core import errors, tokens
from slap_core.models import ApiToken
from slap_core.principals import Anonymous, ComputerAgent, PartitionAgent, User
from tests.gateway import test_oidc
from tests.fixtures import MasterMixin, start_test_master


class TokenOperationTests(MasterMixin, unittest.TestCase):
    """token.create, token.list, token.revoke and token.authenticate in slap_core."""

    def setUp(self):
        super().setUp()
        self.call("person.create", self.admin, login="alice", password="pw")
        self.call("person.create", self.admin, login="bob", password="pw")
        self.call("person.create", self.admin, login="olivia", password="pw",
                  roles=["operator"])
        self.clock = [1_000_000.0]
        self.patch(tokens, "now", lambda: self.clock[0])

    def authenticate(self, token, **arguments):
        return self.call("token.authenticate", Anonymous(), token=token, **arguments)

    def test_the_secret_is_shown_at_creation_only_and_stored_as_a_digest(self):
        created = self.call("token.create", self.alice, label="ci")
        self.assertRegex(created.secret, r"^sgt_%s_[A-Za-z0-9_-]{43}$" % created.reference)
        self.assertEqual((created.login, created.label, created.expires_at), ("alice", "ci", None))
        listed = self.call("token.list", self.alice)
        self.assertEqual([view.reference for view in listed], [created.reference])
        self.assertIsNone(listed[0].secret)
        with self.master.storage.transaction(write=False) as session:
            row = session.scalar(select(ApiToken))
            stored = [getattr(row, column.key) for column in ApiToken.__table__.columns]
        self.assertNotIn(created.secret, stored)
        self.assertNotIn(created.secret.split("_", 2)[2], stored)
        self.assertEqual(row.secret_hash, tokens.digest(created.secret))

    def test_a_token_stands_for_its_owner_with_the_owners_roles(self):
        mine = self.call("token.create", self.operator, label="fleet")
        self.assertEqual(self.authenticate(mine.secret),
                         tokens.TokenIdentity("olivia", ("operator",), mine.reference))
        self.assertEqual(self.authenticate(mine.secret, login="olivia").login, "olivia")

    def test_last_use_is_recorded_at_most_once_a_minute(self):
        created = self.call("token.create", self.alice, label="ci")
        self.authenticate(created.secret)
        self.assertEqual(self.call("token.list", self.alice)[0].last_used_at, self.clock[0])
        first = self.clock[0]
        self.clock[0] += 30
        self.authenticate(created.secret)
        self.assertEqual(self.call("token.list", self.alice)[0].last_used_at, first)
        self.clock[0] += 31
        self.authenticate(created.secret)
        self.assertEqual(self.call("token.list", self.alice)[0].last_used_at, self.clock[0])

    def test_a_revoked_token_is_refused_and_listed_only_on_demand(self):
        created = self.call("token.create", self.alice, label="ci")
        revoked = self.call("token.revoke", self.alice, reference=created.reference)
        self.assertEqual(revoked.revoked_at, self.clock[0])
        error = self.assertRaises(errors.Unauthenticated, self.authenticate, created.secret)
        self.assertIn("revoked", str(error))
        self.assertEqual(self.call("token.list", self.alice), [])
        self.assertEqual(len(self.call("token.list", self.alice, include_revoked=True)), 1)
        # Revoking again changes nothing.
        again = self.call("token.revoke", self.alice, reference=created.reference)
        self.assertEqual(again.revoked_at, revoked.revoked_at)

    def test_a_token_expires(self):
        created = self.call("token.create", self.alice, label="short", expires_in=3600)
        self.assertEqual(created.expires_at, self.clock[0] + 3600)
        self.clock[0] += 3599
        self.authenticate(created.secret)
        self.clock[0] += 1
        error = self.assertRaises(errors.Unauthenticated, self.authenticate, created.secret)
        self.assertIn("expired", str(error))
        for bad in (0, -1, True, "3600", 11 * 366 * 86400.0):
            self.assertRaises(errors.Invalid, self.call, "token.create", self.alice,
                              label="x", expires_in=bad)

    def test_unknown_malformed_and_other_logins_tokens_are_unauthenticated(self):
        created = self.call("token.create", self.alice, label="ci")
        reference = created.reference
        forged = "sgt_%s_%s" % (reference, "A" * 43)
        for bad in ("", "sgt_", "sgt_x_", "sgt_%s_" % reference, forged, created.secret + "x",
                    "sgt_%s_%s" % ("0" * 16, created.secret.split("_", 2)[2]),
                    "sgt_" + "a" * 5000, "sgt_%s_%s" % (reference, "é" * 43), None, 42,
                    created.secret.upper()):
            self.assertRaises(errors.Unauthenticated, self.authenticate, bad)
        error = self.assertRaises(errors.Unauthenticated, self.authenticate, created.secret,
                                  login="bob")
        self.assertIn("not bob's", str(error))

    def test_each_user_sees_and_revokes_only_their_own_tokens_and_admin_anyones(self):
        alices = self.call("token.create", self.alice, label="a")
        bobs = self.call("token.create", self.bob, label="b")
        self.assertEqual([t.reference for t in self.call("token.list", self.bob)],
                         [bobs.reference])
        self.assertRaises(errors.Forbidden, self.call, "token.list", self.bob, login="alice")
        self.assertRaises(errors.NotFound, self.call, "token.revoke", self.bob,
                          reference=alices.reference)
        self.assertRaises(errors.NotFound, self.call, "token.revoke", self.operator,
                          reference=alices.reference)
        self.assertEqual({t.reference for t in self.call("token.list", self.admin)},
                         {alices.reference, bobs.reference})
        self.assertEqual([t.reference for t in self.call("token.list", self.admin,
                                                         login="alice")], [alices.reference])
        self.assertRaises(errors.NotFound, self.call, "token.list", self.admin, login="nobody")
        self.call("token.revoke", self.admin, reference=alices.reference)
        self.assertRaises(errors.Unauthenticated, self.authenticate, alices.secret)
        self.authenticate(bobs.secret)

    def test_only_an_admin_creates_tokens_for_someone_else(self):
        self.assertRaises(errors.Forbidden, self.call, "token.create", self.bob, label="x",
                          login="alice")
        created = self.call("token.create", self.admin, label="for alice", login="alice")
        self.assertEqual(self.authenticate(created.secret).login, "alice")
        self.assertRaises(errors.NotFound, self.call, "token.create", self.admin, label="x",
                          login="nobody")

    def test_agents_and_anonymous_callers_are_refused(self):
        created = self.call("token.create", self.alice, label="ci")
        for who in (Anonymous(), ComputerAgent("COMP-1"), PartitionAgent("COMP-1", "slappart0")):
            self.assertRaises(errors.Forbidden, self.call, "token.create", who, label="x")
            self.assertRaises(errors.Forbidden, self.call, "token.list", who)
            self.assertRaises(errors.Forbidden, self.call, "token.revoke", who,
                              reference=created.reference)

    def test_labels_are_checked(self):
        for bad in ("", "   ", "x" * 256, "a\nb", None):
            self.assertRaises(errors.Invalid, self.call, "token.create", self.alice, label=bad)
        self.assertEqual(self.call("token.create", self.alice, label=" ci ").label, "ci")

    def test_a_directory_user_gets_a_person_row_and_their_roles_of_that_moment(self):
        directory_admin = User("dora", {"admin"})
        created = self.call("token.create", directory_admin, label="automation")
        self.assertEqual(self.authenticate(created.secret).roles, ("admin",))

    def test_passwords_may_not_look_like_tokens(self):
        self.assertRaises(errors.Invalid, self.call, "person.create", self.admin, login="carol",
                          password="sgt_something")
        self.assertRaises(errors.Invalid, self.call, "person.set_password", self.alice,
                          login="alice", password="sgt_x")


SOAP_ME = (b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
           b'envelope/" xmlns:s="urn:slapgate:soap"><soap:Body><s:personMe/></soap:Body>'
           b"</soap:Envelope>")


def basic(login, password):
    """The value of a Basic Authorization header."""
    return b"Basic " + base64.b64encode(("%s:%s" % (login, password)).encode("utf-8"))


class GatewayTokenTests(unittest.TestCase):
    """Tokens through every adaptor of a started master."""

    timeout = 180

    def setUp(self):
        self.running = start_test_master(self)
        self.base = self.running.urls()[0]
        host = self.base.split("//", 1)[1].rstrip("/")
        self.host = host
        master = self.running.master
        master.call("person.create", local_admin(), login="alice", password="alice-pw")
        master.call("computer.create", User("alice"), reference="COMP-A")
        created = master.call("token.create", User("alice"), label="script")
        self.token, self.reference = created.secret, created.reference

    def http(self, method, path, authorization=None, **kwargs):
        """Deferred requests Response of one call (in a thread)."""
        import requests

        headers = {"Connection": "close"}
        headers.update(kwargs.pop("headers", {}))
        if authorization is not None:
            headers["Authorization"] = authorization
        return threads.deferToThread(requests.request, method, self.base + path,
                                     headers=headers, timeout=30, **kwargs)

    def xmlrpc_as(self, login, password, method="person.me", params=None):
        """Deferred result of an XML-RPC call with credentials in the URL, as scripts write it."""
        def call():
            url = "http://%s:%s@%s/xmlrpc" % (login, password, self.host)
            with xmlrpc.client.ServerProxy(url, allow_none=True) as proxy:
                return getattr(proxy, method)(*([params] if params is not None else []))
        return threads.deferToThread(call)

    def xmlrpc_header(self, authorization):
        """Deferred result of person.me over XML-RPC with this raw Authorization value."""
        def call():
            with xmlrpc.client.ServerProxy(self.base + "xmlrpc",
                                           headers=[("Authorization", authorization)]) as proxy:
                return proxy.person.me()
        return threads.deferToThread(call)

    @defer.inlineCallbacks
    def xmlrpc_fault(self, authorization):
        try:
            yield self.xmlrpc_header(authorization)
        except xmlrpc.client.Fault as fault:
            return fault
        self.fail("no fault")

    def slap(self, authorization):
        """Deferred Response of a SLAP user call."""
        return self.http("GET", "slap/getSoftwareReleaseListFromSoftwareProduct"
                         "?software_product_reference=nothing", authorization)

    def json_api(self, authorization):
        """Deferred Response of a /slap/ JSON API call alice may make (her computer's status)."""
        return self.http("POST", "slap/slapos.get.v0.compute_node_status", authorization,
                         data=json.dumps({"computer_guid": "COMP-A"}),
                         headers={"Content-Type": "application/json"})

    def zeep_me(self, login, password):
        """Deferred personMe through zeep with HTTP Basic."""
        def call():
            import requests
            import zeep
            from zeep.transports import Transport

            session = requests.Session()
            session.auth = (login, password)
            session.headers["Connection"] = "close"
            client = zeep.Client(self.base + "soap?wsdl", transport=Transport(session=session))
            return client.service.personMe()
        return threads.deferToThread(call)

    def suds_me(self, login, password):
        """Deferred personMe through suds with HTTP Basic (URL-safe Base64, as suds sends it)."""
        def call():
            from suds.client import Client
            from suds.transport.http import HttpAuthenticated

            transport = HttpAuthenticated(username=login, password=password)
            return Client(self.base + "soap?wsdl", transport=transport,
                          cache=None).service.personMe()
        return threads.deferToThread(call)

    @defer.inlineCallbacks
    def test_a_token_logs_in_on_every_adaptor(self):
        me = yield self.xmlrpc_as("alice", self.token)
        self.assertEqual(me["login"], "alice")
        me = yield self.xmlrpc_header("Bearer " + self.token)
        self.assertEqual(me["login"], "alice")
        response = yield self.http("GET", "api/me", "Bearer " + self.token)
        self.assertEqual((response.status_code, response.json()["login"]), (200, "alice"))
        response = yield self.http("GET", "api/me", basic("alice", self.token))
        self.assertEqual(response.status_code, 200, response.text)
        me = yield self.zeep_me("alice", self.token)
        self.assertEqual(me.login, "alice")
        me = yield self.suds_me("alice", self.token)
        self.assertEqual(me.login, "alice")
        response = yield self.http("POST", "soap", "Bearer " + self.token, data=SOAP_ME,
                                   headers={"Content-Type": "text/xml"})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertIn(b">alice<", response.content)
        response = yield self.slap("Bearer " + self.token)
        self.assertEqual(response.status_code, 200, response.text)
        response = yield self.slap(basic("alice", self.token))
        self.assertEqual(response.status_code, 200, response.text)
        response = yield self.json_api("Bearer " + self.token)
        self.assertEqual(response.status_code, 200, response.text)

    @defer.inlineCallbacks
    def test_tokens_are_managed_over_rest_xmlrpc_and_soap_with_a_token(self):
        response = yield self.http("POST", "api/tokens", "Bearer " + self.token,
                                   json={"label": "second", "expires_in": 86400})
        self.assertEqual(response.status_code, 201, response.text)
        second = response.json()
        self.assertEqual(response.headers["Location"], "/api/tokens/%s" % second["reference"])
        self.assertTrue(second["secret"].startswith("sgt_"))
        response = yield self.http("GET", "api/tokens", basic("alice", second["secret"]))
        self.assertEqual(sorted(t["reference"] for t in response.json()["items"]),
                         sorted([self.reference, second["reference"]]))
        self.assertTrue(all(t["secret"] is None for t in response.json()["items"]))
        listed = yield self.xmlrpc_as("alice", self.token, "token.list", {})
        self.assertEqual(len(listed), 2)
        third = yield self.xmlrpc_as("alice", self.token, "token.create", {"label": "third"})
        self.assertTrue(third["secret"].startswith("sgt_"))
        response = yield self.http("POST", "api/token-checks", json={"token": third["secret"]})
        self.assertEqual(response.json(), {"login": "alice", "roles": ["user"],
                                           "reference": third["reference"]})
        for body in ({}, {"label": ""}, {"label": "x", "expires_in": 0},
                     {"label": "x", "secret": "mine"}):
            response = yield self.http("POST", "api/tokens", "Bearer " + self.token, json=body)
            self.assertEqual(response.status_code, 422, (body, response.text))
        response = yield self.http("DELETE", "api/tokens/0123456789abcdef",
                                   "Bearer " + self.token)
        self.assertEqual(response.status_code, 404, response.text)
        response = yield self.http("GET", "api/tokens?login=admin", "Bearer " + self.token)
        self.assertEqual(response.status_code, 403, response.text)
        response = yield self.http("POST", "api/token-checks", json={"token": "sgt_x_"})
        self.assertEqual(response.status_code, 401, response.text)
        response = yield self.http("GET", "api/tokens")
        self.assertEqual(response.status_code, 401, response.text)

    @defer.inlineCallbacks
    def test_a_revoked_token_is_refused_on_the_next_call(self):
        me = yield self.xmlrpc_as("alice", self.token)
        self.assertEqual(me["login"], "alice")
        response = yield self.http("DELETE", "api/tokens/%s" % self.reference,
                                   "Bearer " + self.token)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertIsNotNone(response.json()["revoked_at"])
        try:
            yield self.xmlrpc_as("alice", self.token)
        except xmlrpc.client.Fault as fault:
            self.assertEqual(fault.faultCode, 401)
            self.assertIn("revoked", fault.faultString)
        else:
            self.fail("a revoked token logged in")
        response = yield self.http("GET", "api/me", "Bearer " + self.token)
        self.assertEqual(response.status_code, 401)
        self.assertIn("revoked", response.json()["detail"])
        response = yield self.slap("Bearer " + self.token)
        self.assertEqual(response.status_code, 401)

    @defer.inlineCallbacks
    def test_a_token_sent_with_another_login_is_refused(self):
        response = yield self.http("GET", "api/me", basic("bob", self.token))
        self.assertEqual(response.status_code, 401)
        response = yield self.http("GET", "api/me", basic("", self.token))
        self.assertEqual(response.status_code, 200)

    @defer.inlineCallbacks
    def test_malformed_tokens_are_401_in_each_protocols_idiom(self):
        huge = "sgt_" + "a" * 12000
        headers = ["Bearer sgt_", "Bearer sgt_x_", "Bearer " + huge,
                   "Bearer sgt_%s_%s" % (self.reference, "A" * 43),
                   "Bearer not-a-jwt-and-no-oidc", basic("alice", "sgt_"),
                   basic("alice", "sgt_x_"), basic("alice", "sgt_é")]
        raw = [b"Bearer sgt_\xff\xfe", b"Bearer sgt_" + "é".encode("utf-8") * 30]
        for header in headers + raw:
            response = yield self.http("GET", "api/me", header)
            self.assertEqual(response.status_code, 401, (header[:40], response.text))
            self.assertEqual(response.headers["Content-Type"], "application/problem+json")
            self.assertIn("API token", response.json()["detail"], header[:40])
            self.assertIn("WWW-Authenticate", response.headers)
            response = yield self.http("POST", "xmlrpc", header, data=xmlrpc.client.dumps(
                (), "person.me").encode(), headers={"Content-Type": "text/xml"})
            self.assertEqual(response.status_code, 200, header[:40])
            with self.assertRaises(xmlrpc.client.Fault) as raised:
                xmlrpc.client.loads(response.content)
            self.assertEqual(raised.exception.faultCode, 401, header[:40])
            response = yield self.http("POST", "soap", header, data=SOAP_ME,
                                       headers={"Content-Type": "text/xml"})
            self.assertEqual(response.status_code, 500, header[:40])
            self.assertIn(b"unauthenticated", response.content, header[:40])
            self.assertIn(b"Client", response.content, header[:40])
            response = yield self.slap(header)
            self.assertEqual(response.status_code, 401, header[:40])
            response = yield self.json_api(header)
            self.assertEqual(response.status_code, 401, (header[:40], response.text))


class TokensNextToSsoTests(test_oidc.SsoTestCase):
    """On a master with an OIDC provider, API tokens and the provider's JWTs both log in."""

    @defer.inlineCallbacks
    def test_a_directory_admin_makes_a_token_with_a_jwt_and_uses_it(self):
        jwt = yield self.token("alice-cli")
        created = yield self.xmlrpc("Bearer " + jwt, "token.create", {"label": "cron"})
        self.assertEqual(created["login"], "alice")
        people = yield self.xmlrpc("Bearer " + created["secret"], "person.list")
        self.assertIn("alice", [p["login"] for p in people])  # the admin role of that moment
        yield self.xmlrpc("Bearer " + jwt, "token.revoke", {"reference": created["reference"]})
        fault = yield self.fault("Bearer " + created["secret"])
        self.assertEqual(fault.faultCode, 401)
        self.assertIn("revoked", fault.faultString)
        fault = yield self.fault("Bearer not.a.jwt")  # other bearers still go to the provider
        self.assertEqual(fault.faultCode, 401)
        self.assertNotIn("API token", fault.faultString)


class AdminTokenCommandTests(unittest.TestCase):
    """``slapgate admin token``: create prints the secret once, list never, revoke ends it."""

    def setUp(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.database = os.path.join(directory, "m.sqlite")

    def admin(self, *arguments, code=0):
        import contextlib
        import io

        from gateway import cli

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result = cli.main(["admin", "--db", self.database, *arguments])
        self.assertEqual(result, code, err.getvalue())
        return json.loads(out.getvalue()) if code == 0 else err.getvalue()

    def test_create_list_revoke(self):
        from slap_core.master import Master

        self.admin("user", "add", "carol", "--role", "operator")
        created = self.admin("token", "create", "--user", "carol", "--name", "backup",
                             "--days", "2")
        self.assertTrue(created["secret"].startswith("sgt_%s_" % created["reference"]))
        self.assertAlmostEqual(created["expires_at"] - created["created_at"], 2 * 86400, 3)
        listed = self.admin("token", "list", "--user", "carol")
        self.assertEqual([(t["reference"], t["secret"]) for t in listed],
                         [(created["reference"], None)])
        master = Master(self.database)
        self.addCleanup(master.close)
        identity = master.call("token.authenticate", Anonymous(), token=created["secret"])
        self.assertEqual((identity.login, identity.roles), ("carol", ("operator",)))
        self.admin("token", "revoke", created["reference"])
        self.assertRaises(errors.Unauthenticated, master.call, "token.authenticate",
                          Anonymous(), token=created["secret"])
        self.assertEqual(self.admin("token", "list"), [])
        self.assertEqual(len(self.admin("token", "list", "--all")), 1)
        self.assertIn("not_found", self.admin("token", "create", "--user", "nobody", "--name",
                                              "x", code=1))
