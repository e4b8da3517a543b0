"""The SOAP adaptor through zeep and suds, and hostile bodies posted raw, against a started master.

zeep and suds block, so each call runs in a thread (deferToThread) while the reactor serves.
"""

import copy
import json
import os
import sys
import time

from lxml import etree
from twisted.internet import defer, reactor, task, threads
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from protocols.soap_api import NS, soap_name
from tests.fixtures import http_client, start_test_master

SR = "http://sr.example.invalid/software.cfg"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def envelope(body):
    """A SOAP 1.1 envelope around ``body`` (an operation element in our namespace)."""
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<soap:Envelope xmlns:soap="%s" xmlns:s="%s"><soap:Body>%s</soap:Body>'
            "</soap:Envelope>" % (SOAP_ENV, NS, body))


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    '<soap:Envelope xmlns:soap="%s" xmlns:s="%s"><soap:Body><s:computerGet>'
    "<s:reference>&c;</s:reference></s:computerGet></soap:Body></soap:Envelope>" % (SOAP_ENV, NS))
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<soap:Envelope xmlns:soap="%s" xmlns:s="%s"><soap:Body><s:computerGet>'
    "<s:reference>&x;</s:reference></s:computerGet></soap:Body></soap:Envelope>" % (SOAP_ENV, NS))


def detail_code(detail_xml):
    """The slap_core error code inside a fault's serialized XML (None when absent)."""
    if detail_xml is None:
        return None
    if not isinstance(detail_xml, etree._Element):
        detail_xml = etree.fromstring(detail_xml)
    found = detail_xml.find(".//{%s}code" % NS)
    return None if found is None else found.text


def entries(parameter_list):
    """A ParameterList answered by zeep or suds as a dict."""
    if parameter_list is None:
        return {}
    items = getattr(parameter_list, "entry", None) or []
    if not isinstance(items, list):
        items = [items]
    return {item.key: item.value for item in items}


def items(answer):
    """The items of a list answer (zeep unwraps ``<item>``s into a list, suds does not)."""
    if answer is None:
        return []
    if not isinstance(answer, list):
        answer = getattr(answer, "item", None) or []
    return answer if isinstance(answer, list) else [answer]


def journal(reference, partition):
    """A usage journal (TioXML) with one CPU movement of ``partition``, stopped today (UTC): the
    day the partition's instance holds it."""
    return (
        "<journal><transaction type='Sale Packing List'><title>Resource consumptions</title>"
        "<start_date></start_date><stop_date>" + time.strftime("%Y-%m-%d", time.gmtime())
        + " at 00:00:00</stop_date><reference>%s</reference><currency>EUR</currency><payment_mode/>"
        "<arrow type='Administration'><source/><destination/></arrow><movement>"
        "<resource>cpu_time</resource><title>CPU</title><reference>%s</reference>"
        "<quantity>12.5</quantity><price>0.1</price><VAT/><category>cpu</category></movement>"
        "</transaction></journal>" % (reference, partition))


def as_list(value):
    """A repeated element as a list (suds hands back one item bare)."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def entry_list(mapping):
    """A dict as the ParameterList argument both clients accept."""
    return {"entry": [{"key": k, "value": v} for k, v in mapping.items()]}


class SoapFault(Exception):
    """A fault as both clients see it: faultcode, faultstring and the detail's slap code."""

    def __init__(self, faultcode, faultstring, code):
        super().__init__("%s: %s (%s)" % (faultcode, faultstring, code))
        self.faultcode, self.faultstring, self.code = faultcode, faultstring, code


class MasterTestCase(unittest.TestCase):
    """A master on 127.0.0.1 and its admin's credentials."""

    timeout = 120

    def setUp(self):
        self.running = start_test_master(self)
        # Let the server see the clients' last connections close before the reactor is checked.
        self.addCleanup(task.deferLater, reactor, 0.05, lambda: None)
        self.base = self.running.urls()[0]
        self.url = self.base + "soap"
        self.login, self.password = self.running.credentials


