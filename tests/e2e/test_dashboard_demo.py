"""The seed's demo in a browser: a person adds the memcached service through the dashboard's
wizard, the local node deploys it, the page shows it green with its connection parameters, and
the person stops it, then destroys it. Chromium (headless, selenium) in a thread; the master and
slapgate's node agent in this process.
"""


import pytest
from twisted.internet import defer, threads
from twisted.trial import unittest

from slap_core.principals import User
from tests.e2e.test_memcached_demo import (ADDRESS, MEMCACHED_SR, answers, free_port,
                                           stop_memcached)
from tests.fixtures import start_test_master
from tests.gateway.test_dashboard_browser import chromium, screenshot
from tests.node_harness import COMPUTER

ADMIN = User("admin", {"admin"})


@pytest.mark.node
@pytest.mark.browser
class DashboardDemoTests(unittest.TestCase):
    """The whole demo, as a person sees it."""

    timeout = 900

    @defer.inlineCallbacks
    def test_add_memcached_see_it_green_stop_it_destroy_it(self):
        from tests.node_agent_fixtures import AgentNode

        port = free_port(ADDRESS)
        self.addCleanup(stop_memcached, port)
        self.running = start_test_master(self, insecure_loopback=True)
        base = self.running.urls()[0]
        node = AgentNode(self, base + "slap/", release=MEMCACHED_SR)
        yield node.agent.format_if_needed()
        master = self.running.master
        yield threads.deferToThread(master.call, "catalogue.add_release", ADMIN, url=node.sr,
                                    product="memcached", version="1.0",
                                    product_title="Memcached")
        yield threads.deferToThread(master.call, "supply.supply", ADMIN, url=node.sr,
                                    computer=COMPUTER)
        yield threads.deferToThread(master.call, "person.create", ADMIN, login="alice",
                                    password="alice-secret")
        browser = yield threads.deferToThread(chromium)
        self.addCleanup(threads.deferToThread, browser.quit)
        self.base = base.rstrip("/")
        def add_the_service():
            from selenium.webdriver.common.by import By
            from selenium.webdriver.support import expected_conditions as ready
            from selenium.webdriver.support.ui import WebDriverWait

            wait = WebDriverWait(browser, 20)
            browser.get(self.base + "/services/new")
            wait.until(ready.presence_of_element_located((By.ID, "login")))
            browser.find_element(By.ID, "login").send_keys("alice")
            browser.find_element(By.ID, "password").send_keys("alice-secret")
            browser.find_element(By.ID, "log-in").click()
            wait.until(ready.presence_of_element_located((By.LINK_TEXT, "Memcached"))).click()
            wait.until(ready.presence_of_element_located((By.LINK_TEXT, "1.0"))).click()
            wait.until(ready.presence_of_element_located((By.ID, "title"))).send_keys("cache")
            browser.find_element(By.ID, "p:tcp-port").send_keys("99999")
            browser.find_element(By.ID, "p:memory-mb").send_keys("16")
            screenshot(browser, "add-service")
            browser.find_element(By.ID, "review-button").click()
            wait.until(ready.presence_of_element_located((By.ID, "request"))).click()
            error = wait.until(ready.presence_of_element_located(
                (By.CSS_SELECTOR, "[data-for='p:tcp-port']")))
            self.assertIn("99999 is greater than the maximum of 65535", error.text)
            field = browser.find_element(By.ID, "p:tcp-port")
            field.clear()
            field.send_keys(str(port))
            browser.find_element(By.ID, "review-button").click()
            wait.until(ready.presence_of_element_located((By.ID, "request"))).click()
            wait.until(ready.presence_of_element_located((By.ID, "state")))
            return browser.current_url

        url = yield threads.deferToThread(add_the_service)
        self.assertTrue(url.endswith("/services/cache"), url)
        (view,) = yield threads.deferToThread(master.call, "instance.list", User("alice"))
        self.assertEqual(view.parameters, {"tcp-port": str(port), "memory-mb": "16"})

        for _ in range(3):
            yield node.cycle(expect=0)
            view = yield threads.deferToThread(master.call, "instance.get", User("alice"),
                                               reference=view.reference)
            if view.connection and view.status_text:
                break

        def see_it_green_and_stop_it():
            from selenium.webdriver.common.by import By
            from selenium.webdriver.support import expected_conditions as ready
            from selenium.webdriver.support.ui import WebDriverWait

            wait = WebDriverWait(browser, 20)
            browser.get(self.base + "/services/cache")
            wait.until(ready.text_to_be_present_in_element((By.ID, "health"), "ok"))
            connection = browser.find_element(By.ID, "connection").text
            screenshot(browser, "service-deployed")
            browser.find_element(By.ID, "stop").click()
            wait.until(ready.alert_is_present())
            browser.switch_to.alert.accept()
            wait.until(ready.text_to_be_present_in_element((By.ID, "state"), "stopped"))
            return connection

        connection = yield threads.deferToThread(see_it_green_and_stop_it)
        self.assertIn(ADDRESS, connection)
        self.assertIn(str(port), connection)
        yield node.cycle(expect=0)
        self.assertFalse((yield threads.deferToThread(answers, ADDRESS, port)))

        def destroy_it():
            from selenium.webdriver.common.by import By
            from selenium.webdriver.support import expected_conditions as ready
            from selenium.webdriver.support.ui import WebDriverWait

            browser.find_element(By.ID, "destroy").click()
            WebDriverWait(browser, 20).until(ready.alert_is_present())
            browser.switch_to.alert.accept()
            WebDriverWait(browser, 20).until(ready.url_to_be(self.base + "/services"))
            return browser.page_source

        page = yield threads.deferToThread(destroy_it)
        self.assertNotIn('data-title="cache"', page)  # its tree is closed at once
        yield node.cycle(expect=0)
        view = yield threads.deferToThread(master.call, "instance.get", User("alice"),
                                           reference=view.reference)
        self.assertEqual((view.requested_state, view.archived), ("destroyed", True))
