"""LDAP login against a real OpenLDAP slapd started by the test (ldap/throwaway-slapd).

The directory is checked alone (LdapDirectory, in a thread) and through a started master whose
XML-RPC and SOAP adaptors authenticate with it: good and bad passwords, unknown people, group
to role mapping, a directory that is down or too slow (503, never an allow).
"""

import configparser
import time
import xmlrpc.client

import pytest
from twisted.internet import defer, protocol, reactor, task, threads
from twisted.trial import unittest

from gateway.config import ConfigError
from gateway.ldap_auth import LdapDirectory, LdapSettings, settings_from
from slap_core import errors
from tests.fixtures import http_client, start_test_master
from tests.ldap_server import SERVICE_DN, SERVICE_PASSWORD, SUFFIX, start_slapd

GROUPS = "ou=groups," + SUFFIX


def settings(url, **overrides):
    """The settings of the sample directory at ``url``."""
    values = dict(
        url=url, user_base="ou=people," + SUFFIX, bind_dn=SERVICE_DN,
        bind_password=SERVICE_PASSWORD, group_base=GROUPS,
        roles={"cn=slapgate-admins," + GROUPS: "admin",
               "cn=slapgate-operators," + GROUPS: "operator",
               "cn=slapgate-users," + GROUPS: "user"},
        timeout=1.0)
    values.update(overrides)
    return LdapSettings(**values)


class DirectoryTests(unittest.TestCase):
    """LdapDirectory.authenticate against the sample organisation."""

    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        self.slapd = yield start_slapd(self)

    def authenticate(self, login, password, **overrides):
        directory = LdapDirectory(settings(self.slapd.url, **overrides))
        return threads.deferToThread(directory.authenticate, login, password)

    @defer.inlineCallbacks
    def refused(self, error_class, login, password, **overrides):
        try:
            yield self.authenticate(login, password, **overrides)
        except error_class as error:
            return error
        self.fail("%s was not refused" % login)

    @defer.inlineCallbacks
    def test_good_passwords_give_the_groups_roles(self):
        login, name, mail, roles = yield self.authenticate("alice", "alice-secret")
        self.assertEqual((login, name, mail, roles),
                         ("alice", "Alice Admin", "alice@example.org", {"admin", "user"}))
        answer = yield self.authenticate("bob", "bob-secret")
        self.assertEqual(answer[3], {"operator", "user"})
        answer = yield self.authenticate("carol", "carol-secret")
        self.assertEqual(answer[3], {"user"})

    @defer.inlineCallbacks
    def test_a_person_in_no_group_gets_the_default_role_or_is_refused(self):
        answer = yield self.authenticate("dave", "dave-secret")
        self.assertEqual(answer[3], {"user"})
        yield self.refused(errors.Forbidden, "dave", "dave-secret", default_role="")
        # Out of the users group but in no mapped group either: the same.
        roles = {"cn=slapgate-admins," + GROUPS: "admin"}
        yield self.refused(errors.Forbidden, "carol", "carol-secret", default_role="",
                           roles=roles)
        answer = yield self.authenticate("alice", "alice-secret", default_role="", roles=roles)
        self.assertEqual(answer[3], {"admin"})

    @defer.inlineCallbacks
    def test_wrong_password_unknown_person_and_empty_password_are_refused(self):
        yield self.refused(errors.Unauthenticated, "alice", "wrong")
        yield self.refused(errors.Unauthenticated, "mallory", "mallory-secret")
        # An empty password would be an anonymous ("unauthenticated") bind that succeeds.
        yield self.refused(errors.Unauthenticated, "alice", "")
        # Filter metacharacters are escaped: '*' matches nobody rather than everybody.
        yield self.refused(errors.Unauthenticated, "*", "alice-secret")
        yield self.refused(errors.Unauthenticated, "alice)(uid=*", "alice-secret")

    @defer.inlineCallbacks
    def test_a_wrong_service_account_is_unavailable_not_a_refusal(self):
        yield self.refused(errors.Unavailable, "alice", "alice-secret", bind_password="nope")

    @defer.inlineCallbacks
    def test_server_down_is_unavailable(self):
        yield self.slapd.stop()
        error = yield self.refused(errors.Unavailable, "alice", "alice-secret")
        self.assertIn("did not answer", str(error))

    @defer.inlineCallbacks
    def test_server_slow_is_unavailable_within_the_timeout(self):
        self.slapd.pause()
        started = time.monotonic()
        yield self.refused(errors.Unavailable, "alice", "alice-secret", timeout=1.0)
        self.assertLess(time.monotonic() - started, 8)
        self.slapd.resume()
        answer = yield self.authenticate("alice", "alice-secret")
        self.assertEqual(answer[0], "alice")


