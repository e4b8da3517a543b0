"""The XML-RPC adaptor through the standard library's xmlrpc.client, against a started master.

xmlrpc.client blocks, so each call runs in a thread while the reactor serves the master.
"""

import os
import xmlrpc.client

from twisted.internet import defer, threads
from twisted.trial import unittest

from tests.fixtures import format_configuration, http_client, start_test_master

SR = "http://sr.example.invalid/software.cfg"
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    "<methodCall><methodName>person.me</methodName><params><param><value>&b;</value></param>"
    "</params></methodCall>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<methodCall><methodName>person.me</methodName><params><param><value>&x;</value></param>"
    "</params></methodCall>"
)


class XmlRpcTests(unittest.TestCase):
    """A master on 127.0.0.1 and its admin's credentials."""

    timeout = 60

    def setUp(self):
        self.running = start_test_master(self)
        self.base = self.running.urls()[0]
        login, password = self.running.credentials
        self.url = self.base.replace("http://", "http://%s:%s@" % (login, password)) + "xmlrpc"

    def call(self, method, *params, url=None):
        """Deferred result of one XML-RPC call made with xmlrpc.client in a thread."""
        def run():
            with xmlrpc.client.ServerProxy(url or self.url) as proxy:
                return getattr(proxy, method)(*params)
        return threads.deferToThread(run)

    @defer.inlineCallbacks
    def fault(self, method, *params, url=None):
        """The Fault a call raises (the test fails if it succeeds)."""
        try:
            yield self.call(method, *params, url=url)
        except xmlrpc.client.Fault as fault:
            return fault
        self.fail("%s did not fault" % method)

    @defer.inlineCallbacks
    def test_full_scenario_from_computer_to_destruction(self):
        computer = yield self.call("computer.create", {"reference": "COMP-0", "title": "node"})
        self.assertEqual((computer["reference"], computer["owner"]), ("COMP-0", "admin"))
        self.assertNotIn("network_guid", computer)  # None is left out
        formatted = yield self.call("computer.format", {
            "reference": "COMP-0", "configuration": format_configuration("COMP-0", 2)})
        self.assertEqual(formatted["partition_count"], 2)
        supply = yield self.call("supply.supply", {"url": SR, "computer": "COMP-0"})
        self.assertEqual(supply["desired_state"], "available")
        instance = yield self.call("instance.request", {
            "title": "web", "software_release": SR, "parameters": {"name": "alice"}})
        self.assertEqual((instance["state"], instance["computer"], instance["parameters"]),
                         ("started", "COMP-0", {"name": "alice"}))
        self.assertIsInstance(instance["timestamp"], str)  # beyond 32 bits
        self.assertEqual(int(instance["timestamp"]) > 2**31, True)
        read = yield self.call("instance.get", {"reference": instance["reference"]})
        self.assertEqual(read["title"], "web")
        published = yield self.call("instance.set_connection", {
            "computer": "COMP-0", "partition": instance["partition"],
            "connection": {"url": "http://web"}})
        self.assertEqual(published["connection"], {"url": "http://web"})
        seen = yield self.call("instance.request", {"title": "web", "software_release": SR})
        self.assertEqual(seen["connection"], {"url": "http://web"})
        stopped = yield self.call("instance.request", {
            "title": "web", "software_release": SR, "state": "stopped"})
        self.assertEqual(stopped["state"], "stopped")
        started = yield self.call("instance.report_started", {
            "computer": "COMP-0", "partition": instance["partition"]})
        self.assertIs(started, True)  # no result: True, not <nil/>
        destroyed = yield self.call("instance.destroy", {"reference": instance["reference"]})
        self.assertEqual(destroyed["state"], "destroyed")
        outcome = yield self.call("instance.report_destroyed", {
            "computer": "COMP-0", "partition": instance["partition"]})
        self.assertIs(outcome["freed"], True)

    @defer.inlineCallbacks
    def test_each_slap_core_error_is_a_fault_with_its_code(self):
        fault = yield self.fault("computer.get", {"reference": "COMP-404"})
        self.assertEqual(fault.faultCode, 404)
        self.assertIn("not_found", fault.faultString)
        fault = yield self.fault("instance.request", {"title": "x", "software_release": SR})
        self.assertEqual(fault.faultCode, 408)
        fault = yield self.fault("instance.request", {"title": "", "software_release": SR})
        self.assertEqual(fault.faultCode, 400)
        yield self.call("computer.create", {"reference": "COMP-0"})
        fault = yield self.fault("computer.create", {"reference": "COMP-0"})
        self.assertEqual(fault.faultCode, 409)
        anonymous = self.base + "xmlrpc"
        fault = yield self.fault("person.me", url=anonymous)
        self.assertEqual(fault.faultCode, 401)
        wrong = self.base.replace("http://", "http://admin:wrong@") + "xmlrpc"
        fault = yield self.fault("person.me", url=wrong)
        self.assertEqual(fault.faultCode, 401)
        yield self.call("person.create", {"login": "bob", "password": "pw"})
        bob = self.base.replace("http://", "http://bob:pw@") + "xmlrpc"
        fault = yield self.fault("person.list", url=bob)
        self.assertEqual(fault.faultCode, 403)

    @defer.inlineCallbacks
    def test_protocol_errors_have_their_own_codes(self):
        fault = yield self.fault("instance.teleport")
        self.assertEqual(fault.faultCode, -32601)
        fault = yield self.fault("person.me", "not a struct")
        self.assertEqual(fault.faultCode, -32602)
        fault = yield self.fault("instance.request", {"title": "x", "colour": "red"})
        self.assertEqual(fault.faultCode, 400)
        # Named in the protocol's terms: the struct's member names, never the core's function.
        self.assertEqual(fault.faultString,
                         "invalid: missing argument 'software_release'; unknown argument "
                         "'colour' (instance.request takes title, software_release; optional: "
                         "software_type, parameters, sla, state, shared)")
        fault = yield self.fault("instance.request", {"title": "x"})
        self.assertNotIn("request_instance", fault.faultString)
        self.assertIn("missing argument 'software_release'", fault.faultString)

    @defer.inlineCallbacks
    def test_introspection_lists_and_describes_every_operation(self):
        methods = yield self.call("system.listMethods")
        for name in ("instance.request", "computer.information", "usage.report",
                     "system.multicall", "system.methodHelp"):
            self.assertIn(name, methods)
        help_text = yield self.call("system.methodHelp", "instance.request")
        self.assertIn("Request (or re-request) an instance", help_text)
        self.assertIn("Who may call", help_text)
        self.assertIn("Arguments, as one struct of named arguments:\n"
                      "- title (a string): an instance title, unique among its requester's\n"
                      "- software_release (a string): a software release URL\n", help_text)
        self.assertIn("- shared (a boolean, optional): a shared instance", help_text)
        self.assertIn("Answers an InstanceView.", help_text)
        self.assertIn("Faults beyond 401 and 403: 400 Invalid, 408 NotReady, 409 Conflict, "
                      "404 NotFound.", help_text)
        # the struct may be left out only when no argument is required
        signature = yield self.call("system.methodSignature", "instance.request")
        self.assertEqual(signature, [["struct", "struct"]])
        signature = yield self.call("system.methodSignature", "instance.list")
        self.assertEqual(signature, [["array"], ["array", "struct"]])
        signature = yield self.call("system.methodSignature", "computer.bang")
        self.assertEqual(signature, [["int", "struct"]])
        help_text = yield self.call("system.methodHelp", "person.me")
        self.assertIn("No argument.", help_text)

    @defer.inlineCallbacks
    def test_a_wrongly_typed_argument_is_named_with_its_kind(self):
        fault = yield self.fault("instance.allocate_pending", {"limit": "ten"})
        self.assertEqual((fault.faultCode, fault.faultString),
                         (400, "invalid: argument 'limit' is an integer, not 'ten' (str) "
                               "(instance.allocate_pending takes no required argument; optional: "
                               "limit)"))
        fault = yield self.fault("instance.request", {"title": 7, "software_release": "x",
                                                      "parameters": ["a"]})
        self.assertIn("argument 'title' is a string, not 7 (int)", fault.faultString)
        self.assertIn("argument 'parameters' is a mapping of names to string values, not "
                      "['a'] (list)", fault.faultString)

    @defer.inlineCallbacks
    def test_multicall_answers_each_call_or_its_fault(self):
        answers = yield self.call("system.multicall", [
            {"methodName": "person.me", "params": []},
            {"methodName": "computer.get", "params": [{"reference": "COMP-404"}]},
            {"methodName": "no.such", "params": []},
            {"methodName": "catalogue.list_releases"},
        ])
        self.assertEqual(answers[0][0]["login"], "admin")
        self.assertEqual(answers[1]["faultCode"], 404)
        self.assertEqual(answers[2]["faultCode"], -32601)
        self.assertEqual(answers[3], [[]])

    @defer.inlineCallbacks
    def test_nil_endpoint_keeps_none(self):
        computer = yield self.call("computer.create", {"reference": "COMP-1"},
                                   url=self.url + "/nil")
        self.assertIn("network_guid", computer)
        self.assertIsNone(computer["network_guid"])

    @defer.inlineCallbacks
    def post_raw(self, body):
        login, password = self.running.credentials
        response = yield http_client(self).post(
            self.base + "xmlrpc", data=body, auth=(login, password),
            headers={b"Content-Type": [b"text/xml"]})
        text = yield response.content()
        return response.code, text

    @defer.inlineCallbacks
    def test_hostile_bodies_are_faults_and_the_server_keeps_serving(self):
        cases = (
            (BILLION_LAUGHS.encode(), -32600, "DTDs and entity declarations"),
            (EXTERNAL_ENTITY.encode(), -32600, "DTDs and entity declarations"),
            (b"x" * (5 * 1024 * 1024), -32600, "larger than"),
            (b"<methodCall>", -32700, "not a well-formed XML-RPC call"),
            (b"<methodCall><methodName>person.me</methodName><params><param><value>"
             b"<int>notanumber</int></value></param></params></methodCall>", -32700,
             "not a well-formed XML-RPC call"),
        )
        for body, code, fragment in cases:
            status, text = yield self.post_raw(body)
            self.assertEqual(status, 200)
            try:
                xmlrpc.client.loads(text)
            except xmlrpc.client.Fault as fault:
                self.assertEqual(fault.faultCode, code, text)
                self.assertIn(fragment, fault.faultString)
            else:
                self.fail("no fault for %r" % body[:40])
            self.assertNotIn(b"Traceback", text)
            self.assertNotIn(b"root:", text)
        me = yield self.call("person.me")
        self.assertEqual(me["login"], "admin")


class DocumentedExampleTests(XmlRpcTests):
    """docs/examples/xmlrpc_client.py works as the docs say."""

    @defer.inlineCallbacks
    def test_documented_xmlrpc_example_runs(self):
        import sys

        from twisted.internet.utils import getProcessOutputAndValue

        script = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                              "docs", "examples", "xmlrpc_client.py")
        out, err, code = yield getProcessOutputAndValue(sys.executable, [script, self.url],
                                                        env=os.environ)
        self.assertEqual(code, 0, err.decode())
        lines = out.decode().splitlines()
        self.assertEqual(lines[0], "admin")
        self.assertTrue(lines[1].endswith(" methods"))
        reference, state, partition = lines[2].split()
        self.assertEqual((state, partition), ("started", "slappart0"))
        self.assertEqual(lines[3], "demo 404")
        self.assertEqual(lines[4], "fault 400")


for _name in [n for n in dir(XmlRpcTests) if n.startswith("test_")]:
    setattr(DocumentedExampleTests, _name, None)
