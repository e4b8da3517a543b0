"""Sign-up and a ticket's thread in a real browser (Debian's Chromium, headless, selenium):
a visitor creates an account on an automatic master without mail (it waits for the admin), the
admin accepts it, the new customer opens a ticket about their service and reads support's
answer."""


import pytest
from twisted.internet import defer, threads
from twisted.trial import unittest

from gateway.mail import SignupSection
from slap_core.principals import ComputerAgent, User
from tests.fixtures import SR, format_configuration, start_test_master
from tests.gateway.test_dashboard_browser import chromium, require_chromium, screenshot

ADMIN = User("admin", {"admin"})


@pytest.mark.browser
class SupportInChromiumTests(unittest.TestCase):
    """A master taking sign-ups (approval, no mail), one computer with the test release."""

    timeout = 180

    def setUp(self):
        require_chromium(self)
        self.running = start_test_master(self, signup=SignupSection(mode="approval"))
        self.base = self.running.urls()[0].rstrip("/")
        master = self.running.master
        master.call("computer.create", ADMIN, reference="COMP-0")
        master.call("computer.format", ComputerAgent("COMP-0"), reference="COMP-0",
                    configuration=format_configuration("COMP-0", 2))
        master.call("supply.supply", ADMIN, url=SR, computer="COMP-0")

    def sign_up(self):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ready
        from selenium.webdriver.support.ui import WebDriverWait

        browser = chromium()
        try:
            wait = WebDriverWait(browser, 20)
            browser.get(self.base + "/login")
            wait.until(ready.element_to_be_clickable((By.ID, "to-signup"))).click()
            wait.until(ready.presence_of_element_located((By.ID, "sign-up")))
            for name, value in (("login", "carol"), ("email", "carol@example.org"),
                                ("full_name", "Carol C."), ("password", "carol-secret"),
                                ("password_again", "carol-secret")):
                browser.find_element(By.ID, name).send_keys(value)
            screenshot(browser, "signup")
            browser.find_element(By.ID, "sign-up").click()
            outcome = wait.until(ready.presence_of_element_located((By.ID, "outcome")))
            return outcome.get_attribute("data-state"), outcome.text
        finally:
            browser.quit()

    def ticket(self):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ready
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import Select, WebDriverWait

        browser = chromium()
        try:
            wait = WebDriverWait(browser, 20,
                                 ignored_exceptions=(StaleElementReferenceException,))
            browser.get(self.base + "/login")
            wait.until(ready.presence_of_element_located((By.ID, "login"))).send_keys("carol")
            browser.find_element(By.ID, "password").send_keys("carol-secret")
            browser.find_element(By.ID, "log-in").click()
            wait.until(ready.url_contains("/services"))
            browser.get(self.base + "/services/shop")
            wait.until(ready.element_to_be_clickable((By.ID, "ticket-about"))).click()
            wait.until(ready.presence_of_element_located((By.ID, "open")))
            Select(browser.find_element(By.ID, "kind")).select_by_value("complaint")
            browser.find_element(By.ID, "title").send_keys("shop answers 502")
            browser.find_element(By.ID, "text").send_keys("Since 10:00, every page.")
            browser.find_element(By.ID, "open").click()
            wait.until(ready.url_contains("/tickets/TICKET-"))
            wait.until(ready.presence_of_element_located((By.ID, "thread")))
            reference = browser.current_url.rsplit("/", 1)[1]
            # support answers (from its own CRM, over the core)
            self.running.master.call("ticket.post", ADMIN, reference=reference,
                                     text="The backend restarted; better now?")
            browser.refresh()
            state = wait.until(ready.presence_of_element_located((By.ID, "state")))
            turn = state.get_attribute("data-turn")
            authors = [item.get_attribute("data-author")
                       for item in browser.find_elements(By.CSS_SELECTOR, "#thread > li")]
            browser.find_element(By.ID, "text").send_keys("Yes, thank you.")
            browser.find_element(By.ID, "reply").click()
            wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#thread > li")) == 3)
            screenshot(browser, "ticket")
            browser.find_element(By.ID, "close").click()
            # The old page's #state may still be found (then goes stale): wait for the new one.
            wait.until(lambda b: b.find_element(By.ID, "state").get_attribute(
                "data-state") == "closed")
            return reference, turn, authors, "closed"
        finally:
            browser.quit()

    @defer.inlineCallbacks
    def test_sign_up_then_a_ticket_thread(self):
        state, text = yield threads.deferToThread(self.sign_up)
        self.assertEqual(state, "pending")
        self.assertIn("waits for an administrator", text)
        master = self.running.master
        (request,) = master.call("signup.list", ADMIN, state="pending")
        master.call("signup.accept", ADMIN, reference=request.reference)
        master.call("instance.request", User("carol"), title="shop", software_release=SR)
        reference, turn, authors, state = yield threads.deferToThread(self.ticket)
        self.assertEqual((turn, authors, state), ("customer", ["carol", "admin"], "closed"))
        ticket = master.call("ticket.get", ADMIN, reference=reference)
        self.assertEqual((ticket.kind, ticket.tree, [m.author for m in ticket.messages]),
                         ("complaint", "shop", ["carol", "admin", "carol"]))
