"""SSO: bearer tokens and the browser login against a real OpenID Connect provider on loopback.

Every token comes from tests/oidc_provider.py (authlib's authorization server): good ones, and
bad ones its clients are registered to mis-issue (expired, another audience, another issuer, a
key it does not publish). The master is started with an [oidc] configuration and called over
XML-RPC, SOAP and its /auth pages.
"""

import base64
import configparser
import json
import os
import xmlrpc.client

from twisted.internet import defer, threads
from twisted.trial import unittest

from gateway.config import ConfigError, load
from gateway.oidc import InvalidToken, OidcSettings, Provider, settings_from
from slap_core import errors
from tests.fixtures import start_test_master
from tests.oidc_provider import AUDIENCE, OidcProvider, ProviderUser, start_provider

SOAP_ME = ('<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
           'envelope/" xmlns:s="urn:slapgate:soap"><soap:Body><s:personMe/></soap:Body>'
           "</soap:Envelope>")


def b64(data):
    """Unpadded base64url of bytes or of a JSON-able value."""
    if not isinstance(data, bytes):
        data = json.dumps(data).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SsoTestCase(unittest.TestCase):
    """A provider with alice (slapgate-admins) and carol (no group), and a master trusting it."""

    timeout = 60
    master_settings = {}

    def setUp(self):
        self.provider = start_provider(self, users=[
            ProviderUser("alice", ["slapgate-admins"], "alice@example.org"),
            ProviderUser("carol", [])], default_user="alice")
        self.provider.register("alice-cli", acts_for="alice")
        self.provider.register("carol-cli", acts_for="carol")
        self.provider.register("expired-cli", acts_for="alice", lifetime=-600)
        self.provider.register("other-audience", acts_for="alice", audience="another-service")
        self.provider.register("other-issuer", acts_for="alice",
                               issuer="http://127.0.0.1:9/elsewhere")
        self.provider.register("rogue-cli", acts_for="alice",
                               rogue_key=OidcProvider._new_key())
        self.running = start_test_master(self, oidc=self.oidc_settings())
        self.base = self.running.urls()[0]
        self.provider.register("web", redirect_uris=[self.base + "auth/callback"])

    def oidc_settings(self, **overrides):
        values = dict(issuer=self.provider.issuer, audience=AUDIENCE,
                      roles={"slapgate-admins": "admin"}, refresh_interval=0.0, timeout=2.0,
                      client_id="web", client_secret="web-secret")
        values.update(self.master_settings)
        values.update(overrides)
        return OidcSettings(**values)

    def token(self, client_id):
        """Deferred access token issued by the provider to ``client_id``."""
        return threads.deferToThread(self.provider.client_credentials, client_id) \
            .addCallback(lambda answer: answer["access_token"])

    def xmlrpc(self, authorization, method, *args):
        """Deferred result of one XML-RPC call with this Authorization header."""
        def call():
            with xmlrpc.client.ServerProxy(self.base + "xmlrpc", headers=[
                    ("Authorization", authorization)]) as proxy:
                return getattr(proxy, method)(*args)
        return threads.deferToThread(call)

    @defer.inlineCallbacks
    def fault(self, authorization, method="person.me"):
        try:
            yield self.xmlrpc(authorization, method)
        except xmlrpc.client.Fault as fault:
            return fault
        self.fail("%s did not fault" % method)

    def soap(self, authorization):
        """Deferred requests Response to a SOAP personMe."""
        import requests

        def post():
            return requests.post(self.base + "soap", data=SOAP_ME, headers={
                "Content-Type": "text/xml", "Authorization": authorization,
                "Connection": "close"}, timeout=20)
        return threads.deferToThread(post)