class MasterWithLdapTests(unittest.TestCase):
    """A master whose HTTP Basic logins are checked against the directory."""

    timeout = 60

    @defer.inlineCallbacks
    def setUp(self):
        self.slapd = yield start_slapd(self)
        self.running = start_test_master(self, ldap=settings(self.slapd.url))
        self.base = self.running.urls()[0]

    def xmlrpc(self, login, password, method, *args):
        """Deferred result of one XML-RPC call made in a thread."""
        url = self.base.replace("http://", "http://%s:%s@" % (login, password)) + "xmlrpc"

        def call():
            with xmlrpc.client.ServerProxy(url) as proxy:
                return getattr(proxy, method)(*args)
        return threads.deferToThread(call)

    @defer.inlineCallbacks
    def fault(self, login, password, method, *args):
        try:
            yield self.xmlrpc(login, password, method, *args)
        except xmlrpc.client.Fault as fault:
            return fault
        self.fail("%s did not fault" % method)

    @defer.inlineCallbacks
    def test_people_of_the_directory_log_in_with_their_roles(self):
        me = yield self.xmlrpc("alice", "alice-secret", "person.me")
        self.assertEqual(me["login"], "alice")
        people = yield self.xmlrpc("alice", "alice-secret", "person.list")  # admin only
        self.assertIn("alice", [p["login"] for p in people])
        fault = yield self.fault("carol", "carol-secret", "person.list")
        self.assertEqual(fault.faultCode, 403)
        fault = yield self.fault("carol", "wrong", "person.me")
        self.assertEqual(fault.faultCode, 401)
        # The master's local admin is not in the directory: a local account is checked locally.
        login, password = self.running.credentials
        me = yield self.xmlrpc(login, password, "person.me")
        self.assertEqual(me["login"], login)
        fault = yield self.fault(login, "not-the-password", "person.me")
        self.assertEqual(fault.faultCode, 401)

    @defer.inlineCallbacks
    def test_a_paused_directory_is_503_and_a_cached_login_still_works(self):
        yield self.xmlrpc("alice", "alice-secret", "person.me")
        # No resume in a finally: the cleanup's stop() resumes slapd first. After a timeout
        # that cleanup has already removed slapd, and a resume here hid the test's own failure.
        self.slapd.pause()
        fault = yield self.fault("bob", "bob-secret", "person.me")
        self.assertEqual(fault.faultCode, 503)
        me = yield self.xmlrpc("alice", "alice-secret", "person.me")
        self.assertEqual(me["login"], "alice")

    @defer.inlineCallbacks
    def test_a_stopped_directory_is_a_soap_server_fault(self):
        import requests

        yield self.slapd.stop()
        body = ('<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
                'envelope/" xmlns:s="urn:slapgate:soap"><soap:Body><s:personMe/></soap:Body>'
                "</soap:Envelope>")

        def post():
            return requests.post(self.base + "soap", data=body, auth=("alice", "alice-secret"),
                                 headers={"Content-Type": "text/xml", "Connection": "close"})
        response = yield threads.deferToThread(post)
        self.assertEqual(response.status_code, 500)
        self.assertIn(b"Server</faultcode>", response.content)
        self.assertIn(b"<slap:code>unavailable</slap:code>", response.content)


class SilentDirectory(protocol.Protocol):
    """A directory that accepts connections and never answers."""

    def connectionMade(self):
        self.factory.connections.append(self.transport)