class ClientScenario:
    """The scenario and fault paths, for a client made by ``make_client`` (zeep or suds)."""

    def make_client(self, login, password):
        """A blocking SOAP client of ``self.url`` (in the subclass)."""
        raise NotImplementedError

    def invoke(self, client, operation, **arguments):
        """Call ``operation`` with the blocking client; raise SoapFault for a fault."""
        raise NotImplementedError

    def client(self, login, password):
        """The blocking client of this test for these credentials (made once, in a thread)."""
        clients = self.__dict__.setdefault("_clients", {})
        if (login, password) not in clients:
            clients[login, password] = self.make_client(login, password)
        return clients[login, password]

    def call(self, operation, login=None, password=None, _arguments=None, **arguments):
        """Deferred result of one SOAP call, made in a thread.

        ``login`` and ``password`` are the caller's credentials; SOAP arguments of those names
        go in ``_arguments``.
        """
        arguments.update(_arguments or {})

        def run():
            client = self.client(login or self.login,
                                 self.password if password is None else password)
            return self.invoke(client, operation, **arguments)
        return threads.deferToThread(run)

    @defer.inlineCallbacks
    def fault(self, operation, **arguments):
        """The SoapFault a call answers (the test fails if it succeeds)."""
        try:
            yield self.call(operation, **arguments)
        except SoapFault as fault:
            return fault
        self.fail("%s did not fault" % operation)

    def recorded_envelopes(self):
        """Every envelope this test's clients sent and received, in order, as lxml elements."""
        raise NotImplementedError

    @defer.inlineCallbacks
    def test_scenario_messages_validate_against_the_wsdl_schema(self):
        response = yield http_client(self).get(self.url + "?wsdl")
        schema = wsdl_schema(etree.fromstring((yield response.content())))
        yield self.test_node_catalogue_usage_and_people_operations()
        for operation, arguments in (("computerGet", {"reference": "COMP-NONE"}),
                                     ("instanceRequest", {"title": "", "software_release": SR}),
                                     ("instanceRequest", {"title": "x", "software_release": SR,
                                                          "state": "paused"}),
                                     ("supplySupply", {"url": SR, "computer": "COMP-NONE"})):
            yield self.fault(operation, **arguments)
        bodies = [e.find("{%s}Body" % SOAP_ENV)[0] for e in self.recorded_envelopes()]
        faults = [b for b in bodies if b.tag == "{%s}Fault" % SOAP_ENV]
        bodies = [b for b in bodies if etree.QName(b).namespace == NS]
        requests = [b for b in bodies if not b.tag.endswith("Response")]
        responses = [b for b in bodies if b.tag.endswith("Response")]
        for body in bodies:
            schema.validate(body)  # raises XMLSchemaValidationError with the reason
        called = {etree.QName(b).localname for b in requests}
        answered = {etree.QName(b).localname[:-len("Response")] for b in responses}
        self.assertGreaterEqual(len(called), 30)
        self.assertLessEqual(answered, called)
        self.assertGreaterEqual(len(answered), 30)
        # Each fault's detail is the slap:error element the WSDL declares for every operation.
        self.assertGreaterEqual(len(faults), 4)
        for fault in faults:
            (error,) = fault.find("detail")
            schema.validate(error)
        # The schema does tell: a stray element makes a request, a response and a fault invalid.
        for body in (requests[0], responses[-1], faults[0].find("detail")[0]):
            spoiled = copy.deepcopy(body)
            etree.SubElement(spoiled, "{%s}stray" % NS)
            self.assertFalse(schema.is_valid(spoiled), etree.tostring(spoiled))

    @defer.inlineCallbacks
    def test_full_scenario_from_computer_to_destruction(self):
        me = yield self.call("personMe")
        self.assertEqual(me.login, self.login)
        self.assertIn("admin", list(me.roles))
        computer = yield self.call("computerCreate", reference="COMP-0", title="node")
        self.assertEqual((computer.reference, computer.owner, computer.partition_count),
                         ("COMP-0", self.login, 0))
        formatted = yield self.call("computerFormat", reference="COMP-0", configuration={
            "address": "10.0.0.1", "netmask": "255.255.0.0",
            "partition": [{"reference": "slappart%d" % i, "tap_name": "slaptap%d" % i,
                           "address": [{"addr": "10.0.1.%d" % (i + 1),
                                        "netmask": "255.255.0.0"}]} for i in range(2)]})
        self.assertEqual((formatted.partition_count, formatted.free_partition_count), (2, 2))
        supply = yield self.call("supplySupply", url=SR, computer="COMP-0")
        self.assertEqual((supply.url, supply.desired_state), (SR, "available"))
        instance = yield self.call("instanceRequest", title="web", software_release=SR,
                                   parameters=entry_list({"name": "alice", "size": "2"}),
                                   sla=entry_list({"computer_guid": "COMP-0"}))
        self.assertEqual((instance.state, instance.computer, instance.allocated),
                         ("started", "COMP-0", True))
        self.assertEqual(entries(instance.parameters), {"name": "alice", "size": "2"})
        self.assertEqual(entries(instance.sla), {"computer_guid": "COMP-0"})
        self.assertGreater(int(instance.timestamp), 2**31)  # xs:long, not a string
        ips = instance.ip_list if isinstance(instance.ip_list, list) else [instance.ip_list]
        self.assertEqual(ips[0].address, "10.0.1.%d" % (int(instance.partition[-1]) + 1))
        read = yield self.call("instanceGet", reference=instance.reference)
        self.assertEqual((read.title, read.partition), ("web", instance.partition))
        self.assertEqual(entries(read.connection), {})
        published = yield self.call("instanceSetConnection", computer="COMP-0",
                                    partition=instance.partition,
                                    connection=entry_list({"url": "http://web", "port": "80"}))
        self.assertEqual(entries(published.connection), {"url": "http://web", "port": "80"})
        seen = yield self.call("instanceRequest", title="web", software_release=SR)
        self.assertEqual(entries(seen.connection), {"url": "http://web", "port": "80"})
        self.assertEqual(entries(seen.parameters), {"name": "alice", "size": "2"})  # kept
        stopped = yield self.call("instanceRequest", title="web", software_release=SR,
                                  state="stopped")
        self.assertEqual((stopped.state, stopped.requested_state), ("stopped", "stopped"))
        destroyed = yield self.call("instanceDestroy", reference=instance.reference)
        self.assertEqual(destroyed.state, "destroyed")
        computers = yield self.call("computerList")
        self.assertEqual([c.reference for c in items(computers)], ["COMP-0"])
        supplies = yield self.call("supplyList", computer="COMP-0")
        self.assertEqual([s.url for s in items(supplies)], [SR])
        listed = yield self.call("instanceList")
        self.assertEqual([i.reference for i in items(listed)], [instance.reference])

    @defer.inlineCallbacks
    def test_node_catalogue_usage_and_people_operations(self):
        yield self.call("computerCreate", reference="COMP-0")
        yield self.call("computerFormat", reference="COMP-0", configuration={
            "partition": [{"reference": "slappart%d" % i, "tap_name": "slaptap%d" % i,
                           "address": [{"addr": "10.0.1.%d" % (i + 1),
                                        "netmask": "255.255.0.0"}]} for i in range(2)]})
        updated = yield self.call("computerUpdate", reference="COMP-0", title="renamed node",
                                  attributes=entry_list({"region": "edge"}))
        self.assertEqual((updated.title, entries(updated.attributes)),
                         ("renamed node", {"region": "edge"}))
        release = yield self.call("catalogueAddRelease", url=SR, product="web", version="1.0",
                                  product_title="Web")
        self.assertEqual((release.url, release.product, release.version), (SR, "web", "1.0"))
        products = items((yield self.call("catalogueListProducts")))
        self.assertEqual([(p.reference, p.title) for p in products], [("web", "Web")])
        self.assertEqual([r.url for r in as_list(products[0].releases)], [SR])
        releases = yield self.call("catalogueListReleases", product="web")
        self.assertEqual([r.url for r in items(releases)], [SR])
        urls = yield self.call("catalogueProductReleaseUrls", url=SR)
        self.assertEqual([str(u) for u in items(urls)], [SR])
        fault = yield self.fault("catalogueProductReleaseUrls")
        self.assertEqual(fault.code, "invalid")
        status = yield self.call("computerStatus", reference="COMP-0")
        self.assertEqual(status.text, "#access computer formatted with 2 partitions")
        self.assertGreater(float(status.at), 0)
        yield self.call("supplySupply", url=SR, computer="COMP-0")
        reported = yield self.call("supplyReport", url=SR, computer="COMP-0", state="available")
        self.assertEqual(reported.reported_state, "available")
        instance = yield self.call("instanceRequest", title="web", software_release=SR,
                                   parameters=entry_list({"name": "alice"}))
        part = instance.partition
        information = yield self.call("computerInformation", reference="COMP-0")
        self.assertEqual([(s.url, s.state) for s in as_list(information.software)],
                         [(SR, "available")])
        partitions = {p.reference: p for p in as_list(information.partitions)}
        self.assertEqual(sorted(partitions), ["slappart0", "slappart1"])
        seen = entries(partitions[part].parameter_dict)
        self.assertEqual((seen["name"], seen["instance_title"]), ("alice", "web"))
        self.assertEqual(json.loads(seen["ip_list"])[0][1], "10.0.1.%d" % (int(part[-1]) + 1))
        partition = yield self.call("computerPartition", reference="COMP-0", partition=part)
        self.assertEqual((partition.instance, partition.state), (instance.reference, "started"))
        self.assertEqual([a.network_interface for a in as_list(partition.addresses)],
                         ["slaptap%s" % part[-1]])
        nothing = yield self.call("instanceReportStarted", computer="COMP-0", partition=part)
        self.assertIsNone(nothing)
        read = yield self.call("instanceGet", reference=instance.reference)
        self.assertEqual(read.status_text, "#access Instance correctly started")
        yield self.call("instanceReportError", computer="COMP-0", partition=part, message="boom")
        read = yield self.call("instanceGet", reference=instance.reference)
        self.assertEqual(read.status_text, "#error boom")
        banged = yield self.call("computerBang", reference="COMP-0", message="hi")
        self.assertEqual(int(banged), 1)
        yield self.call("instanceBang", computer="COMP-0", partition=part)
        ips = yield self.call("instanceHostingIpList", computer="COMP-0", partition=part)
        self.assertEqual([ip.address for ip in items(ips)], ["10.0.1.%d" % (int(part[-1]) + 1)])
        renamed = yield self.call("instanceRename", computer="COMP-0", partition=part,
                                  new_name="web2")
        self.assertEqual(renamed.title, "web2")
        trees = items((yield self.call("treeList")))
        self.assertEqual([(t.title, as_list(t.instances)) for t in trees],
                         [("web2", [instance.reference])])
        yield self.call("instanceReportStopped", computer="COMP-0", partition=part)
        placed = yield self.call("instanceAllocatePending", limit=10)
        self.assertEqual(int(placed), 0)
        usage = yield self.call("usageReport", computer="COMP-0", document=journal("COMP-0", part))
        self.assertEqual(int(usage.record_count), 1)
        records = items((yield self.call("usageList", computer="COMP-0")))
        self.assertEqual([(r.partition, r.instance, float(r.quantity)) for r in records],
                         [(part, instance.reference, 12.5)])
        yield self.call("instanceDestroy", reference=instance.reference)
        outcome = yield self.call("instanceReportDestroyed", computer="COMP-0", partition=part)
        self.assertTrue(outcome.freed)
        person = yield self.call("personCreate", _arguments=dict(
            login="bob", password="pw", roles=["user"], full_name="Bob"))
        self.assertEqual((person.login, as_list(person.roles), person.has_password),
                         ("bob", ["user"], True))
        checked = yield self.call("personCheckPassword",
                                  _arguments=dict(login="bob", password="pw"))
        self.assertEqual(checked.login, "bob")
        fault = yield self.fault("personCheckPassword",
                                _arguments=dict(login="bob", password="bad"))
        self.assertEqual(fault.code, "unauthenticated")
        removed = yield self.call("personSetPassword",
                                  _arguments=dict(login="bob", password=""))
        self.assertFalse(removed.has_password)
        people = items((yield self.call("personList")))
        self.assertEqual(sorted(p.login for p in people), sorted([self.login, "bob"]))

    @defer.inlineCallbacks
    def test_unknown_computer_is_a_client_fault_with_not_found_detail(self):
        fault = yield self.fault("computerGet", reference="COMP-404")
        self.assertEqual((fault.faultcode, fault.code), ("Client", "not_found"))
        self.assertIn("COMP-404", fault.faultstring)
        fault = yield self.fault("supplySupply", url=SR, computer="COMP-404")
        self.assertEqual(fault.code, "not_found")

    @defer.inlineCallbacks
    def test_bad_credentials_are_unauthenticated_faults(self):
        fault = yield self.fault("personMe", password="wrong")
        self.assertEqual((fault.faultcode, fault.code), ("Client", "unauthenticated"))
        fault = yield self.fault("personMe", login="nobody", password="x")
        self.assertEqual(fault.code, "unauthenticated")

    @defer.inlineCallbacks
    def test_invalid_input_is_a_client_fault_with_invalid_detail(self):
        fault = yield self.fault("instanceRequest", title="", software_release=SR)
        self.assertEqual((fault.faultcode, fault.code), ("Client", "invalid"))
        fault = yield self.fault("instanceRequest", title="x", software_release=SR,
                                 state="melted")
        self.assertEqual(fault.code, "invalid")
        fault = yield self.fault("instanceRequest", title="x", software_release=SR,
                                 parameters=entry_list({"a": "1"}) | {
                                     "entry": [{"key": "a", "value": "1"},
                                               {"key": "a", "value": "2"}]})
        self.assertEqual(fault.code, "invalid")
        fault = yield self.fault("instanceRequest", title="waiting", software_release=SR)
        self.assertEqual(fault.code, "not_ready")
        yield self.call("computerCreate", reference="COMP-1")
        fault = yield self.fault("computerCreate", reference="COMP-1")
        self.assertEqual(fault.code, "conflict")


