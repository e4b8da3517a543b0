"""The dashboard in a real browser: Debian's Chromium, headless, driven by selenium.

The browser runs in a thread (selenium blocks) against a master in this process. Set
``SLAPGATE_SCREENSHOTS`` to a directory to keep a screenshot of each page (docs/images/ holds
the ones docs/dashboard.md shows).
"""

import os
import shutil

import pytest
from twisted.internet import threads
from twisted.trial import unittest

from slap_core.principals import ComputerAgent, PartitionAgent, User
from tests.fixtures import SR, format_configuration, start_test_master

ADMIN = User("admin", {"admin"})


def chromium():
    """A headless Chromium through Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1100,900", "--disable-gpu"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def require_chromium(testcase):
    """Fail ``testcase`` when Debian's chromium or chromedriver is missing."""
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            testcase.fail("%s is missing: `make test` installs chromium and chromium-driver"
                          % program)


def screenshot(browser, name):
    """Keep the page as ``name``.png in $SLAPGATE_SCREENSHOTS, when that is set."""
    shots = os.environ.get("SLAPGATE_SCREENSHOTS")
    if shots:
        os.makedirs(shots, exist_ok=True)
        browser.save_screenshot(os.path.join(shots, name + ".png"))


@pytest.mark.browser
class DashboardInChromiumTests(unittest.TestCase):
    """A person logs in, follows a service, stops it, logs out."""

    timeout = 180

    def setUp(self):
        require_chromium(self)
        self.running = start_test_master(self)
        self.base = self.running.urls()[0].rstrip("/")
        master = self.running.master
        master.call("person.create", ADMIN, login="alice", password="alice-secret",
                    full_name="Alice")
        master.call("computer.create", ADMIN, reference="COMP-0")
        master.call("computer.format", ComputerAgent("COMP-0"), reference="COMP-0",
                    configuration=format_configuration("COMP-0", 2))
        master.call("supply.supply", ADMIN, url=SR, computer="COMP-0")
        view = master.call("instance.request", User("alice"), title="cache",
                           software_release=SR, parameters={"memory-mb": "16"})
        # the node deployed it and published its connection parameters
        partition = PartitionAgent(view.computer, view.partition)
        master.call("instance.set_connection", partition, computer=view.computer,
                    partition=view.partition,
                    connection={"ip": "10.0.0.7", "tcp_port": "11211",
                                "admin-password": "s3cret"})
        master.call("instance.report_started", partition, computer=view.computer,
                    partition=view.partition)

    def scenario(self):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ready
        from selenium.webdriver.support.ui import WebDriverWait

        browser = chromium()
        try:
            wait = WebDriverWait(browser, 20)
            browser.get(self.base + "/")
            wait.until(ready.presence_of_element_located((By.ID, "login")))
            self.assertIn("/login", browser.current_url)
            browser.find_element(By.ID, "login").send_keys("alice")
            browser.find_element(By.ID, "password").send_keys("wrong")
            screenshot(browser, "login")
            browser.find_element(By.ID, "log-in").click()
            alert = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR,
                                                                  "[role=alert]")))
            self.assertIn("Wrong login or password", alert.text)
            browser.find_element(By.ID, "password").send_keys("alice-secret")
            browser.find_element(By.ID, "log-in").click()
            row = wait.until(ready.presence_of_element_located(
                (By.CSS_SELECTOR, "#services tr[data-title=cache]")))
            self.assertIn("ok", row.text)
            screenshot(browser, "services")
            row.find_element(By.LINK_TEXT, "cache").click()
            wait.until(ready.presence_of_element_located((By.ID, "connection")))
            connection = browser.find_element(By.ID, "connection").text
            self.assertIn("10.0.0.7", connection)
            self.assertNotIn("s3cret", connection)  # masked until shown
            browser.find_element(By.XPATH, "//table[@id='connection']//button[.='Show']").click()
            self.assertIn("s3cret", browser.find_element(By.ID, "connection").text)
            screenshot(browser, "service")
            browser.find_element(By.ID, "stop").click()
            wait.until(ready.alert_is_present())
            browser.switch_to.alert.accept()
            wait.until(ready.text_to_be_present_in_element((By.ID, "state"), "stopped"))
            browser.find_element(By.LINK_TEXT, "Servers").click()
            wait.until(ready.presence_of_element_located((By.ID, "register")))
            screenshot(browser, "servers")
            browser.find_element(By.LINK_TEXT, "Invoices").click()
            wait.until(ready.presence_of_element_located((By.ID, "no-invoice")))
            screenshot(browser, "invoices")
            # a keyboard is enough: the logout button takes the focus and Enter
            logout = browser.find_element(By.XPATH, "//header//button[.='Log out']")
            logout.send_keys("\n")
            wait.until(ready.presence_of_element_located((By.ID, "login")))
            browser.get(self.base + "/services/cache")
            wait.until(ready.presence_of_element_located((By.ID, "login")))
            self.assertIn("/login?next=/services/cache", browser.current_url)
        finally:
            browser.quit()

    def test_log_in_follow_a_service_stop_it_log_out(self):
        result = threads.deferToThread(self.scenario)

        def check(_):
            view = self.running.master.call("instance.list", User("alice"))[0]
            self.assertEqual(view.requested_state, "stopped")

        return result.addCallback(check)
