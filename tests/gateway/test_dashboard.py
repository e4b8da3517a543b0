"""The dashboard over HTTP: login, sessions, CSRF, and what a person may see."""

import os
import re
import time
from urllib.parse import quote

import requests
from twisted.internet import threads
from twisted.internet import defer
from twisted.trial import unittest

from slap_core.principals import User
from tests.fixtures import SR, format_configuration, start_test_master

ADMIN = User("admin", {"admin"})
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class DashboardCase(unittest.TestCase):
    """A running master whose pages are read with requests (a cookie-keeping browser)."""

    def setUp(self):
        self.running = self.start_master()
        self.base = self.running.urls()[0].rstrip("/")
        master = self.running.master
        for login in ("alice", "bob"):
            master.call("person.create", ADMIN, login=login, password=login + "-secret")
        master.call("computer.create", ADMIN, reference="COMP-0")
        from slap_core.principals import ComputerAgent
        master.call("computer.format", ComputerAgent("COMP-0"), reference="COMP-0",
                    configuration=format_configuration("COMP-0", 2))
        master.call("supply.supply", ADMIN, url=SR, computer="COMP-0")
        master.call("instance.request", User("alice"), title="alice-web", software_release=SR,
                    parameters={"db-password": "hunter2", "size": "s"})

    def start_master(self):
        """The master the pages are read from."""
        return start_test_master(self)

    def browser(self):
        session = requests.Session()
        self.addCleanup(session.close)
        return session

    def get(self, session, path, **options):
        return threads.deferToThread(session.get, self.base + path, allow_redirects=False,
                                     timeout=10, **options)

    def post(self, session, path, data, **options):
        return threads.deferToThread(session.post, self.base + path, data=data,
                                     allow_redirects=False, timeout=10, **options)

    @staticmethod
    def csrf(page):
        return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)

    @defer.inlineCallbacks
    def login(self, session, login, password, next_="/services"):
        form = yield self.get(session, "/login?next=" + next_)
        return (yield self.post(session, "/login?next=" + next_,
                                {"login": login, "password": password,
                                 "csrf": self.csrf(form)}))



