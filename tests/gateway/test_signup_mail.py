"""Sign-up over the wire with a real SMTP server on loopback (aiosmtpd): the mail with the key
arrives, its key opens the account, the welcome mail follows; a server that is away delays a
mail without losing it; sign-ups are throttled per client address."""

import json
import re
import time
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from gateway.mail import SignupSection, SmtpSettings
from tests.fixtures import http_client, start_test_master
from tests.upstream import _free_port as free_port


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's name)
        """Keep the message."""
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


class SignupMailTests(unittest.TestCase):
    """A master in automatic mode whose mail goes to an SMTP server on loopback."""

    timeout = 60

    def setUp(self):
        self.inbox, self.port = Inbox(), free_port()
        self.smtp = None

    def start_smtp(self):
        self.smtp = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.smtp.start()
        self.addCleanup(self.smtp.stop)

    def start(self, mode="automatic"):
        self.running = start_test_master(
            self, signup=SignupSection(mode=mode),
            smtp=SmtpSettings(host="127.0.0.1", port=self.port, sender="master@example.org",
                              timeout=5, interval=0.5))
        self.addCleanup(task.deferLater, reactor, 0.05, lambda: None)
        self.base = self.running.urls()[0]

    @defer.inlineCallbacks
    def mail(self, count):
        """Wait (up to 10 s) until ``count`` messages arrived; the last one."""
        deadline = time.monotonic() + 10
        while len(self.inbox.messages) < count:
            if time.monotonic() > deadline:
                self.fail("%d message(s) arrived, not %d" % (len(self.inbox.messages), count))
            yield task.deferLater(reactor, 0.1, lambda: None)
        return self.inbox.messages[count - 1]

    def post(self, path, body, auth=None):
        return http_client(self).post(self.base + "api/" + path, data=json.dumps(body).encode(),
                                      headers={"Content-Type": ["application/json"]},
                                      auth=auth)

    @defer.inlineCallbacks
    def test_the_mailed_key_opens_the_account(self):
        self.start_smtp()
        self.start()
        response = yield self.post("signups", {"login": "carol", "email": "carol@example.org",
                                               "password": "carol-secret",
                                               "full_name": "Carol C."})
        request = yield response.json()
        self.assertEqual((response.code, request["state"]), (201, "unconfirmed"))
        recipients, message = yield self.mail(1)
        self.assertEqual((recipients, message["From"], message["Subject"]),
                         (["carol@example.org"], "master@example.org",
                          "Confirm your address to open your account"))
        link = re.search(r"(http://\S+/signup/confirm\?key=(\S+))", message.get_content())
        self.assertTrue(link.group(1).startswith(self.base), link.group(1))
        response = yield self.post("signup-confirmations", {"key": link.group(2)})
        self.assertEqual((response.code, (yield response.json())["state"]), (200, "accepted"))
        recipients, welcome = yield self.mail(2)
        self.assertEqual(welcome["Subject"], "Your account is open")
        response = yield http_client(self).get(self.base + "api/me",
                                               auth=("carol", "carol-secret"))
        self.assertEqual((response.code, (yield response.json())["roles"]), (200, ["user"]))
        # the key works once
        response = yield self.post("signup-confirmations", {"key": link.group(2)})
        self.assertEqual(response.code, 404)
        yield response.content()

    @defer.inlineCallbacks
    def test_a_mail_waits_for_a_server_that_is_away(self):
        self.start()
        response = yield self.post("signups", {"login": "dave", "email": "dave@example.org",
                                               "password": "dave-secret"})
        self.assertEqual(response.code, 201)
        yield response.content()
        admin = self.running.credentials
        deadline = time.monotonic() + 10
        while True:
            response = yield http_client(self).get(self.base + "api/outbox", auth=admin)
            (mail,) = (yield response.json())["items"]
            if mail["attempts"]:
                break
            self.assertLess(time.monotonic(), deadline, "no attempt recorded")
            yield task.deferLater(reactor, 0.1, lambda: None)
        self.assertIn("refused", mail["last_error"].lower())
        self.start_smtp()
        recipients, message = yield self.mail(1)
        self.assertEqual(recipients, ["dave@example.org"])

    @defer.inlineCallbacks
    def test_throttled_per_address_and_closed_without_the_section(self):
        self.start_smtp()
        self.start(mode="approval")
        for number in range(5):
            response = yield self.post("signups", {
                "login": "user%d" % number, "email": "u%d@example.org" % number,
                "password": "a-long-secret"})
            self.assertEqual(response.code, 201)
            yield response.content()
        response = yield self.post("signups", {"login": "user5", "email": "u5@example.org",
                                               "password": "a-long-secret"})
        self.assertEqual((response.code, response.headers.getRawHeaders("retry-after")),
                         (429, ["3600"]))
        yield response.content()
        closed = start_test_master(self)
        response = yield http_client(self).post(
            closed.urls()[0] + "api/signups", headers={"Content-Type": ["application/json"]},
            data=json.dumps({"login": "eve", "email": "eve@example.org",
                             "password": "eve-secret-1"}).encode())
        self.assertEqual(response.code, 403)
        yield response.content()