XSD = "{http://www.w3.org/2001/XMLSchema}"


def wsdl_schema(wsdl):
    """The xmlschema schema embedded in a WSDL document (its ``types``), standing alone.

    The ``xs:schema`` is copied under the WSDL's namespace declarations, which its QName
    attribute values (``type="tns:Person"``) rely on.
    """
    import xmlschema

    (embedded,) = wsdl.iterfind("{http://schemas.xmlsoap.org/wsdl/}types/%sschema" % XSD)
    standalone = etree.Element(embedded.tag, dict(embedded.attrib), nsmap=embedded.nsmap)
    standalone.extend(copy.deepcopy(child) for child in embedded)
    return xmlschema.XMLSchema(etree.tostring(standalone).decode())


class Recorder:
    """A zeep plugin keeping every envelope sent and received, in order."""

    def __init__(self):
        self.envelopes = []

    def egress(self, envelope, http_headers, operation, binding_options):
        self.envelopes.append(copy.deepcopy(envelope))
        return envelope, http_headers

    def ingress(self, envelope, http_headers, operation):
        self.envelopes.append(copy.deepcopy(envelope))
        return envelope, http_headers


def suds_recorder():
    """A suds message plugin whose ``messages`` are every envelope sent and received (bytes)."""
    from suds.plugin import MessagePlugin

    class Recorder(MessagePlugin):
        def __init__(self):
            self.messages = []

        def sending(self, context):
            self.messages.append(bytes(context.envelope))

        def received(self, context):
            self.messages.append(bytes(context.reply))

    return Recorder()