class DashboardTests(DashboardCase):
    """Logging in and out, a service's page, what a person may see."""

    @defer.inlineCallbacks
    def test_logging_in_and_out(self):
        browser = self.browser()
        start = yield self.get(browser, "/", headers={"Accept": "text/html"})
        self.assertEqual((start.status_code, start.headers["Location"]), (302, "/services"))
        away = yield self.get(browser, "/services")
        self.assertEqual((away.status_code, away.headers["Location"]),
                         (303, "/login?next=/services"))
        wrong = yield self.login(browser, "alice", "nope")
        self.assertEqual(wrong.status_code, 401)
        self.assertIn("Wrong login or password", wrong.text)
        self.assertNotIn("slapgate_session", browser.cookies)
        right = yield self.login(browser, "alice", "alice-secret")
        self.assertEqual((right.status_code, right.headers["Location"]), (303, "/services"))
        cookie = right.headers["Set-Cookie"]
        for attribute in ("HttpOnly", "SameSite=lax", "Max-Age=28800", "Path=/"):
            self.assertIn(attribute.lower(), cookie.lower())
        page = yield self.get(browser, "/services")
        self.assertEqual(page.status_code, 200)
        self.assertIn("alice-web", page.text)
        out = yield self.post(browser, "/logout", {"csrf": self.csrf(page)})
        self.assertEqual((out.status_code, out.headers["Location"]), (303, "/login"))
        again = yield self.get(browser, "/services")
        self.assertEqual(again.status_code, 303)
        # the JSON index stays for programs
        index = yield self.get(browser, "/")
        self.assertIn("/syncml", index.json()["services"])

    @defer.inlineCallbacks
    def test_a_service_page_masks_secrets_and_acts_with_a_csrf_token(self):
        browser = self.browser()
        yield self.login(browser, "alice", "alice-secret")
        page = yield self.get(browser, "/services/alice-web")
        self.assertEqual(page.status_code, 200)
        self.assertIn('data-value="hunter2"', page.text)  # masked until shown
        self.assertNotIn(">hunter2<", page.text)
        forged = yield self.post(browser, "/services/alice-web/stop", {"csrf": "forged"})
        self.assertEqual(forged.status_code, 403)
        accented = yield self.post(browser, "/services/alice-web/stop", {"csrf": "forgé"})
        self.assertEqual(accented.status_code, 403)
        missing = yield self.post(browser, "/services/alice-web/stop", {})
        self.assertEqual(missing.status_code, 403)
        view = self.running.master.call("instance.list", User("alice"))[0]
        self.assertEqual(view.requested_state, "started")
        stop = yield self.post(browser, "/services/alice-web/stop", {"csrf": self.csrf(page)})
        self.assertEqual((stop.status_code, stop.headers["Location"]),
                         (303, "/services/alice-web"))
        view = self.running.master.call("instance.list", User("alice"))[0]
        self.assertEqual(view.requested_state, "stopped")

    @defer.inlineCallbacks
    def test_another_persons_service_is_not_found(self):
        browser = self.browser()
        yield self.login(browser, "bob", "bob-secret")
        page = yield self.get(browser, "/services/alice-web")
        self.assertEqual(page.status_code, 404)
        listing = yield self.get(browser, "/services")
        self.assertNotIn("alice-web", listing.text)
        act = yield self.post(browser, "/services/alice-web/destroy",
                              {"csrf": self.csrf(listing)})
        self.assertEqual(act.status_code, 404)
        self.assertEqual(self.running.master.call("instance.list", User("alice"))[0]
                         .requested_state, "started")

    @defer.inlineCallbacks
    def test_hostile_input_is_escaped_and_refused_cleanly(self):
        self.running.master.call("instance.request", User("alice"),
                                 title="<script>alert(1)</script>", software_release=SR)
        browser = self.browser()
        yield self.login(browser, "alice", "alice-secret")
        page = yield self.get(browser, "/services")
        self.assertNotIn("<script>alert(1)</script>", page.text)
        self.assertIn("&lt;script&gt;", page.text)
        login_form = yield self.get(self.browser(), "/login?next=https://evil.example/")
        self.assertNotIn('next=https://evil.example', login_form.text)
        weird = yield self.get(browser, "/services/%00%ff/../x")
        self.assertIn(weird.status_code, (404, 400))
        self.assertNotIn("Traceback", weird.text)


MEMCACHED = os.path.join(ROOT, "tests", "memcached", "software.cfg")


