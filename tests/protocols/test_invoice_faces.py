"""Invoices over the wire: an ERP lists and fetches an invoice and downloads its PDF over SOAP
(zeep), a script over XML-RPC (xmlrpc.client), a browser or curl over REST."""

import time
import xmlrpc.client
from unittest import mock

from twisted.internet import defer, reactor, task, threads
from twisted.trial import unittest

from slap_core.billing import period_of
from slap_core.principals import ComputerAgent, User
from tests.core.test_invoices import pdf_text
from tests.fixtures import SR, format_configuration, http_client, start_test_master

PAST = 1577836800.0  # 2020-01-01T00:00Z


class InvoiceFacesTests(unittest.TestCase):
    """One invoice of the admin's for this month, issued as if the month had ended."""

    timeout = 120

    def setUp(self):
        self.running = start_test_master(self)
        self.addCleanup(task.deferLater, reactor, 0.05, lambda: None)
        self.base = self.running.urls()[0]
        self.login, self.password = self.running.credentials
        master, admin = self.running.master, User(self.login, {"admin"})
        with mock.patch("slap_core.pricing.now", return_value=PAST):
            master.call("pricing.set", admin, currency="EUR", vat_rate="20",
                        effective_from=PAST, subscriptions=[{"monthly": "30.00"}])
        master.call("computer.create", admin, reference="COMP-0")
        master.call("computer.format", ComputerAgent("COMP-0"), reference="COMP-0",
                    configuration=format_configuration("COMP-0", 1))
        master.call("supply.supply", admin, url=SR, computer="COMP-0")
        master.call("instance.request", admin, title="erp <demo>", software_release=SR)
        month = period_of(time.time())
        with mock.patch("slap_core.invoices.now", return_value=month.end):
            (self.number,) = master.call("invoice.generate", admin, period=month.name).issued
        self.invoice = master.call("invoice.get", admin, number=self.number)

    def xmlrpc(self, method, *params):
        url = self.base.replace("http://", "http://%s:%s@" % (self.login, self.password))

        def run():
            with xmlrpc.client.ServerProxy(url + "xmlrpc") as proxy:
                return getattr(proxy, method)(*params)
        return threads.deferToThread(run)

    @defer.inlineCallbacks
    def test_xmlrpc_lists_fetches_and_downloads(self):
        (listed,) = yield self.xmlrpc("invoice.list", {})
        self.assertEqual((listed["number"], listed["total"]), (self.number, self.invoice.total))
        fetched = yield self.xmlrpc("invoice.get", {"number": self.number})
        self.assertEqual([line["description"] for line in fetched["lines"]],
                         [line.description for line in self.invoice.lines])
        document = yield self.xmlrpc("invoice.document", {"number": self.number})
        self.assertIsInstance(document["content"], xmlrpc.client.Binary)
        self.assertEqual(document["media_type"], "application/pdf")
        text = pdf_text(self, document["content"].data)
        self.assertIn("Invoice %s" % self.number, text)
        self.assertIn("%s EUR" % self.invoice.total, text)
        run = yield self.xmlrpc("invoice.generate", {"period": "2020-01"})
        self.assertEqual((run["issued"], run["already_invoiced"]), ([], 0))

    @defer.inlineCallbacks
    def test_soap_lists_fetches_and_downloads_with_zeep(self):
        client = yield threads.deferToThread(self.zeep)
        listed = yield threads.deferToThread(client.service.invoiceList)
        self.assertEqual([(i.number, i.total) for i in listed],
                         [(self.number, self.invoice.total)])
        fetched = yield threads.deferToThread(client.service.invoiceGet, number=self.number)
        self.assertEqual((fetched.subtotal, fetched.vat, fetched.total, len(fetched.lines)),
                         (self.invoice.subtotal, self.invoice.vat, self.invoice.total,
                          len(self.invoice.lines)))
        document = yield threads.deferToThread(client.service.invoiceDocument,
                                               number=self.number, format="pdf")
        self.assertEqual(document.filename, "invoice-%s.pdf" % self.number)
        self.assertIn("%s EUR" % self.invoice.vat, pdf_text(self, document.content))

    def zeep(self):
        import requests
        import zeep
        from zeep.transports import Transport

        session = requests.Session()
        session.auth = (self.login, self.password)
        session.headers["Connection"] = "close"
        return zeep.Client(self.base + "soap?wsdl", transport=Transport(session=session))

    @defer.inlineCallbacks
    def test_rest_answers_the_document_itself(self):
        client = http_client(self)
        url = "%sapi/invoices/%s/document" % (self.base, self.number)
        auth = (self.login, self.password)
        response = yield client.get(url, auth=auth)
        body = yield response.content()
        self.assertEqual(response.code, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type"), ["application/pdf"])
        self.assertEqual(response.headers.getRawHeaders("content-disposition"),
                         ['inline; filename="invoice-%s.pdf"' % self.number])
        self.assertIn("Invoice %s" % self.number, pdf_text(self, body))
        response = yield client.get(url + "?format=html", auth=auth)
        html = yield response.text("utf-8")
        self.assertEqual(response.headers.getRawHeaders("content-type"),
                         ["text/html; charset=utf-8"])
        self.assertIn("erp &lt;demo&gt;", html)
        response = yield client.get(url + "?format=docx", auth=auth)
        self.assertEqual(response.code, 422)
        yield response.content()