class BearerTokenTests(SsoTestCase):
    """Access tokens on the XML-RPC and SOAP adaptors."""

    @defer.inlineCallbacks
    def test_a_valid_token_logs_in_over_xmlrpc_and_soap_with_the_groups_roles(self):
        token = yield self.token("alice-cli")
        me = yield self.xmlrpc("Bearer " + token, "person.me")
        self.assertEqual(me["login"], "alice")
        people = yield self.xmlrpc("Bearer " + token, "person.list")  # admins only
        self.assertIn("alice", [p["login"] for p in people])
        response = yield self.soap("Bearer " + token)
        self.assertEqual(response.status_code, 200, response.content)
        self.assertIn(b">alice<", response.content)
        # carol is in no mapped group: the default role, so no person.list.
        token = yield self.token("carol-cli")
        me = yield self.xmlrpc("Bearer " + token, "person.me")
        self.assertEqual(me["login"], "carol")
        fault = yield self.fault("Bearer " + token, "person.list")
        self.assertEqual(fault.faultCode, 403)

    @defer.inlineCallbacks
    def test_basic_credentials_still_go_to_the_local_users(self):
        login, password = self.running.credentials
        basic = "Basic " + base64.b64encode(("%s:%s" % (login, password)).encode()).decode()
        me = yield self.xmlrpc(basic, "person.me")
        self.assertEqual(me["login"], login)
        fault = yield self.fault("Basic " + base64.b64encode(b"admin:wrong").decode())
        self.assertEqual(fault.faultCode, 401)

    @defer.inlineCallbacks
    def assertRefused(self, client_id, words):
        token = yield self.token(client_id)
        fault = yield self.fault("Bearer " + token)
        self.assertEqual(fault.faultCode, 401, fault.faultString)
        self.assertIn(words, fault.faultString)
        response = yield self.soap("Bearer " + token)
        self.assertEqual(response.status_code, 500)
        self.assertIn(b"Client</faultcode>", response.content)
        self.assertIn(b"<slap:code>unauthenticated</slap:code>", response.content)
        self.assertIn(words.encode(), response.content)

    def test_an_expired_token_is_refused(self):
        return self.assertRefused("expired-cli", "expired")

    def test_a_token_for_another_audience_is_refused(self):
        return self.assertRefused("other-audience", "aud claim")

    def test_a_token_from_another_issuer_is_refused(self):
        return self.assertRefused("other-issuer", "iss claim")

    def test_a_token_signed_with_an_unpublished_key_is_refused(self):
        return self.assertRefused("rogue-cli", "key the provider does not publish")

    @defer.inlineCallbacks
    def test_a_rotated_key_is_fetched_and_accepted_and_a_retired_one_refused(self):
        first = yield self.token("alice-cli")
        me = yield self.xmlrpc("Bearer " + first, "person.me")
        self.assertEqual(me["login"], "alice")
        self.assertEqual(self.provider.count("/jwks"), 1)
        self.provider.rotate(retire=True)
        second = yield self.token("alice-cli")
        me = yield self.xmlrpc("Bearer " + second, "person.me")
        self.assertEqual(me["login"], "alice")
        self.assertEqual(self.provider.count("/jwks"), 2)
        # The master still holds the retired key until it refetches: the next unknown key id
        # makes it fetch again, and the retired key is gone from what it holds then.
        self.provider.register("rogue-2", acts_for="alice", rogue_key=OidcProvider._new_key())
        yield self.assertRefused("rogue-2", "does not publish")
        fault = yield self.fault("Bearer " + first)
        self.assertEqual(fault.faultCode, 401)

    @defer.inlineCallbacks
    def test_a_provider_down_when_keys_are_needed_is_503_and_known_keys_still_work(self):
        known = yield self.token("alice-cli")
        yield self.xmlrpc("Bearer " + known, "person.me")
        self.provider.rotate()
        rotated = yield self.token("alice-cli")
        yield threads.deferToThread(self.provider.stop)
        fault = yield self.fault("Bearer " + rotated)
        self.assertEqual(fault.faultCode, 503, fault.faultString)
        self.assertIn("did not answer", fault.faultString)
        response = yield self.soap("Bearer " + rotated)
        self.assertIn(b"Server</faultcode>", response.content)
        self.assertIn(b"<slap:code>unavailable</slap:code>", response.content)
        me = yield self.xmlrpc("Bearer " + known, "person.me")
        self.assertEqual(me["login"], "alice")

    @defer.inlineCallbacks
    def test_malformed_and_forged_tokens_are_refused(self):
        token = yield self.token("alice-cli")
        header, payload, _signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        kid = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
        unsigned = "%s.%s." % (b64({"alg": "none", "kid": kid}), b64(claims))
        # HS256 "signed" with the provider's public key: the classic algorithm confusion.
        import hashlib
        import hmac
        public = json.dumps(self.provider.jwks()["keys"][0]).encode()
        signing_input = "%s.%s" % (b64({"alg": "HS256", "kid": kid}), b64(claims))
        confused = signing_input + "." + b64(hmac.new(public, signing_input.encode(),
                                                      hashlib.sha256).digest())
        tampered = "%s.%s.%s" % (header, b64(dict(claims, groups=["slapgate-admins", "x"],
                                                     preferred_username="carol")), _signature)
        for bad in ("Bearer ", "Bearer abc", "Bearer a.b.c", "Bearer " + unsigned,
                    "Bearer " + confused, "Bearer " + tampered, "Bearer \u00e9t\u00e9"):
            fault = yield self.fault(bad)
            self.assertEqual(fault.faultCode, 401, (bad, fault.faultString))


