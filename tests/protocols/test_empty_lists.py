"""An empty list is empty on every face (issue 17, item 9): ``[]`` on XML-RPC, ``[]`` through
zeep on SOAP (no ``result`` element, not an empty wrapper zeep reads as None), ``{"items": []}``
on REST; checked for every list operation a fresh master answers with nothing."""

import xmlrpc.client

from twisted.internet import defer, threads
from twisted.trial import unittest

from protocols.rest.routes import ROUTES
from protocols.soap_api import OPERATIONS
from tests.fixtures import start_test_master

# A fresh master has its admin (person.list) and nothing else; operation -> arguments.
EMPTY = {spec.operation: {} for spec in OPERATIONS
         if getattr(spec.returns, "slapgate_items", None) is not None
         and spec.operation not in ("person.list", "instance.hosting_ip_list",
                                    "computer.revisions", "certificate.revoke")}
EMPTY["catalogue.product_release_urls"] = {"product": "nothing"}


class EmptyListTests(unittest.TestCase):
    """Every list operation with nothing to list, on XML-RPC, SOAP (zeep) and REST."""

    timeout = 120

    def setUp(self):
        self.running = start_test_master(self)
        self.base = self.running.urls()[0]
        self.login, self.password = self.running.credentials

    def test_the_table_covers_the_list_operations(self):
        self.assertIn("computer.list", EMPTY)
        self.assertGreaterEqual(len(EMPTY), 11)

    def answers(self):
        """{operation: {face: answer}} (blocking: run in a thread)."""
        import requests
        import zeep
        from zeep.transports import Transport

        session = requests.Session()
        session.auth = (self.login, self.password)
        session.headers["Connection"] = "close"
        soap = zeep.Client(self.base + "soap?wsdl", transport=Transport(session=session))
        url = self.base.replace("http://", "http://%s:%s@" % (self.login, self.password))
        found = {}
        with xmlrpc.client.ServerProxy(url + "xmlrpc") as proxy:
            for spec in OPERATIONS:
                if spec.operation not in EMPTY:
                    continue
                arguments = EMPTY[spec.operation]
                found[spec.operation] = {
                    "xmlrpc": getattr(proxy, spec.operation)(arguments),
                    "soap": getattr(soap.service, spec.soap_name)(**arguments)}
                for route in ROUTES:
                    if (route.operations == (spec.operation,) and route.method == "GET"
                            and route.listing and "{" not in route.path):
                        response = session.get(self.base + "api" + route.path, timeout=30)
                        found[spec.operation]["rest"] = response.json()["items"]
        return found

    @defer.inlineCallbacks
    def test_an_empty_list_is_empty_on_every_face(self):
        found = yield threads.deferToThread(self.answers)
        wrong = {name: faces for name, faces in found.items()
                 if any(value != [] for value in faces.values())}
        self.assertEqual(wrong, {})
        self.assertGreaterEqual(sum("rest" in faces for faces in found.values()), 8)
