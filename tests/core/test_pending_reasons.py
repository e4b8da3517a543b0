"""A request that waits says what it waits for (issue 17, item 3): the core's NotReady, the
instance's status while it waits (cleared once placed), and each face's answer (XML-RPC's fault,
REST's 202 body, SOAP's fault, SLAP's 408)."""

import json
import xmlrpc.client

from twisted.internet import defer, threads
from twisted.trial import unittest

from gateway.server import local_admin
from slap_core import errors
from tests.fixtures import OTHER_SR, SR, MasterTestCase, http_client, start_test_master


class PendingReasonTests(MasterTestCase):
    """Why an instance gets no partition, in the core."""

    def setUp(self):
        super().setUp()
        self.make_computer("COMP-0", partitions=1, supply=(SR,))

    def waiting(self, title, **arguments):
        """Request as alice; the NotReady message and the instance's status."""
        error = self.assertRaises(errors.NotReady, self.request, self.alice, title, **arguments)
        view = self.call("instance.get", self.alice, reference=error.result.reference)
        self.assertEqual(error.result.status_text, view.status_text)
        return str(error), view.status_text

    def test_an_unknown_computer_is_named(self):
        message, status = self.waiting("a", sla={"computer_guid": "COMP-9"})
        self.assertEqual(message, "instance 'a' is not allocated yet: no computer 'COMP-9'")
        self.assertEqual(status, "#pending no computer 'COMP-9'")

    def test_a_closed_computer_is_named_with_its_scope(self):
        self.make_computer("COMP-1", supply=(SR,), allocation_scope="close")
        _, status = self.waiting("a", sla={"computer_guid": "COMP-1"})
        self.assertEqual(status, "#pending computer 'COMP-1' is not open to allocation "
                                 "(allocation scope close)")

    def test_a_release_nobody_supplies(self):
        _, status = self.waiting("a", software_release=OTHER_SR)
        self.assertEqual(status, "#pending release not supplied on any open computer")
        _, status = self.waiting("b", software_release=OTHER_SR, sla={"computer_guid": "COMP-0"})
        self.assertEqual(status, "#pending release not supplied on 'COMP-0'")
        _, status = self.waiting("c", software_release=OTHER_SR, sla={"network_guid": "n1"})
        self.assertEqual(status, "#pending release not supplied on any open computer the SLA "
                                 "allows")

    def test_no_free_partition(self):
        self.request(self.alice, "first")
        _, status = self.waiting("second")
        self.assertEqual(status, "#pending no free partition on the open computers supplied "
                                 "with the release")

    def test_the_reason_follows_the_fleet_and_leaves_once_placed(self):
        _, status = self.waiting("a", sla={"computer_guid": "COMP-9"})
        self.call("computer.create", self.admin, reference="COMP-9")
        self.assertEqual(self.call("instance.allocate_pending", self.admin), 0)
        view = self.call("instance.list", self.alice)[0]
        self.assertEqual(view.status_text, "#pending release not supplied on 'COMP-9'")
        self.make_computer("COMP-8")  # formats and supplies SR; COMP-9 is still bare
        self.call("computer.format", self.admin, reference="COMP-9",
                  configuration=__import__("tests.fixtures", fromlist=["x"])
                  .format_configuration("COMP-9", 1, subnet=9))
        self.call("supply.supply", self.admin, url=SR, computer="COMP-9")
        self.assertEqual(self.call("instance.allocate_pending", self.admin), 1)
        view = self.call("instance.list", self.alice)[0]
        self.assertEqual((view.computer, view.status_text, view.status_at), ("COMP-9", None, None))

    def test_a_re_request_that_still_waits_keeps_saying_why(self):
        self.waiting("a", sla={"computer_guid": "COMP-9"})
        message, status = self.waiting("a", sla={"computer_guid": "COMP-7"})
        self.assertIn("no computer 'COMP-7'", message)
        self.assertEqual(status, "#pending no computer 'COMP-7'")


class PendingReasonWireTests(unittest.TestCase):
    """The faces' answers to a request for an unknown computer."""

    timeout = 60

    def setUp(self):
        self.running = start_test_master(self, insecure_loopback=True)
        self.base = self.running.urls()[0]
        self.running.master.call("person.create", local_admin(), login="alice",
                                 password="secret-word", roles=["user"])
        self.client = http_client(self)

    @defer.inlineCallbacks
    def test_xmlrpc_fault_and_rest_202_say_what_the_request_waits_for(self):
        url = self.base.replace("http://", "http://alice:secret-word@") + "xmlrpc"

        def request():
            with xmlrpc.client.ServerProxy(url) as proxy:
                try:
                    return proxy.instance.request({"title": "a", "software_release": SR,
                                                   "sla": {"computer_guid": "COMP-9"}})
                except xmlrpc.client.Fault as fault:
                    return fault

        error = yield threads.deferToThread(request)
        self.assertIsInstance(error, xmlrpc.client.Fault)
        self.assertEqual(error.faultCode, 408)
        self.assertIn("no computer 'COMP-9'", error.faultString)

        response = yield self.client.post(
            self.base + "api/instances", json.dumps(
                {"title": "b", "software_release": OTHER_SR}).encode(),
            headers={b"Content-Type": [b"application/json"]},
            auth=("alice", "secret-word"))
        body = json.loads((yield response.content()))
        self.assertEqual(response.code, 202, body)
        self.assertEqual(body["status_text"], "#pending release not supplied on any open "
                                              "computer")