class KeyStoreTests(unittest.TestCase):
    """gateway.oidc.Provider against the real provider, with a clock the test moves."""

    timeout = 60

    def setUp(self):
        from twisted.internet import reactor

        self.provider = start_provider(self)
        self.now = [1000.0]
        settings = OidcSettings(issuer=self.provider.issuer, audience=AUDIENCE, timeout=2.0,
                                refresh_interval=10.0, jwks_ttl=100.0)
        self.keys = Provider(settings, reactor, clock=lambda: self.now[0])

    @defer.inlineCallbacks
    def test_concurrent_needs_share_one_fetch_and_old_keys_expire(self):
        kid = self.provider.signing_key.kid
        first, second = yield defer.gatherResults([self.keys.key_for(kid, "RS256"),
                                                   self.keys.key_for(kid, "RS256")])
        self.assertIs(first, second)
        self.assertEqual(self.provider.count("/jwks"), 1)
        self.assertEqual(self.provider.count("/.well-known/openid-configuration"), 1)
        self.now[0] += 50
        yield self.keys.key_for(kid, "RS256")
        self.assertEqual(self.provider.count("/jwks"), 1)
        self.now[0] += 60  # past jwks_ttl: fetched again
        yield self.keys.key_for(kid, "RS256")
        self.assertEqual(self.provider.count("/jwks"), 2)

    @defer.inlineCallbacks
    def test_keys_past_their_ttl_still_work_while_the_provider_is_down(self):
        kid = self.provider.signing_key.kid
        yield self.keys.key_for(kid, "RS256")
        yield threads.deferToThread(self.provider.stop)
        self.now[0] += 500
        key = yield self.keys.key_for(kid, "RS256")
        self.assertEqual(key.kid, kid)
        try:
            yield self.keys.key_for("unknown", "RS256")
        except InvalidToken as error:  # within refresh_interval of the failed attempt
            self.assertIn("does not publish", str(error))
        else:
            self.fail("an unknown key was accepted")
        self.now[0] += 20
        try:
            yield self.keys.key_for("unknown", "RS256")
        except errors.Unavailable as error:
            self.assertIn("did not answer", str(error))
        else:
            self.fail("an unknown key was accepted")

    @defer.inlineCallbacks
    def test_no_keys_and_no_provider_is_unavailable_without_hammering(self):
        yield threads.deferToThread(self.provider.stop)
        for _ in range(2):
            try:
                yield self.keys.key_for("k", "RS256")
            except errors.Unavailable:
                pass
            else:
                self.fail("a key was found without a provider")


class RateLimitTests(SsoTestCase):
    """Unknown key ids cost the provider one key fetch per refresh_interval."""

    master_settings = {"refresh_interval": 300.0}

    @defer.inlineCallbacks
    def test_unknown_key_ids_do_not_flood_the_provider(self):
        for _ in range(3):
            token = yield self.token("rogue-cli")
            fault = yield self.fault("Bearer " + token)
            self.assertEqual(fault.faultCode, 401)
        self.assertEqual(self.provider.count("/jwks"), 1)
        token = yield self.token("alice-cli")
        me = yield self.xmlrpc("Bearer " + token, "person.me")
        self.assertEqual(me["login"], "alice")
        self.assertEqual(self.provider.count("/jwks"), 1)


class KeyFileTests(SsoTestCase):
    """Keys read from a file instead of the provider (re-read when a key id is unknown)."""

    def oidc_settings(self, **overrides):
        self.jwks_file = os.path.abspath(self.mktemp())
        self.write_keys()
        return super().oidc_settings(jwks_file=self.jwks_file, **overrides)

    def write_keys(self):
        with open(self.jwks_file, "w") as stream:
            json.dump(self.provider.jwks(), stream)

    @defer.inlineCallbacks
    def test_keys_from_a_file_and_their_rotation(self):
        token = yield self.token("alice-cli")
        me = yield self.xmlrpc("Bearer " + token, "person.me")
        self.assertEqual(me["login"], "alice")
        self.provider.rotate()
        token = yield self.token("alice-cli")
        fault = yield self.fault("Bearer " + token)
        self.assertEqual(fault.faultCode, 401)
        self.write_keys()
        me = yield self.xmlrpc("Bearer " + token, "person.me")
        self.assertEqual(me["login"], "alice")
        self.assertEqual(self.provider.count("/jwks"), 0)


