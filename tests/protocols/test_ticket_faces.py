"""Support tickets over the wire: a customer and a support person exchange messages and files
over SOAP (zeep, as an ERP's CRM would), REST and XML-RPC (xmlrpc.client)."""

import base64
import json
import xmlrpc.client

from twisted.internet import defer, reactor, task, threads
from twisted.trial import unittest

from slap_core.principals import ComputerAgent, User
from slap_core.tickets import ATTACHMENT_LIMIT
from tests.fixtures import SR, format_configuration, http_client, start_test_master

LOG = b"\x00\x01 a binary log \xff\n"
PEOPLE = {"alice": ("alice-secret", ["user"]), "sam": ("sam-secret", ["support"]),
          "bob": ("bob-secret", ["user"])}


class TicketFacesTests(unittest.TestCase):
    """alice has a service "shop"; sam is support; bob is another customer."""

    timeout = 120

    def setUp(self):
        self.running = start_test_master(self)
        self.addCleanup(task.deferLater, reactor, 0.05, lambda: None)
        self.base = self.running.urls()[0]
        master, admin = self.running.master, User(self.running.credentials[0], {"admin"})
        for login, (password, roles) in PEOPLE.items():
            master.call("person.create", admin, login=login, password=password, roles=roles)
        master.call("computer.create", admin, reference="COMP-0")
        master.call("computer.format", ComputerAgent("COMP-0"), reference="COMP-0",
                    configuration=format_configuration("COMP-0", 1))
        master.call("supply.supply", admin, url=SR, computer="COMP-0")
        master.call("instance.request", User("alice"), title="shop", software_release=SR)

    def zeep(self, login):
        import requests
        import zeep
        from zeep.transports import Transport

        session = requests.Session()
        session.auth = (login, PEOPLE[login][0])
        session.headers["Connection"] = "close"
        return zeep.Client(self.base + "soap?wsdl", transport=Transport(session=session)).service

    @defer.inlineCallbacks
    def test_soap_a_crm_pulls_tickets_and_posts_answers(self):
        alice, sam = yield threads.deferToThread(lambda: (self.zeep("alice"), self.zeep("sam")))
        opened = yield threads.deferToThread(
            alice.ticketCreate, title="shop is slow", text="Pages take 10 s.", kind="complaint",
            tree="shop", attachment=LOG, attachment_name="shop.log",
            attachment_type="application/octet-stream")
        self.assertEqual((opened.state, opened.turn, opened.tree, len(opened.messages)),
                         ("open", "operator", "shop", 1))
        listed = yield threads.deferToThread(sam.ticketList)
        self.assertEqual([(t.reference, t.requester, t.message_count) for t in listed],
                         [(opened.reference, "alice", 1)])
        attached = yield threads.deferToThread(sam.ticketAttachment,
                                               reference=opened.reference, message=1)
        self.assertEqual((attached.content, attached.filename), (LOG, "shop.log"))
        answered = yield threads.deferToThread(sam.ticketPost, reference=opened.reference,
                                               text="Fixed: a full disk.")
        self.assertEqual(answered.turn, "customer")
        thread = yield threads.deferToThread(alice.ticketGet, reference=opened.reference)
        self.assertEqual([(m.number, m.author, m.text) for m in thread.messages],
                         [(1, "alice", "Pages take 10 s."), (2, "sam", "Fixed: a full disk.")])
        closed = yield threads.deferToThread(alice.ticketClose, reference=opened.reference,
                                             text="Thank you.")
        self.assertEqual((closed.state, len(closed.messages)), ("closed", 3))
        self.assertEqual((yield threads.deferToThread(alice.ticketList)), [])

    def rest(self, method, path, login, body=None):
        client = http_client(self)
        url = self.base + "api/" + path
        kwargs = {"auth": (login, PEOPLE[login][0])}
        if body is not None:
            kwargs["data"] = json.dumps(body).encode()
            kwargs["headers"] = {"Content-Type": ["application/json"]}
        return client.request(method, url, **kwargs)

    @defer.inlineCallbacks
    def test_rest_thread_attachment_and_refusals(self):
        response = yield self.rest("POST", "tickets", "alice", {
            "title": "shop is down", "text": "Nothing answers.", "tree": "shop",
            "attachment": base64.b64encode(LOG).decode(), "attachment_name": "shop.log",
            "attachment_type": "text/plain"})
        self.assertEqual(response.code, 201)
        ticket = yield response.json()
        self.assertEqual(response.headers.getRawHeaders("location"),
                         ["/api/tickets/" + ticket["reference"]])
        path = "tickets/" + ticket["reference"]
        response = yield self.rest("GET", path + "/messages/1/attachment", "sam")
        self.assertEqual((response.code, (yield response.content())), (200, LOG))
        self.assertEqual(response.headers.getRawHeaders("content-type"), ["text/plain"])
        self.assertEqual(response.headers.getRawHeaders("content-disposition"),
                         ["attachment; filename*=UTF-8''shop.log"])
        response = yield self.rest("POST", path + "/messages", "sam", {"text": "Looking."})
        self.assertEqual(((yield response.json())["turn"]), "customer")
        # bob sees nothing of it; a customer may not assign
        for method, where in (("GET", path), ("POST", path + "/closing"),
                              ("GET", path + "/messages/1/attachment")):
            response = yield self.rest(method, where, "bob", {} if method == "POST" else None)
            self.assertEqual(response.code, 404, (method, where))
            yield response.content()
        response = yield self.rest("PUT", path + "/assignee", "alice", {"assignee": "sam"})
        self.assertEqual(response.code, 403)
        yield response.content()
        # an attachment over the master's limit: 422, and the thread is as it was
        self.running.master.storage.session_info[ATTACHMENT_LIMIT] = 8
        response = yield self.rest("POST", path + "/messages", "alice", {
            "text": "the big log", "attachment": base64.b64encode(b"x" * 9).decode()})
        problem = yield response.json()
        self.assertEqual((response.code, problem["code"]), (422, "invalid"))
        self.assertIn("at most 8 bytes", problem["detail"])
        response = yield self.rest("GET", path, "alice")
        self.assertEqual(len((yield response.json())["messages"]), 2)
        response = yield self.rest("GET", "tickets?include_closed=true", "sam")
        self.assertEqual([t["reference"] for t in (yield response.json())["items"]],
                         [ticket["reference"]])

    @defer.inlineCallbacks
    def test_xmlrpc_binary_attachments(self):
        def run(login, method, arguments):
            url = self.base.replace("http://", "http://%s:%s@" % (login, PEOPLE[login][0]))
            with xmlrpc.client.ServerProxy(url + "xmlrpc") as proxy:
                return getattr(proxy, method)(arguments)

        opened = yield threads.deferToThread(run, "alice", "ticket.create", {
            "title": "question", "text": "How do I resize?"})
        posted = yield threads.deferToThread(run, "alice", "ticket.post", {
            "reference": opened["reference"], "text": "a screenshot",
            "attachment": xmlrpc.client.Binary(LOG), "attachment_name": "screen.png",
            "attachment_type": "image/png"})
        self.assertEqual(posted["messages"][1]["attachment_size"], len(LOG))
        attached = yield threads.deferToThread(run, "sam", "ticket.attachment", {
            "reference": opened["reference"], "message": 2})
        self.assertEqual((attached["content"].data, attached["media_type"]), (LOG, "image/png"))
        with self.assertRaises(xmlrpc.client.Fault):
            yield threads.deferToThread(run, "bob", "ticket.get",
                                        {"reference": opened["reference"]})