class ZeepTests(ClientScenario, MasterTestCase):
    """zeep 4 loads the WSDL and runs the scenario."""

    def make_client(self, login, password):
        import requests
        import zeep
        from zeep.transports import Transport

        session = requests.Session()
        session.auth = (login, password)
        session.headers["Connection"] = "close"  # no idle connection left to the reactor
        recorder = self.__dict__.setdefault("recorder", Recorder())
        return zeep.Client(self.url + "?wsdl", transport=Transport(session=session),
                           plugins=[recorder])

    def recorded_envelopes(self):
        return self.recorder.envelopes

    def invoke(self, client, operation, **arguments):
        import zeep.exceptions

        try:
            return getattr(client.service, operation)(**arguments)
        except zeep.exceptions.Fault as fault:
            raise SoapFault(fault.code.split(":")[-1], fault.message,
                            detail_code(fault.detail)) from None


class SudsTests(ClientScenario, MasterTestCase):
    """suds (the suds package) loads the WSDL and runs the scenario."""

    def make_client(self, login, password):
        from suds.client import Client
        from suds.transport.http import HttpAuthenticated

        transport = HttpAuthenticated(username=login, password=password)
        recorder = self.__dict__.get("recorder") or self.__dict__.setdefault("recorder", suds_recorder())
        return Client(self.url + "?wsdl", transport=transport, cache=None, plugins=[recorder])

    def recorded_envelopes(self):
        return [etree.fromstring(message) for message in self.recorder.messages]

    def invoke(self, client, operation, **arguments):
        from suds import WebFault

        try:
            return getattr(client.service, operation)(**arguments)
        except WebFault as fault:
            raise SoapFault(str(fault.fault.faultcode).split(":")[-1],
                            str(fault.fault.faultstring),
                            detail_code(str(fault.document).encode())) from None


