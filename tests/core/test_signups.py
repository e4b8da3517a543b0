"""Sign-up in the core: closed by default, the mailed key, approval or automatic acceptance,
uniqueness, throttling, expiry; and the outbox the mails go through."""

import re
import time
from unittest import mock

from slap_core import errors
from slap_core.principals import Anonymous, User
from slap_core.signups import SIGNUP, SignupSettings
from tests.fixtures import MasterTestCase

VISITOR = Anonymous(address="192.0.2.7")


class SignupTests(MasterTestCase):
    """A master with mail, in approval mode unless a test says otherwise."""

    def setUp(self):
        super().setUp()
        self.configure(mode="approval", mail=True)
        self.call("person.create", self.admin, login="admin", email="admin@example.org",
                  roles=["admin"])

    def configure(self, **settings):
        settings.setdefault("public_url", "https://master.example.org/")
        self.master.storage.session_info[SIGNUP] = SignupSettings(**settings)

    def sign_up(self, principal=VISITOR, **arguments):
        arguments.setdefault("login", "carol")
        arguments.setdefault("email", "carol@example.org")
        arguments.setdefault("password", "carol-secret")
        return self.call("signup.request", principal, full_name="Carol C.", **arguments)

    def mails(self):
        return self.call("outbox.pending", self.admin)

    def key_of(self, mail):
        return re.search(r"/signup/confirm\?key=([A-Za-z0-9_-]+)", mail.body).group(1)

    def test_closed_by_default(self):
        del self.master.storage.session_info[SIGNUP]
        self.assertRaises(errors.Forbidden, self.sign_up)

    def test_the_mailed_key_then_an_admin_accepts(self):
        request = self.sign_up()
        self.assertEqual((request.state, request.login), ("unconfirmed", "carol"))
        (mail,) = self.mails()
        self.assertEqual(mail.recipient, "carol@example.org")
        self.assertIn("https://master.example.org/signup/confirm?key=", mail.body)
        self.call("outbox.record_attempt", self.admin, number=mail.number)
        confirmed = self.call("signup.confirm", Anonymous(), key=self.key_of(mail))
        self.assertEqual(confirmed.state, "pending")
        (notice,) = self.mails()  # the admins are told
        self.assertEqual(notice.recipient, "admin@example.org")
        self.assertIn(request.reference, notice.body)
        self.assertRaises(errors.NotFound, self.call, "signup.confirm", Anonymous(),
                          key=self.key_of(mail))  # used
        self.assertEqual([s.reference for s in self.call("signup.list", self.admin,
                                                           state="pending")],
                         [request.reference])
        accepted = self.call("signup.accept", self.admin, reference=request.reference)
        self.assertEqual((accepted.state, accepted.decided_by), ("accepted", "admin"))
        person = self.call("person.get", self.admin, login="carol")
        self.assertEqual((person.roles, person.email, person.full_name),
                         (("user",), "carol@example.org", "Carol C."))
        self.assertEqual(self.call("person.check_password", Anonymous(), login="carol",
                                   password="carol-secret").login, "carol")
        self.assertIn("Your account is open", [m.subject for m in self.mails()])
        self.assertRaises(errors.Conflict, self.call, "signup.accept", self.admin,
                          reference=request.reference)

    def test_automatic_mode_opens_the_account_on_confirmation(self):
        self.configure(mode="automatic", mail=True)
        self.sign_up(country="FR")
        (mail,) = self.mails()
        confirmed = self.call("signup.confirm", Anonymous(), key=self.key_of(mail))
        self.assertEqual(confirmed.state, "accepted")
        self.assertEqual(self.call("billing.get_profile", User("carol")).country, "FR")

    def test_without_mail_an_admin_decides(self):
        self.configure(mode="automatic", mail=False)
        request = self.sign_up()
        self.assertEqual((request.state, self.mails()), ("pending", []))
        rejected = self.call("signup.reject", self.admin, reference=request.reference,
                             reason="unknown organisation")
        self.assertEqual((rejected.state, rejected.reason), ("rejected", "unknown organisation"))
        self.assertRaises(errors.NotFound, self.call, "person.get", self.admin, login="carol")
        self.assertEqual(self.sign_up().state, "pending")  # a rejected request frees both

    def test_login_and_email_unique(self):
        self.sign_up()
        self.assertRaises(errors.Conflict, self.sign_up, email="other@example.org")
        self.assertRaises(errors.Conflict, self.sign_up, login="carol2",
                          email="CAROL@example.org")
        self.assertRaises(errors.Conflict, self.sign_up, login="admin",
                          email="x@example.org")
        self.assertRaises(errors.Conflict, self.sign_up, login="dave",
                          email="admin@example.org")

    def test_bad_input(self):
        for arguments in (dict(password="short"), dict(password="sgt_abcdefghijk"),
                          dict(email="nobody"), dict(email=""), dict(login=" carol"),
                          dict(login="a\nb"), dict(login=""), dict(country="ZZ"),
                          dict(login=42)):
            self.assertRaises(errors.Invalid, self.sign_up, **arguments)
        for key in ("", "forged", "x" * 300, 3):
            self.assertRaises(errors.NotFound, self.call, "signup.confirm", Anonymous(),
                              key=key)
        self.assertRaises(errors.NotFound, self.call, "signup.accept", self.admin,
                          reference="SIGNUP-99")

    def test_an_unconfirmed_request_expires_after_a_week(self):
        with mock.patch("slap_core.signups.now", return_value=time.time() - 8 * 86400):
            self.sign_up()
        (mail,) = self.mails()
        self.assertRaises(errors.NotFound, self.call, "signup.confirm", Anonymous(),
                          key=self.key_of(mail))
        self.assertEqual([s.state for s in self.call("signup.list", self.admin)], ["expired"])
        self.assertEqual(self.sign_up().state, "unconfirmed")  # the login is free again

    def test_throttled_per_address(self):
        for number in range(5):
            self.sign_up(login="user%d" % number, email="u%d@example.org" % number)
        with self.assertRaises(errors.TooManyRequests) as refused:
            self.sign_up(login="user5", email="u5@example.org")
        self.assertEqual(refused.exception.retry_after, 3600)
        self.sign_up(Anonymous(address="192.0.2.8"), login="user6", email="u6@example.org")

    def test_only_admins_list_and_decide(self):
        request = self.sign_up()
        for name, arguments in (("signup.list", {}),
                                ("signup.accept", dict(reference=request.reference)),
                                ("signup.reject", dict(reference=request.reference)),
                                ("outbox.pending", {})):
            self.assertRaises(errors.Forbidden, self.call, name, self.alice, **arguments)


