"""A computer polling faster than the master allows is answered 429 with Retry-After (issue 22).

The core's rule first (``PollLimit``, a bucket per computer on a fake clock, through
``Master.call``), then each face: SLAP (XML and the JSON API), REST, XML-RPC and SOAP, and the
node agent, which waits as long as the master said before its next cycle.
"""

import xmlrpc.client

from twisted.internet import defer, reactor, task, threads
from twisted.internet.task import deferLater
from twisted.trial import unittest

from slap_core import errors
from slap_core.master import Master
from slap_core.poll_limit import PollLimit
from slap_core.principals import ComputerAgent
from tests.fixtures import MasterMixin, start_test_master
from tests.node_agent_fixtures import COMPUTER, AgentNode
from tests.waiting import until


class FakeTime:
    """A monotonic clock the test moves."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class PollLimitTests(MasterMixin, unittest.TestCase):
    """The rule, through Master.call."""

    def setUp(self):
        super().setUp()
        self.time = FakeTime()
        self.master.poll_limit = PollLimit(per_minute=3, clock=self.time)
        self.node = self.make_computer("COMP-1")
        self.make_computer("COMP-2")

    def test_a_computer_polling_past_its_allowance_is_told_when_to_ask_again(self):
        for _ in range(3):
            self.poll("COMP-1")
        with self.assertRaises(errors.TooManyRequests) as caught:
            self.poll("COMP-1")
        self.assertEqual(caught.exception.retry_after, 20)  # 3 a minute: one every 20 s
        self.assertIn("COMP-1 polls faster than the 3 a minute", str(caught.exception))
        self.time.now += 19
        self.assertRaises(errors.TooManyRequests, self.poll, "COMP-1")
        self.time.now += 1
        self.poll("COMP-1")
        self.time.now += 60  # a quiet minute refills the bucket, no more
        for _ in range(3):
            self.poll("COMP-1")
        self.assertRaises(errors.TooManyRequests, self.poll, "COMP-1")

    def test_other_computers_and_admins_are_not_held_to_it(self):
        for _ in range(3):
            self.poll("COMP-1")
        self.poll("COMP-2")
        for _ in range(10):
            self.call("computer.information", self.admin, reference="COMP-1")
        # a computer reading another is refused for what it is, not counted
        self.assertRaises(errors.Forbidden, self.call, "computer.information",
                          ComputerAgent("COMP-2"), reference="COMP-1")

    def test_zero_admits_every_poll(self):
        self.master.poll_limit = PollLimit(per_minute=0, clock=self.time)
        for _ in range(50):
            self.poll("COMP-1")

    def test_the_default_master_allows_two_a_second_with_a_minute_of_burst(self):
        master = Master(self.mktemp() + ".sqlite")
        self.addCleanup(master.close)
        self.assertEqual(master.poll_limit.per_minute, 120)


class PollLimitWireTests(unittest.TestCase):
    """Each face of a master allowing 2 polls a minute, called over HTTPS by computer COMP-A with
    its certificate (the scenario of the authorization matrix)."""

    timeout = 120

    def setUp(self):
        import os
        import shutil

        from gateway.config import load
        from gateway.server import start_master
        from tests.authorization_scenario import build_scenario

        self.scenario = build_scenario()
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        database = os.path.join(directory, "m.sqlite")
        shutil.copyfile(self.scenario.path, database)
        running = start_master(reactor, load(
            None, listen=[], listen_tls=["127.0.0.1:0"], database=database,
            state_dir=self.scenario.state_dir, allocation_interval=0, max_polls_per_minute=2,
            invoice_interval=0))
        self.addCleanup(running.stop)
        self.base = running.https_urls()[0]

    def request(self, method, path, **arguments):
        """One HTTPS request as COMP-A (in a thread: ``requests`` blocks)."""
        from tests.authorization_wire import client_options, http

        return threads.deferToThread(http, self.scenario, method, self.base + path,
                                     client_options(self.scenario, "computer_a"), **arguments)

    @defer.inlineCallbacks
    def exhausted(self):
        """Spend COMP-A's two polls (SLAP); then every face must refuse the third."""
        for _ in range(2):
            response = yield self.request("GET", "slap/getFullComputerInformation",
                                          params={"computer_id": "COMP-A"})
            self.assertEqual(response.status_code, 200, response.text)

    def assertTooMany(self, response):
        self.assertEqual(response.status_code, 429, response.text)
        self.assertEqual(response.headers.get("Retry-After"), "30")  # 2 a minute

    @defer.inlineCallbacks
    def test_slap_answers_429_with_retry_after(self):
        yield self.exhausted()
        response = yield self.request("GET", "slap/getFullComputerInformation",
                                      params={"computer_id": "COMP-A"})
        self.assertTooMany(response)
        self.assertIn("COMP-A polls faster than the 2 a minute", response.text)

    @defer.inlineCallbacks
    def test_rest_answers_a_429_problem_with_retry_after(self):
        yield self.exhausted()
        response = yield self.request("GET", "api/computers/COMP-A/information")
        self.assertTooMany(response)
        problem = response.json()
        self.assertEqual((problem["status"], problem["code"]), (429, "too_many_requests"))
        self.assertEqual(response.headers["Content-Type"], "application/problem+json")

    @defer.inlineCallbacks
    def test_xmlrpc_and_soap_refuse_in_their_idiom(self):
        yield self.exhausted()
        body = xmlrpc.client.dumps(({"reference": "COMP-A"},), "computer.information")
        response = yield self.request("POST", "xmlrpc", data=body.encode(),
                                      headers={"Content-Type": "text/xml"})
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            xmlrpc.client.loads(response.content)
        self.assertEqual(caught.exception.faultCode, 429)
        self.assertIn("too_many_requests", caught.exception.faultString)
        from protocols.soap_api import NS

        envelope = ('<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap='
                    '"http://schemas.xmlsoap.org/soap/envelope/" xmlns:s="%s"><soap:Body>'
                    '<s:computerInformation><s:reference>COMP-A</s:reference>'
                    '</s:computerInformation></soap:Body></soap:Envelope>' % NS)
        response = yield self.request("POST", "soap", data=envelope.encode(), headers={
            "Content-Type": "text/xml; charset=utf-8", "SOAPAction": "computerInformation"})
        self.assertEqual(response.status_code, 500, response.text)  # SOAP 1.1 faults are 500
        self.assertIn("<tns:code>too_many_requests</tns:code>", response.text)
        self.assertIn("Client", response.text)