class HostileBodyTests(MasterTestCase):
    """Hostile and malformed bodies posted raw: each a fault, and the server keeps serving."""

    @defer.inlineCallbacks
    def post(self, body, content_type=b"text/xml; charset=utf-8"):
        """(status, parsed fault or response envelope) for a raw POST."""
        headers = {b"SOAPAction": [b'""']}
        if content_type:
            headers[b"Content-Type"] = [content_type]
        response = yield http_client(self).post(self.url, data=body,
                                                auth=(self.login, self.password),
                                                headers=headers)
        text = yield response.content()
        return response.code, text

    def assertFault(self, text, faultcode, code, fragment=None):
        """``text`` is a SOAP fault with ``faultcode`` and detail ``code``."""
        document = etree.fromstring(text)
        fault = document.find("{%s}Body/{%s}Fault" % (SOAP_ENV, SOAP_ENV))
        self.assertIsNotNone(fault, text)
        self.assertEqual(fault.findtext("faultcode").split(":")[-1], faultcode, text)
        self.assertEqual(detail_code(fault.find("detail")), code, text)
        if fragment:
            self.assertIn(fragment, fault.findtext("faultstring"))
        self.assertNotIn(b"Traceback", text)
        self.assertNotIn(b"root:", text)

    @defer.inlineCallbacks
    def assertStillServing(self):
        status, text = yield self.post(envelope("<s:personMe/>").encode())
        self.assertEqual(status, 200, text)
        self.assertEqual(etree.fromstring(text).findtext(".//{%s}login" % NS), self.login)

    @defer.inlineCallbacks
    def test_billion_laughs_is_refused(self):
        status, text = yield self.post(BILLION_LAUGHS.encode())
        self.assertEqual(status, 500)
        self.assertFault(text, "Client", "invalid", "DTD")
        yield self.assertStillServing()

    @defer.inlineCallbacks
    def test_external_entity_is_refused(self):
        status, text = yield self.post(EXTERNAL_ENTITY.encode())
        self.assertFault(text, "Client", "invalid", "DTD")
        yield self.assertStillServing()

    @defer.inlineCallbacks
    def test_ten_megabyte_body_is_refused(self):
        body = envelope("<s:computerGet><s:reference>%s</s:reference></s:computerGet>"
                        % ("x" * (10 * 1024 * 1024))).encode()
        status, text = yield self.post(body)
        self.assertFault(text, "Client", "invalid", "larger than")
        yield self.assertStillServing()

    @defer.inlineCallbacks
    def test_malformed_envelopes_are_client_faults(self):
        for body in (b"<soap:Envelope", b"not xml at all", envelope("<s:computerGet>").encode(),
                     b'<?xml version="1.0"?><Envelope><Body/></Envelope>',
                     envelope("<s:noSuchOperation/>").encode()):
            status, text = yield self.post(body)
            self.assertEqual(status, 500, text)
            self.assertFault(text, "Client", "invalid")
        yield self.assertStillServing()

    @defer.inlineCallbacks
    def test_wrong_types_are_client_faults(self):
        for body in (
            envelope("<s:instanceRequest><s:title>x</s:title><s:software_release>%s"
                     "</s:software_release><s:shared>perhaps</s:shared></s:instanceRequest>"
                     % SR),
            envelope("<s:instanceGet><s:reference><s:nested/></s:reference></s:instanceGet>"),
            envelope("<s:instanceGet/>"),  # a required argument missing
            envelope("<s:instanceRequest><s:title>x</s:title><s:software_release>%s"
                     "</s:software_release><s:parameters><s:entry><s:value>v</s:value>"
                     "</s:entry></s:parameters></s:instanceRequest>" % SR),
        ):
            status, text = yield self.post(body.encode())
            self.assertEqual(status, 500, text)
            self.assertFault(text, "Client", "invalid")
            self.assertNotIn(b"<faultstring>b", text)  # no bytes repr from lxml
        yield self.assertStillServing()

    @defer.inlineCallbacks
    def test_anonymous_calls_are_unauthenticated_and_get_is_not_soap(self):
        response = yield http_client(self).post(
            self.url, data=envelope("<s:personMe/>").encode(),
            headers={b"Content-Type": [b"text/xml"]})
        text = yield response.content()
        self.assertFault(text, "Client", "unauthenticated")
        response = yield http_client(self).get(self.url)
        self.assertEqual(response.code, 405)
        yield response.content()

    @defer.inlineCallbacks
    def test_wsdl_names_the_address_it_was_fetched_at(self):
        response = yield http_client(self).get(self.url + "?wsdl")
        text = yield response.content()
        self.assertEqual(response.code, 200)
        wsdl = etree.fromstring(text)
        address = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
        self.assertEqual(address.get("location"), self.url)
        style = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}binding").get("style")
        self.assertEqual(style, "document")
        wsdl_ns = "{http://schemas.xmlsoap.org/wsdl/}"
        operations = {o.get("name") for o in wsdl.iterfind(
            "%sportType/%soperation" % (wsdl_ns, wsdl_ns))}
        for name in ("personMe", "computerCreate", "computerFormat", "supplySupply",
                     "instanceRequest", "instanceGet", "instanceSetConnection",
                     "instanceDestroy"):
            self.assertIn(name, operations)