class OutboxTests(MasterTestCase):
    """Mails are tried until sent, up to ten times."""

    def test_attempts_then_sent(self):
        self.master.storage.session_info[SIGNUP] = SignupSettings(mode="approval", mail=True)
        self.call("signup.request", Anonymous(), login="erin", email="erin@example.org",
                  password="erin-secret")
        (mail,) = self.call("outbox.pending", self.admin)
        failed = self.call("outbox.record_attempt", self.admin, number=mail.number,
                           error_text="connection refused")
        self.assertEqual((failed.attempts, failed.last_error), (1, "connection refused"))
        sent = self.call("outbox.record_attempt", self.admin, number=mail.number)
        self.assertIsNotNone(sent.sent_at)
        self.assertEqual(self.call("outbox.pending", self.admin), [])
        self.assertRaises(errors.Conflict, self.call, "outbox.record_attempt", self.admin,
                          number=mail.number)
        self.assertRaises(errors.NotFound, self.call, "outbox.record_attempt", self.admin,
                          number=999)

    def test_given_up_after_ten_failures(self):
        self.master.storage.session_info[SIGNUP] = SignupSettings(mode="approval", mail=True)
        self.call("signup.request", Anonymous(), login="erin", email="erin@example.org",
                  password="erin-secret")
        (mail,) = self.call("outbox.pending", self.admin)
        for _ in range(10):
            self.call("outbox.record_attempt", self.admin, number=mail.number, error_text="x")
        self.assertEqual(self.call("outbox.pending", self.admin), [])
