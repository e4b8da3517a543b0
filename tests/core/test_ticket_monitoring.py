"""The master's own tickets: monitoring for failing trees and silent computers, idle close."""

import time
from unittest import mock

from slap_core import errors
from slap_core.principals import ComputerAgent, User
from tests.fixtures import MasterTestCase

HOUR = 3600.0


class MonitoringTests(MasterTestCase):
    """alice owns COMP-A and a tree "shop" running on it."""

    def setUp(self):
        super().setUp()
        self.agent = self.make_computer("COMP-A", owner=self.alice)
        self.root = self.request(self.alice, "shop", sla={"computer_guid": "COMP-A"})
        self.master.contacts.drain()  # format's call

    def monitor(self, **delays):
        return self.call("ticket.monitor", self.admin, **delays)

    def report(self, name, at=None, **arguments):
        with mock.patch("slap_core.instance_reports.now", return_value=at or time.time()):
            self.call(name, self.agent, computer="COMP-A", partition=self.root.partition,
                      **arguments)

    def test_a_tree_in_error_past_the_delay_gets_one_ticket_closed_once_well(self):
        self.report("instance.report_error", at=time.time() - 2 * HOUR,
                    message="memcached: promise check-port failed")
        # a later error report does not move the start of the error
        self.report("instance.report_error", message="memcached: still failing")
        run = self.monitor(error_after=HOUR)
        (reference,) = run.opened
        ticket = self.call("ticket.get", self.alice, reference=reference)
        self.assertEqual((ticket.kind, ticket.requester, ticket.tree, ticket.turn,
                          ticket.messages[0].author),
                         ("monitoring", "alice", "shop", "operator", None))
        self.assertIn("memcached: still failing", ticket.messages[0].text)
        self.assertEqual(self.monitor(error_after=HOUR).opened, ())  # one per tree
        self.report("instance.report_started")
        run = self.monitor(error_after=HOUR)
        self.assertEqual((run.opened, run.closed), ((), (reference,)))
        ticket = self.call("ticket.get", self.alice, reference=reference)
        self.assertEqual((ticket.state, ticket.messages[-1].author), ("closed", None))
        self.assertIn("no error any more", ticket.messages[-1].text)

    def test_a_short_error_or_a_bang_opens_nothing(self):
        self.report("instance.report_error", message="restarting")
        self.assertEqual(self.monitor(error_after=HOUR).opened, ())
        self.report("instance.report_started")
        self.report("instance.report_error", at=time.time() - 2 * HOUR, message="down")
        self.report("instance.bang", message="please reprocess")  # not a sign of health
        self.assertEqual(len(self.monitor(error_after=HOUR).opened), 1)
        self.assertEqual(self.monitor().opened, ())  # 0 / left out: never

    def test_a_silent_computer_gets_a_ticket_for_its_owner(self):
        self.master.contacts.note("COMP-A", at=time.time() - 2 * HOUR)
        run = self.monitor(silent_after=HOUR)
        self.assertEqual(run.contacts, 1)
        (reference,) = run.opened
        ticket = self.call("ticket.get", self.alice, reference=reference)
        self.assertEqual((ticket.computer, ticket.kind), ("COMP-A", "monitoring"))
        self.assertEqual(self.monitor(silent_after=HOUR).opened, ())
        # the node polls: the next pass writes it and closes the ticket
        self.call("computer.information", self.agent, reference="COMP-A")
        run = self.monitor(silent_after=HOUR)
        self.assertEqual((run.contacts, run.closed), (1, (reference,)))

    def test_only_answered_node_calls_are_contacts(self):
        self.assertRaises(errors.Forbidden, self.call, "computer.information",
                          ComputerAgent("COMP-B"), reference="COMP-A")
        self.assertEqual(self.master.contacts.drain(), {})
        self.report("instance.report_started")
        self.assertEqual(list(self.master.contacts.drain()), ["COMP-A"])

    def test_tickets_idle_on_the_customers_side_close(self):
        waiting = self.call("ticket.create", self.alice, title="how?", text="How to resize?")
        answered = self.call("ticket.create", self.alice, title="why?", text="Why slow?")
        month_ago = time.time() - 31 * 86400
        with mock.patch("slap_core.tickets.now", return_value=month_ago):
            self.call("ticket.post", self.admin, reference=answered.reference,
                      text="Which instance?")
            self.call("ticket.post", self.alice, reference=waiting.reference, text="Anyone?")
        run = self.monitor(idle_after=30 * 86400)
        self.assertEqual(run.closed, (answered.reference,))  # the operators' turn stays open
        closed = self.call("ticket.get", self.alice, reference=answered.reference)
        self.assertEqual((closed.state, closed.messages[-1].author), ("closed", None))
        self.assertIn("No answer for 30 days", closed.messages[-1].text)

    def test_only_admins_and_sane_delays(self):
        self.assertRaises(errors.Forbidden, self.call, "ticket.monitor", User("sam", {"support"}))
        for bad in (-1, "3600", True, 1e12):
            self.assertRaises(errors.Invalid, self.monitor, error_after=bad)