class RegistryTests(MasterTestCase):
    """Every slap_core operation is served: a new one cannot land without its SOAP operation."""

    @defer.inlineCallbacks
    def test_wsdl_has_an_operation_for_each_registered_operation(self):
        from slap_core.master import load_all

        response = yield http_client(self).get(self.url + "?wsdl")
        wsdl = etree.fromstring((yield response.content()))
        wsdl_ns = "{http://schemas.xmlsoap.org/wsdl/}"
        expected = {soap_name(name) for name in load_all()}
        self.assertEqual(len(expected), len(load_all()))  # no two names collide
        for path in ("portType", "binding"):
            served = {o.get("name") for o in wsdl.iterfind(
                "%s%s/%soperation" % (wsdl_ns, path, wsdl_ns))}
            self.assertEqual(served, expected, path)
        # Every operation declares its fault: the message "error" whose part is slap:error.
        (message,) = [m for m in wsdl.iterfind(wsdl_ns + "message") if m.get("name") == "error"]
        self.assertEqual(message.find(wsdl_ns + "part").get("element"), "tns:error")
        for path in ("portType", "binding"):
            for operation in wsdl.iterfind("%s%s/%soperation" % (wsdl_ns, path, wsdl_ns)):
                faults = [f.get("name") for f in operation.iterfind(wsdl_ns + "fault")]
                self.assertEqual(faults, ["error"], (path, operation.get("name")))
        # What is served is schemas/slapgate.wsdl, addressed to the URL it was fetched at.
        import schemas
        from protocols.soap_api import WSDL_PLACEHOLDER

        served = etree.tostring(wsdl).replace(self.url.encode(), WSDL_PLACEHOLDER.encode())
        checked_in = etree.tostring(etree.parse(str(schemas.path("slapgate.wsdl"))).getroot())
        self.assertEqual(served, checked_in)


