"""The dashboard's sign-up and support pages over HTTP: the mailed link followed to an open
account (a real SMTP server on loopback), an admin deciding requests, a ticket's thread."""

import re
import time

from aiosmtpd.controller import Controller
from twisted.internet import defer, reactor, task

from gateway.mail import SignupSection, SmtpSettings
from slap_core.principals import User
from tests.fixtures import start_test_master
from tests.gateway.test_dashboard import ADMIN, DashboardCase
from tests.gateway.test_signup_mail import Inbox
from tests.upstream import _free_port as free_port


class SupportPagesTests(DashboardCase):
    """alice's service alice-web; the admin and sam (support) answer."""

    def setUp(self):
        super().setUp()
        self.running.master.call("person.create", ADMIN, login="sam", password="sam-secret",
                                 roles=["support"])

    @defer.inlineCallbacks
    def test_a_ticket_from_a_service_page_and_its_thread(self):
        alice, sam = self.browser(), self.browser()
        yield self.login(alice, "alice", "alice-secret")
        service = yield self.get(alice, "/services/alice-web")
        self.assertIn('href="/tickets/new?tree=alice-web"', service.text)
        form = yield self.get(alice, "/tickets/new?tree=alice-web")
        self.assertIn('<option value="alice-web" selected>', form.text)
        refused = yield self.post(alice, "/tickets/new", {
            "csrf": self.csrf(form), "tree": "alice-web", "title": "", "text": "help"})
        self.assertEqual(refused.status_code, 422)
        self.assertIn("title", refused.text)
        opened = yield self.post(alice, "/tickets/new", {
            "csrf": self.csrf(form), "tree": "alice-web", "kind": "complaint",
            "title": "alice-web is slow", "text": "Pages take 10 s <b>really</b>."})
        self.assertEqual(opened.status_code, 303)
        path = opened.headers["Location"]
        (ticket,) = self.running.master.call("ticket.list", User("alice"))
        self.assertEqual((path, ticket.kind, ticket.tree),
                         ("/tickets/" + ticket.reference, "complaint", "alice-web"))
        yield self.login(sam, "sam", "sam-secret")
        listed = yield self.get(sam, "/tickets")
        self.assertIn("alice-web is slow (alice)", listed.text)
        page = yield self.get(sam, path)
        self.assertIn("Pages take 10 s &lt;b&gt;really&lt;/b&gt;.", page.text)
        answered = yield self.post(sam, path + "/reply", {"csrf": self.csrf(page),
                                                          "text": "A full disk, fixed."})
        self.assertEqual(answered.status_code, 303)
        page = yield self.get(alice, path)
        self.assertIn('data-turn="customer"', page.text)
        self.assertIn("A full disk, fixed.", page.text)
        closed = yield self.post(alice, path + "/close", {"csrf": self.csrf(page)})
        self.assertEqual(closed.status_code, 303)
        page = yield self.get(alice, path)
        self.assertIn('data-state="closed"', page.text)
        self.assertIn('id="reopen"', page.text)
        # bob sees none of it
        bob = self.browser()
        yield self.login(bob, "bob", "bob-secret")
        self.assertEqual((yield self.get(bob, path)).status_code, 404)
        forged = yield self.post(alice, path + "/reopen", {"csrf": "forged"})
        self.assertEqual(forged.status_code, 403)

    @defer.inlineCallbacks
    def test_an_attachment_downloads_as_a_file(self):
        ticket = self.running.master.call(
            "ticket.create", User("alice"), title="log", text="see the log",
            attachment=b"<script>alert(1)</script>", attachment_name="a.html",
            attachment_type="text/html")
        alice = self.browser()
        yield self.login(alice, "alice", "alice-secret")
        page = yield self.get(alice, "/tickets/" + ticket.reference)
        self.assertIn("/tickets/%s/attachments/1" % ticket.reference, page.text)
        download = yield self.get(alice, "/tickets/%s/attachments/1" % ticket.reference)
        self.assertEqual(download.content, b"<script>alert(1)</script>")
        self.assertEqual(download.headers["Content-Type"], "application/octet-stream")
        self.assertTrue(download.headers["Content-Disposition"].startswith("attachment;"))

    @defer.inlineCallbacks
    def test_sign_up_is_not_offered_when_closed(self):
        browser = self.browser()
        login = yield self.get(browser, "/login")
        self.assertNotIn("/signup", login.text)
        self.assertEqual((yield self.get(browser, "/signup")).status_code, 404)


class SignupPagesTests(DashboardCase):
    """A master in approval mode with mail to an SMTP server on loopback."""

    def setUp(self):
        self.inbox, port = Inbox(), free_port()
        smtp = Controller(self.inbox, hostname="127.0.0.1", port=port)
        smtp.start()
        self.addCleanup(smtp.stop)
        self.settings = dict(signup=SignupSection(mode="approval"), smtp=SmtpSettings(
            host="127.0.0.1", port=port, sender="master@example.org", interval=0.5))
        super().setUp()

    def start_master(self):
        return start_test_master(self, **self.settings)

    @defer.inlineCallbacks
    def mail(self, subject):
        """Wait (up to 10 s) for the mail of this subject."""
        deadline = time.monotonic() + 10
        while True:
            for _, message in self.inbox.messages:
                if message["Subject"] == subject:
                    return message
            self.assertLess(time.monotonic(), deadline, "no mail %r" % subject)
            yield task.deferLater(reactor, 0.1, lambda: None)

    @defer.inlineCallbacks
    def test_sign_up_follow_the_mailed_link_then_the_admin_accepts(self):
        visitor = self.browser()
        login = yield self.get(visitor, "/login")
        self.assertIn('href="/signup"', login.text)
        form = yield self.get(visitor, "/signup")
        fields = {"csrf": self.csrf(form), "login": "carol", "email": "carol@example.org",
                  "full_name": "Carol", "password": "carol-secret"}
        differ = yield self.post(visitor, "/signup", dict(fields, password_again="other"))
        self.assertEqual(differ.status_code, 422)
        self.assertIn("The two passwords differ", differ.text)
        taken = yield self.post(visitor, "/signup", dict(fields, login="alice",
                                                         password_again="carol-secret"))
        self.assertIn("is taken", taken.text)
        done = yield self.post(visitor, "/signup", dict(fields, password_again="carol-secret"))
        self.assertIn('data-state="unconfirmed"', done.text)
        message = yield self.mail("Confirm your address to open your account")
        link = re.search(r"(http://\S+/signup/confirm\?key=\S+)", message.get_content()).group(1)
        page = yield self.get(visitor, link[len(self.base):])  # the link itself confirms nothing
        self.assertIn('id="confirm"', page.text)
        confirmed = yield self.post(visitor, "/signup/confirm", {
            "csrf": self.csrf(page), "key": re.search(r'name="key" value="([^"]+)"',
                                                      page.text).group(1)})
        self.assertIn('data-state="pending"', confirmed.text)
        admin = self.browser()
        yield self.login(admin, *self.running.credentials)
        listed = yield self.get(admin, "/admin/signups")
        self.assertIn("carol@example.org", listed.text)
        reference = re.search(r'data-reference="(SIGNUP-\d+)"', listed.text).group(1)
        accepted = yield self.post(admin, "/admin/signups/%s/accept" % reference,
                                   {"csrf": self.csrf(listed)})
        self.assertEqual(accepted.status_code, 303)
        carol = self.browser()
        logged = yield self.login(carol, "carol", "carol-secret")
        self.assertEqual(logged.status_code, 303)
        welcome = yield self.mail("Your account is open")
        self.assertEqual(welcome["To"], "carol@example.org")