class WebLoginTests(SsoTestCase):
    """The authorization-code login of the web pages, driven like a browser."""

    def browser(self):
        import requests

        session = requests.Session()
        self.addCleanup(session.close)
        return session

    @defer.inlineCallbacks
    def test_login_me_and_logout(self):
        browser = self.browser()
        response = yield threads.deferToThread(browser.get, self.base + "auth/me")
        self.assertEqual(response.status_code, 401)
        self.assertTrue(response.headers["WWW-Authenticate"].startswith("Bearer"))

        response = yield threads.deferToThread(browser.get, self.base + "auth/login?next=/health")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.url, self.base + "health")
        hops = [r.url.split("?")[0] for r in response.history]
        self.assertEqual(hops, [self.base + "auth/login", self.provider.issuer + "/authorize",
                                self.base + "auth/callback"])
        login = response.history[0]
        self.assertIn("code_challenge_method=S256", login.headers["Location"])
        self.assertIn("nonce=", login.headers["Location"])
        session_cookie = response.history[2].headers["Set-Cookie"]
        self.assertIn("slapgate_session=", session_cookie)
        self.assertIn("HttpOnly", session_cookie)
        self.assertIn("SameSite=lax", session_cookie.replace("Lax", "lax"))

        me = yield threads.deferToThread(browser.get, self.base + "auth/me")
        self.assertEqual(me.status_code, 200, me.text)
        self.assertEqual((me.json()["login"], me.json()["roles"]), ("alice", ["admin"]))

        response = yield threads.deferToThread(browser.get, self.base + "auth/logout")
        self.assertEqual(response.status_code, 200)
        me = yield threads.deferToThread(browser.get, self.base + "auth/me")
        self.assertEqual(me.status_code, 401)

    @defer.inlineCallbacks
    def test_the_dashboard_offers_sso_and_shares_its_session(self):
        browser = self.browser()
        form = yield threads.deferToThread(browser.get, self.base + "login?next=/services")
        self.assertIn('href="/auth/login?next=/services" id="sso"', form.text)
        page = yield threads.deferToThread(browser.get,
                                           self.base + "auth/login?next=/services")
        self.assertEqual((page.status_code, page.url), (200, self.base + "services"))
        self.assertIn("<span>alice</span>", page.text)

    @defer.inlineCallbacks
    def test_another_person_logs_in_with_a_login_hint(self):
        browser = self.browser()
        yield threads.deferToThread(browser.get, self.base + "auth/login?login_hint=carol")
        me = yield threads.deferToThread(browser.get, self.base + "auth/me")
        self.assertEqual((me.json()["login"], me.json()["roles"]), ("carol", ["user"]))

    @defer.inlineCallbacks
    def test_a_login_the_provider_refuses_opens_no_session(self):
        browser = self.browser()
        response = yield threads.deferToThread(browser.get,
                                               self.base + "auth/login?login_hint=mallory")
        self.assertEqual(response.status_code, 401, response.text)
        self.assertIn("access_denied", response.json()["message"])
        self.assertIn("/auth/callback?error=access_denied", response.url)
        me = yield threads.deferToThread(browser.get, self.base + "auth/me")
        self.assertEqual(me.status_code, 401)

    @defer.inlineCallbacks
    def test_a_callback_without_its_login_is_refused(self):
        browser = self.browser()
        # The provider's answer to a login started by another browser: this one has no cookie.
        other = self.browser()
        response = yield threads.deferToThread(other.get, self.base + "auth/login",
                                               allow_redirects=False)
        authorize = yield threads.deferToThread(other.get, response.headers["Location"],
                                                allow_redirects=False)
        callback = authorize.headers["Location"]
        self.assertIn("/auth/callback?code=", callback)
        response = yield threads.deferToThread(browser.get, callback)
        self.assertEqual(response.status_code, 400)
        me = yield threads.deferToThread(browser.get, self.base + "auth/me")
        self.assertEqual(me.status_code, 401)
        response = yield threads.deferToThread(browser.get, self.base + "auth/callback?state=x")
        self.assertEqual(response.status_code, 400)

    @defer.inlineCallbacks
    def test_me_takes_bearer_tokens_and_challenges_bad_ones(self):
        import requests

        token = yield self.token("alice-cli")
        me = yield threads.deferToThread(requests.get, self.base + "auth/me", headers={
            "Authorization": "Bearer " + token})
        self.assertEqual(me.json()["login"], "alice")
        token = yield self.token("expired-cli")
        me = yield threads.deferToThread(requests.get, self.base + "auth/me", headers={
            "Authorization": "Bearer " + token})
        self.assertEqual(me.status_code, 401)
        self.assertIn('error="invalid_token"', me.headers["WWW-Authenticate"])