class AddServiceTests(DashboardCase):
    """/services/new: product, release, the schema's form, review, request."""

    def setUp(self):
        super().setUp()
        master = self.running.master
        master.call("catalogue.add_release", ADMIN, url=MEMCACHED, product="memcached",
                    version="1.0", product_title="Memcached")
        master.call("supply.supply", ADMIN, url=MEMCACHED, computer="COMP-0")

    @defer.inlineCallbacks
    def test_the_wizard_from_product_to_request(self):
        browser = self.browser()
        yield self.login(browser, "alice", "alice-secret")
        products = yield self.get(browser, "/services/new")
        self.assertIn('href="/services/new?product=memcached"', products.text)
        releases = yield self.get(browser, "/services/new?product=memcached")
        self.assertIn("release=" + quote(MEMCACHED, safe="/"), releases.text)
        form = yield self.get(browser, "/services/new?product=memcached&release="
                              + quote(MEMCACHED, safe=""))
        self.assertIn('type="number" id="p:tcp-port"', form.text)
        self.assertIn('max="65535"', form.text)
        self.assertIn('placeholder="default: 11211"', form.text)
        base = {"csrf": self.csrf(form), "product": "memcached", "release": MEMCACHED,
                "type": "default", "title": "cache", "computer": "", "p:tcp-port": "70000",
                "p:memory-mb": ""}
        review = yield self.post(browser, "/services/new", dict(base, step="review"))
        self.assertEqual(review.status_code, 200)
        self.assertIn('id="review"', review.text)
        refused = yield self.post(browser, "/services/new", dict(base, step="request"))
        self.assertEqual(refused.status_code, 422)
        self.assertIn('data-for="p:tcp-port">70000 is greater than the maximum of 65535',
                      refused.text)
        self.assertEqual(self.running.master.call("instance.list", User("alice"))[0].title,
                         "alice-web")  # nothing new
        done = yield self.post(browser, "/services/new",
                               dict(base, step="request", **{"p:tcp-port": "11311"}))
        self.assertEqual((done.status_code, done.headers["Location"]), (303, "/services/cache"))
        view = [v for v in self.running.master.call("instance.list", User("alice"))
                if v.title == "cache"][0]
        self.assertEqual((view.software_release, view.parameters),
                         (MEMCACHED, {"tcp-port": "11311"}))
        listing = yield self.get(browser, "/services")
        self.assertIn("memcached 1.0<br>", listing.text)

    @defer.inlineCallbacks
    def test_without_a_schema_a_json_editor_and_a_node(self):
        self.running.master.call("catalogue.add_release", ADMIN, url=SR, product="plain")
        browser = self.browser()
        yield self.login(browser, "admin", self.running.credentials[1])
        form = yield self.get(browser, "/services/new?product=plain&release=" + quote(SR, safe=""))
        self.assertIn('id="raw"', form.text)
        self.assertIn('<option value="COMP-0"', form.text)
        base = {"csrf": self.csrf(form), "product": "plain", "release": SR, "title": "plain",
                "computer": "COMP-0"}
        bad = yield self.post(browser, "/services/new", dict(base, step="review", raw="{"))
        self.assertEqual(bad.status_code, 422)
        self.assertIn("The parameters are not JSON", bad.text)
        done = yield self.post(browser, "/services/new",
                               dict(base, step="request", raw='{"size": 3, "name": "x"}'))
        self.assertEqual(done.status_code, 303)
        view = [v for v in self.running.master.call("instance.list", ADMIN)
                if v.title == "plain"][0]
        self.assertEqual((view.parameters, view.sla, view.computer),
                         ({"size": "3", "name": "x"}, {"computer_guid": "COMP-0"}, "COMP-0"))
        forged = yield self.post(browser, "/services/new", dict(base, step="request",
                                                                csrf="forged", title="x"))
        self.assertEqual(forged.status_code, 403)


class ServersAndInvoicesTests(DashboardCase):
    """/servers and /invoices."""

    @defer.inlineCallbacks
    def test_servers_a_person_registers_and_supplies_and_sees_only_theirs(self):
        browser = self.browser()
        yield self.login(browser, "bob", "bob-secret")
        page = yield self.get(browser, "/servers")
        self.assertIn('id="no-server"', page.text)  # COMP-0 is the admin's
        made = yield self.post(browser, "/servers/new", {"csrf": self.csrf(page),
                                                         "title": "bob's box"})
        self.assertEqual(made.status_code, 303)
        reference = made.headers["Location"].rsplit("/", 1)[1]
        server = yield self.get(browser, "/servers/" + reference)
        self.assertIn("bob&#39;s box", server.text)
        supplied = yield self.post(browser, "/servers/%s/supply" % reference,
                                   {"csrf": self.csrf(server), "url": SR})
        self.assertEqual(supplied.status_code, 303)
        server = yield self.get(browser, "/servers/" + reference)
        self.assertIn("<td>%s</td><td>available</td>" % SR, server.text)
        self.assertIn("not yet", server.text)
        other = yield self.get(browser, "/servers/COMP-0")
        self.assertIn(other.status_code, (403, 404))
        refused = yield self.post(browser, "/servers/COMP-0/supply",
                                  {"csrf": self.csrf(server), "url": SR})
        self.assertIn(refused.status_code, (403, 404))
        admin = self.browser()
        yield self.login(admin, "admin", self.running.credentials[1])
        everything = yield self.get(admin, "/servers")
        self.assertIn('data-reference="COMP-0"', everything.text)
        self.assertIn('data-reference="%s"' % reference, everything.text)

    @defer.inlineCallbacks
    def test_invoices_their_lines_and_pdf(self):
        from unittest import mock

        from slap_core.billing import period_of

        master = self.running.master
        past = 1577836800.0
        with mock.patch("slap_core.pricing.now", return_value=past):
            master.call("pricing.set", ADMIN, currency="EUR", vat_rate="20", effective_from=past,
                        subscriptions=[{"monthly": "40.00"}])
        month = period_of(time.time())
        with mock.patch("slap_core.invoices.now", return_value=month.end):
            (number,) = master.call("invoice.generate", ADMIN, period=month.name).issued
        browser = self.browser()
        yield self.login(browser, "alice", "alice-secret")
        listing = yield self.get(browser, "/invoices")
        self.assertIn('data-number="%s"' % number, listing.text)
        self.assertIn('id="current"', listing.text)
        invoice = yield self.get(browser, "/invoices/" + number)
        self.assertIn("<tr><td>alice-web (%s)" % SR, invoice.text)
        self.assertRegex(invoice.text, r'id="total">[0-9]+\.[0-9]{2} EUR')
        pdf = yield self.get(browser, "/invoices/%s/pdf" % number)
        self.assertEqual((pdf.status_code, pdf.headers["Content-Type"]),
                         (200, "application/pdf"))
        self.assertTrue(pdf.content.startswith(b"%PDF"))
        bob = self.browser()
        yield self.login(bob, "bob", "bob-secret")
        hidden = yield self.get(bob, "/invoices/" + number)
        self.assertEqual(hidden.status_code, 404)
        self.assertNotIn(number, (yield self.get(bob, "/invoices")).text)