@pytest.mark.slow
class HangingDirectoryTests(unittest.TestCase):
    """A directory that hangs must not take the master with it: 20 directory logins wait on it
    (timeout 2 s) while /health, the local admin and a token are answered as fast as without."""

    timeout = 120

    def setUp(self):
        factory = protocol.Factory.forProtocol(SilentDirectory)
        factory.connections = []
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.addCleanup(lambda: [t.abortConnection() for t in factory.connections])
        url = "ldap://127.0.0.1:%d" % port.getHost().port
        self.running = start_test_master(self, ldap=settings(url, timeout=2.0))
        self.base = self.running.urls()[0]
        self.client = http_client(self)

    @defer.inlineCallbacks
    def timed(self, method, path, auth=None, body=None):
        """(seconds, HTTP status, body) of one request."""
        started = time.monotonic()
        headers = {"Content-Type": ["text/xml"]} if body else None
        response = yield self.client.request(method, self.base + path, auth=auth, data=body,
                                             headers=headers)
        content = yield response.content()
        return time.monotonic() - started, response.code, content

    def xmlrpc_body(self, method):
        return xmlrpc.client.dumps((), method).encode()

    @defer.inlineCallbacks
    def fast_calls(self):
        """The seconds of /health, the local admin's person.me and a token's, one after the
        other."""
        admin = self.running.credentials
        health = yield self.timed("GET", "health")
        me = yield self.timed("POST", "xmlrpc", auth=admin, body=self.xmlrpc_body("person.me"))
        token = yield self.timed("POST", "xmlrpc", auth=("admin", self.token),
                                 body=self.xmlrpc_body("person.me"))
        for _, code, content in (health, me, token):
            self.assertEqual(code, 200, content[:300])
        self.assertNotIn(b"<fault>", me[2] + token[2])
        return [health[0], me[0], token[0]]

    @defer.inlineCallbacks
    def test_others_are_answered_while_directory_logins_wait(self):
        from slap_core.principals import User

        self.token = self.running.master.call("token.create", User("admin", {"admin"}),
                                              label="script").secret
        before = yield self.fast_calls()
        logins = [self.timed("POST", "xmlrpc", auth=("alice", "alice-secret"),
                             body=self.xmlrpc_body("person.me")) for _ in range(20)]
        yield task.deferLater(reactor, 0.3, lambda: None)  # the logins reach the directory
        during = yield self.fast_calls()
        answers = yield defer.gatherResults(logins)
        print("fast calls before %s, while 20 logins hang %s (seconds)" % (
            ["%.3f" % t for t in before], ["%.3f" % t for t in during]))
        for _, code, content in answers:
            self.assertEqual(code, 200)
            self.assertIn(b"<fault>", content)
            self.assertIn(b"<int>503</int>", content)
            self.assertIn(b"the directory did not answer", content)
            self.assertNotIn(b"LDAP", content)
        # the logins waited for the directory's timeout; the others did not wait for them
        self.assertGreaterEqual(max(seconds for seconds, _, _ in answers), 2.0)
        self.assertLess(max(during), 1.0)


class SettingsTests(unittest.TestCase):
    """The [ldap] section of the master's configuration file."""

    def section(self, text):
        parser = configparser.ConfigParser()
        parser.read_string("[ldap]\n" + text)
        return parser["ldap"]

    def test_roles_and_defaults(self):
        parsed = settings_from(self.section(
            "url = ldap://127.0.0.1:389\nuser_base = ou=people,dc=example,dc=org\n"
            "role.admin = cn=Admins,ou=groups,dc=example,dc=org\n"
            "role.operator =\n  cn=ops,ou=groups,dc=example,dc=org\n"
            "  cn=sre,ou=groups,dc=example,dc=org\ndefault_role =\ntimeout = 2.5\n"))
        self.assertEqual(parsed.roles, {"cn=admins,ou=groups,dc=example,dc=org": "admin",
                                        "cn=ops,ou=groups,dc=example,dc=org": "operator",
                                        "cn=sre,ou=groups,dc=example,dc=org": "operator"})
        self.assertEqual((parsed.default_role, parsed.timeout, parsed.user_filter),
                         ("", 2.5, "(uid={login})"))

    def test_mistakes_are_config_errors(self):
        for text in ("url = ldap://x\n", "url = ldap://x\nuser_base = o=x\nrole.root = cn=x\n",
                     "url = ldap://x\nuser_base = o=x\ntimeout = soon\n",
                     "url = ldap://x\nuser_base = o=x\ndefault_role = god\n"):
            self.assertRaises(ConfigError, settings_from, self.section(text))