class SettingsTests(unittest.TestCase):
    """The [oidc] section of the master's configuration file."""

    def section(self, text):
        parser = configparser.ConfigParser()
        parser.read_string("[oidc]\n" + text)
        return parser["oidc"]

    def test_roles_algorithms_and_defaults(self):
        parsed = settings_from(self.section(
            "issuer = https://id.example.org/realms/ops\naudience = slapgate\n"
            "role.admin = ops-admins\nrole.operator =\n  sre\n  oncall\ndefault_role =\n"
            "algorithms = RS256 ES256\nleeway = 30\nclient_id = slapgate-web\n"))
        self.assertEqual(parsed.roles, {"ops-admins": "admin", "sre": "operator",
                                        "oncall": "operator"})
        self.assertEqual((parsed.default_role, parsed.algorithms, parsed.leeway,
                          parsed.login_claim, parsed.roles_claim, parsed.client_id),
                         ("", ("RS256", "ES256"), 30.0, "preferred_username", "groups",
                          "slapgate-web"))
        self.assertEqual(parsed.discovery_url,
                         "https://id.example.org/realms/ops/.well-known/openid-configuration")

    def test_mistakes_are_config_errors(self):
        base = "issuer = https://id.example.org\naudience = slapgate\n"
        for text in ("issuer = https://id.example.org\n", base + "algorithms = HS256\n",
                     base + "algorithms = none\n", base + "role.root = x\n",
                     base + "leeway = soon\n", base + "default_role = god\n",
                     base + "jwks_url = https://a/jwks\njwks_file = /k.json\n",
                     "issuer = id.example.org\naudience = x\n", base + "timeout = 0\n"):
            self.assertRaises(ConfigError, settings_from, self.section(text))

    def test_the_master_configuration_file_reads_the_section(self):
        path = self.mktemp()
        with open(path, "w") as stream:
            stream.write("[master]\nlisten = 127.0.0.1:0\n[oidc]\n"
                         "issuer = https://id.example.org\naudience = slapgate\n")
        self.assertEqual(load(path).oidc.issuer, "https://id.example.org")


class ClaimsTests(unittest.TestCase):
    """Claims to principals, and the redirect target of a login."""

    def verifier(self, **overrides):
        from gateway.oidc import TokenVerifier

        values = dict(issuer="https://id.example.org", audience=AUDIENCE,
                      roles={"ops-admins": "admin", "sre": "operator"})
        values.update(overrides)
        return TokenVerifier(OidcSettings(**values), provider=None)

    def test_login_and_roles_from_configurable_claims(self):
        user = self.verifier().user({"sub": "s-1", "preferred_username": "alice",
                                     "groups": ["sre", "ops-admins", "other"]})
        self.assertEqual((user.login, user.roles), ("alice", {"admin", "operator"}))
        user = self.verifier().user({"sub": "s-2", "groups": "sre other"})
        self.assertEqual((user.login, user.roles), ("s-2", {"operator"}))
        keycloak = self.verifier(login_claim="email", roles_claim="realm_access.roles")
        user = keycloak.user({"sub": "s-3", "email": "bob@example.org",
                              "realm_access": {"roles": ["ops-admins"]}})
        self.assertEqual((user.login, user.roles), ("bob@example.org", {"admin"}))

    def test_nobody_and_people_without_a_role_are_refused(self):
        self.assertRaises(InvalidToken, self.verifier().user, {"preferred_username": ""})
        self.assertRaises(InvalidToken, self.verifier().user, {"sub": "a\nb"})
        self.assertRaises(errors.Forbidden, self.verifier(default_role="").user,
                          {"sub": "s-4", "groups": ["other"]})
        self.assertEqual(self.verifier().user({"sub": "s-4", "groups": 3}).roles, {"user"})

    def test_a_login_only_returns_to_local_paths(self):
        from gateway.web_login import local_path

        for target, expected in (("/health", "/health"), ("//evil.example/x", "/"),
                                 ("https://evil.example/", "/"), ("/\\evil.example", "/"),
                                 ("", "/"), ("health", "/")):
            self.assertEqual(local_path(target), expected)