class AdminPagesTests(DashboardCase):
    """/admin/people and /admin/catalogue: for admins; the core refuses everyone else."""

    @defer.inlineCallbacks
    def test_people_created_disabled_enabled(self):
        admin = self.browser()
        yield self.login(admin, "admin", self.running.credentials[1])
        page = yield self.get(admin, "/admin/people")
        self.assertIn('data-login="alice"', page.text)
        made = yield self.post(admin, "/admin/people", {
            "csrf": self.csrf(page), "login": "carol", "full_name": "Carol",
            "email": "carol@example.org", "password": "carol-secret",
            "roles": ["user", "accountant"]})
        self.assertEqual(made.status_code, 303)
        carol = self.running.master.call("person.get", ADMIN, login="carol")
        self.assertEqual((carol.full_name, sorted(carol.roles)), ("Carol", ["accountant",
                                                                            "user"]))
        yield self.post(admin, "/admin/people/carol/disable", {"csrf": self.csrf(page)})
        refused = yield self.login(self.browser(), "carol", "carol-secret")
        self.assertEqual(refused.status_code, 401)
        yield self.post(admin, "/admin/people/carol/enable", {"csrf": self.csrf(page)})
        welcome = yield self.login(self.browser(), "carol", "carol-secret")
        self.assertEqual(welcome.status_code, 303)
        duplicate = yield self.post(admin, "/admin/people", {"csrf": self.csrf(page),
                                                             "login": "carol"})
        self.assertEqual(duplicate.status_code, 409)
        changed = yield self.post(admin, "/admin/people/carol/roles",
                                  {"csrf": self.csrf(page), "roles": ["operator", "user"]})
        self.assertEqual(changed.status_code, 303)
        self.assertEqual(sorted(self.running.master.call("person.get", ADMIN, login="carol")
                                .roles), ["operator", "user"])

    @defer.inlineCallbacks
    def test_a_release_added_with_its_schema_and_users_kept_out(self):
        admin = self.browser()
        yield self.login(admin, "admin", self.running.credentials[1])
        page = yield self.get(admin, "/admin/catalogue")
        added = yield self.post(admin, "/admin/catalogue", {
            "csrf": self.csrf(page), "url": MEMCACHED, "product": "memcached",
            "version": "1.0"})
        self.assertEqual(added.status_code, 200)
        self.assertIn("with its parameter schema", added.text)
        plain = yield self.post(admin, "/admin/catalogue", {
            "csrf": self.csrf(page), "url": SR, "product": "plain"})
        self.assertIn("without a parameter schema: cannot read", plain.text)
        alice = self.browser()
        yield self.login(alice, "alice", "alice-secret")
        people = yield self.get(alice, "/admin/people")
        self.assertEqual(people.status_code, 403)
        self.assertNotIn('data-login="bob"', people.text)
        services = yield self.get(alice, "/services")
        self.assertNotIn('href="/admin/people"', services.text)
        forged = yield self.post(alice, "/admin/people", {"csrf": self.csrf(services),
                                                          "login": "mallory"})
        self.assertEqual(forged.status_code, 403)
        self.assertNotIn("mallory", {p.login for p in
                                     self.running.master.call("person.list", ADMIN)})
