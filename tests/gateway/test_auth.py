"""HTTP Basic against local users: principals, refusals and the short cache of good checks."""

import base64

from twisted.internet import defer
from twisted.trial import unittest
from twisted.web.test.requesthelper import DummyRequest

from gateway.auth import LocalPasswordAuthenticator
from slap_core import errors
from slap_core.principals import Anonymous, User
from tests.fixtures import MasterMixin


class CountingCalls:
    """Runs core calls synchronously and counts them (the real Master underneath)."""

    def __init__(self, master):
        self.master = master
        self.count = 0

    def call(self, name, principal, **arguments):
        self.count += 1
        return defer.maybeDeferred(self.master.call, name, principal, **arguments)


def basic(login, password):
    """A request carrying HTTP Basic credentials."""
    request = DummyRequest([b""])
    token = base64.b64encode(("%s:%s" % (login, password)).encode())
    request.requestHeaders.setRawHeaders(b"authorization", [b"Basic " + token])
    return request


class AuthenticatorTests(MasterMixin, unittest.TestCase):
    """LocalPasswordAuthenticator."""

    def setUp(self):
        super().setUp()
        self.call("person.create", self.admin, login="carol", password="pw",
                  roles=["operator"])
        self.now = [0.0]
        self.calls = CountingCalls(self.master)
        self.authenticator = LocalPasswordAuthenticator(self.calls, ttl=60,
                                                        clock=lambda: self.now[0])

    @defer.inlineCallbacks
    def test_good_credentials_give_the_user_with_roles(self):
        principal = yield self.authenticator.principal(basic("carol", "pw"))
        self.assertEqual(principal, User("carol", {"operator"}))

    @defer.inlineCallbacks
    def test_no_or_other_credentials_are_anonymous(self):
        principal = yield self.authenticator.principal(DummyRequest([b""]))
        self.assertIsInstance(principal, Anonymous)
        request = DummyRequest([b""])
        request.requestHeaders.setRawHeaders(b"authorization", [b"Bearer abc"])
        self.assertIsInstance((yield self.authenticator.principal(request)), Anonymous)

    def test_wrong_and_malformed_credentials_are_unauthenticated(self):
        self.failureResultOf(self.authenticator.principal(basic("carol", "nope")),
                             errors.Unauthenticated)
        request = DummyRequest([b""])
        request.requestHeaders.setRawHeaders(b"authorization", [b"Basic !!!"])
        self.failureResultOf(self.authenticator.principal(request), errors.Unauthenticated)

    @defer.inlineCallbacks
    def test_a_good_check_is_remembered_until_it_expires(self):
        yield self.authenticator.principal(basic("carol", "pw"))
        yield self.authenticator.principal(basic("carol", "pw"))
        self.assertEqual(self.calls.count, 1)
        self.now[0] = 61
        yield self.authenticator.principal(basic("carol", "pw"))
        self.assertEqual(self.calls.count, 2)

    @defer.inlineCallbacks
    def test_a_changed_password_is_not_served_from_the_cache(self):
        yield self.authenticator.principal(basic("carol", "pw"))
        self.call("person.set_password", self.admin, login="carol", password="new")
        self.failureResultOf(self.authenticator.principal(basic("carol", "wrong")),
                             errors.Unauthenticated)
        principal = yield self.authenticator.principal(basic("carol", "new"))
        self.assertEqual(principal.login, "carol")