class CheckedInWsdlTests(unittest.TestCase):
    """schemas/slapgate.wsdl is the contract: what spyne derives from the operations, served as is."""

    def test_checked_in_wsdl_is_what_the_operations_generate(self):
        import schemas
        from protocols.soap_api import generated_wsdl

        checked_in = schemas.path("slapgate.wsdl").read_bytes()
        self.assertTrue(checked_in == generated_wsdl(),
                        "schemas/slapgate.wsdl is stale: regenerate it with "
                        "`python -m protocols.soap_api > schemas/slapgate.wsdl` and review the diff")


class DocumentedExampleTests(MasterTestCase):
    """docs/examples/soap_client.py works as docs/soap.md says."""

    @defer.inlineCallbacks
    def test_documented_zeep_example_runs(self):
        script = os.path.join(ROOT, "docs", "examples", "soap_client.py")
        out, err, code = yield getProcessOutputAndValue(
            sys.executable, [script, self.url + "?wsdl", self.login, self.password],
            env=os.environ)
        self.assertEqual(code, 0, err.decode())
        lines = out.decode().splitlines()
        self.assertEqual(lines[0], self.login)
        reference, state, partition = lines[1].split()
        self.assertEqual((state, partition), ("started", "slappart0"))
        self.assertEqual(lines[2], "url=http://demo.example")
        self.assertEqual(lines[3], "Client not_found")