class AgentHonoursRetryAfterTests(unittest.TestCase):
    """The node agent, throttled, waits what the master said before its next cycle."""

    timeout = 300

    @defer.inlineCallbacks
    def test_a_throttled_agent_waits_retry_after_without_polling(self):
        running = start_test_master(self, insecure_loopback=True, max_polls_per_minute=4)
        clock = task.Clock()
        node = AgentNode(self, running.urls()[0] + "slap/", clock=clock,
                         extra_slapos="cycle_interval = 5")
        polls = []
        information = node.agent.client.computer_information

        def counted():
            polls.append(clock.seconds())
            return information()

        node.agent.client.computer_information = counted
        done = node.agent.run_forever()
        self.addCleanup(lambda: done)
        self.addCleanup(node.agent.stop)
        # Each cycle polls three times: the second cycle is refused at its second poll.
        def throttled():
            if node.agent.last_result and node.agent.last_result.retry_after:
                return True
            if node.agent.waiting_until is not None:
                clock.advance(node.agent.waiting_until - clock.seconds())
            return False

        yield until(throttled, 60, "never throttled")
        self.assertEqual(node.agent.last_result.retry_after, 15)  # 4 a minute
        self.assertEqual(node.agent.last_result.exit_code, 1)
        yield until(lambda: node.agent.waiting_until is not None, 30, "never waited")
        # It waits 15 s, not its 5 s cycle_interval, and polls nothing meanwhile.
        self.assertEqual(node.agent.waiting_until - clock.seconds(), 15)
        before = len(polls)
        clock.advance(14)
        yield deferLater(reactor, 0.5, lambda: None)
        self.assertEqual(len(polls), before)
        cycles = node.agent.cycles
        clock.advance(1)
        yield until(lambda: node.agent.cycles != cycles, 30, "no cycle after the wait")
        self.assertEqual(COMPUTER, node.config.computer_id)