class ServerFaultTests(unittest.TestCase):
    """An unexpected error inside an operation is a Server fault that tells nothing more."""

    def test_internal_error_is_a_server_fault_without_details(self):
        import io

        from protocols.soap_api import SoapApplication
        from slap_core.principals import Anonymous

        class BrokenMaster:
            def call(self, name, principal, **arguments):
                raise RuntimeError("secret database path /var/lib/x")

        class Authenticator:
            def principal_blocking(self, header):
                return Anonymous()

        body = envelope("<s:personMe/>").encode()
        answered = []
        chunks = SoapApplication(BrokenMaster(), Authenticator())({
            "REQUEST_METHOD": "POST", "CONTENT_TYPE": "text/xml", "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body), "SERVER_NAME": "x", "SERVER_PORT": "80",
            "wsgi.url_scheme": "http", "PATH_INFO": "", "SCRIPT_NAME": "/soap",
            "QUERY_STRING": ""}, lambda status, headers: answered.append(status))
        text = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
        self.assertEqual(answered, ["500 Internal Server Error"])
        fault = etree.fromstring(text).find(".//{%s}Fault" % SOAP_ENV)
        self.assertEqual(fault.findtext("faultcode").split(":")[-1], "Server")
        self.assertEqual(fault.findtext("faultstring"), "internal error")
        self.assertEqual(detail_code(fault.find("detail")), "internal")
        self.assertNotIn(b"secret", text)


class ClientFaultLogTests(MasterTestCase):
    """A caller's error is one line of the master's log, without spyne's traceback."""

    @defer.inlineCallbacks
    def test_a_client_fault_is_one_log_line_and_no_traceback(self):
        import logging

        from twisted.logger import LogLevel, formatEvent, globalLogPublisher

        events, records = [], []

        class Keep(logging.Handler):
            def emit(self, record):
                records.append(record)

        handler = Keep(level=logging.DEBUG)
        spyne_logger = logging.getLogger("spyne")
        spyne_logger.addHandler(handler)
        self.addCleanup(spyne_logger.removeHandler, handler)
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        body = envelope("<s:computerGet><s:reference>COMP-9</s:reference></s:computerGet>")
        response = yield http_client(self).post(
            self.url, data=body.encode(), auth=(self.login, self.password),
            headers={b"Content-Type": [b"text/xml; charset=utf-8"],
                     b"SOAPAction": [b"computerGet"]})
        text = yield response.content()
        self.assertEqual(response.code, 500)
        self.assertIn(b"not_found", text)
        said = [formatEvent(e) for e in events if e.get("log_namespace") == "slapgate.soap"]
        self.assertEqual(said, ["SOAP computerGet refused: not_found: no computer 'COMP-9'"])
        self.assertEqual([e.get("log_level") for e in events
                          if e.get("log_namespace") == "slapgate.soap"], [LogLevel.info])
        self.assertEqual([r for r in records if r.exc_info], [])


class OperationsTableTests(unittest.TestCase):
    """docs/operations.md names exactly the SOAP operations served, and docs/soap.md lists them."""

    def test_soap_column_matches_the_served_operations(self):
        from protocols.soap_api import OPERATIONS
        from tests.protocols.test_docs import operation_rows

        served = {spec.operation: "`%s`" % spec.soap_name for spec in OPERATIONS}
        documented = {name: cells[6] for name, cells in operation_rows().items()
                      if cells[6] != "—"}
        self.assertEqual(documented, served)
        with open(os.path.join(ROOT, "docs", "soap.md")) as handle:
            soap_md = handle.read()
        for name in served.values():
            self.assertIn("| %s |" % name, soap_md)


class SpyneGarbageCollectionTests(unittest.TestCase):
    """spyne's once-a-second full gc.collect() after a call is off in the master."""

    def test_no_collection_after_a_call(self):
        import gc

        import spyne.const
        from spyne.context import MethodContext

        self.assertEqual(spyne.const.MIN_GC_INTERVAL, float("inf"))
        collected = []
        self.patch(gc, "collect", lambda *args: collected.append(args))
        from spyne.server.wsgi import WsgiApplication

        from protocols.soap_api import build_application

        context = MethodContext(WsgiApplication(build_application()), MethodContext.SERVER)
        context.close()
        self.assertEqual(collected, [])
