"""Invoices: a month with the clock moved, amounts to the cent, numbers without a gap."""

import calendar
import sys
from unittest import mock

from slap_core import clock, errors
from slap_core.principals import User
from tests.core.test_usage import journal, movement
from tests.fixtures import SR, MasterTestCase


def at(year, month, day):
    return float(calendar.timegm((year, month, day, 0, 0, 0)))


class April(MasterTestCase):
    """April 2024: two trees, a destruction and a price change mid-month, usage on either side
    of it (tests add late usage and the months after)."""


    def setUp(self):
        super().setUp()
        self.instant = at(2024, 3, 1)
        real = clock.now
        for name, module in list(sys.modules.items()):
            if name.startswith("slap_core.") and getattr(module, "now", None) is real:
                patcher = mock.patch.object(module, "now", lambda: self.instant)
                patcher.start()
                self.addCleanup(patcher.stop)
        self.node = self.make_computer("COMP-0", partitions=4)
        self.call("pricing.set", self.admin, currency="EUR", vat_rate="20",
                  subscriptions=[{"monthly": "42.00"}],
                  usage=[{"resource": "cpu_time", "unit": "s", "unit_price": "0.01"}])
        self.instant = at(2024, 4, 1)
        self.shop = self.request(self.bob, "shop")
        self.instant = at(2024, 4, 4)
        self.blog = self.request(self.alice, "blog")
        self.report(self.blog, "100", "2024-04-10")
        self.instant = at(2024, 4, 14)
        self.call("pricing.set", self.admin, currency="EUR", vat_rate="20",
                  effective_from=at(2024, 4, 15), subscriptions=[{"monthly": "50.00"}],
                  usage=[{"resource": "cpu_time", "unit": "s", "unit_price": "0.02"}])
        self.instant = at(2024, 4, 16)
        self.call("instance.destroy", self.bob, reference=self.shop.reference)
        self.report(self.blog, "23.5", "2024-04-20", resource="cpu_time")
        self.report(self.blog, "3", "2024-04-21", resource="disk")

    def report(self, view, quantity, day, resource="cpu_time"):
        self.call("usage.report", self.node, computer="COMP-0", document=journal(
            [movement(view.partition, resource=resource, quantity=quantity)],
            stop_date="%s at 00:00:00" % day))

    def generate(self, period, when):
        self.instant = when
        return self.call("invoice.generate", self.admin, period=period)

    def lines(self, number, principal=None):
        invoice = self.call("invoice.get", principal or self.admin, number=number)
        return [(line.kind, line.tree, line.period, line.quantity, line.unit_price, line.amount)
                for line in invoice.lines]


class InvoiceTests(April):
    """Invoice runs: amounts, idempotence, late usage, numbers, who reads what."""

    def test_a_month_invoiced_to_the_cent(self):
        run = self.generate("2024-04", at(2024, 5, 2))
        self.assertEqual((run.period, run.issued, run.already_invoiced, run.unpriced),
                         ("2024-04", ("2024-000001", "2024-000002"), 0, ("disk",)))
        bob = self.call("invoice.get", self.admin, number="2024-000001")
        self.assertEqual((bob.person, bob.currency, bob.vat_rate, bob.state),
                         ("bob", "EUR", "20", "issued"))
        # shop ran from the 1st to the 16th at the price it opened with: 15/30 of 42.00
        self.assertEqual(self.lines("2024-000001"),
                         [("subscription", "shop", "2024-04", "0.5", "42", "21.00")])
        self.assertEqual((bob.subtotal, bob.vat, bob.total), ("21.00", "4.20", "25.20"))
        self.assertIn("2024-04-01 to 2024-04-15", bob.lines[0].description)
        # blog: the worked example, cpu before and after the price change, disk unpriced
        self.assertEqual(self.lines("2024-000002"),
                         [("subscription", "blog", "2024-04", "0.9", "42", "37.80"),
                          ("usage", "blog", "2024-04", "100", "0.01", "1.00"),
                          ("usage", "blog", "2024-04", "23.5", "0.02", "0.47"),
                          ("usage", "blog", "2024-04", "3", "0", "0")])
        alice = self.call("invoice.get", self.alice, number="2024-000002")
        self.assertEqual((alice.subtotal, alice.vat, alice.total), ("39.27", "7.85", "47.12"))

    def test_a_shared_instance_and_a_stopped_tree(self):
        # bob's shared instance from the 16th, at the list in force then (50.00: it has no
        # shared price); alice's blog stopped on the 20th is still hers: billed to the end
        try:
            self.request(self.bob, "cache", shared=True)
        except errors.NotReady:
            pass  # recorded, waiting for a host: its subscription is open all the same
        self.instant = at(2024, 4, 20)
        self.call("instance.request", self.alice, title="blog", software_release=SR,
                  state="stopped")
        self.generate("2024-04", at(2024, 5, 2))
        self.assertEqual(self.lines("2024-000001"),
                         [("subscription", "shop", "2024-04", "0.5", "42", "21.00"),
                          ("subscription", "cache", "2024-04", "0.5", "50", "25.00")])
        self.assertEqual(self.lines("2024-000002")[0],
                         ("subscription", "blog", "2024-04", "0.9", "42", "37.80"))

    def test_running_a_period_again_adds_nothing(self):
        self.generate("2024-04", at(2024, 5, 2))
        run = self.generate("2024-04", at(2024, 5, 3))
        self.assertEqual((run.issued, run.already_invoiced), ((), 2))
        self.assertEqual(len(self.call("invoice.list", self.admin)), 2)

    def test_late_usage_goes_on_the_next_invoice_dated_with_its_period(self):
        self.generate("2024-04", at(2024, 5, 2))
        self.report(self.blog, "10", "2024-04-25")  # April's, received in May
        self.report(self.blog, "7", "2024-05-05")
        running = self.call("consumption.current", self.alice)
        self.assertEqual([(line.kind, line.period, line.quantity) for line in running.lines],
                         [("subscription", "2024-05", "1"), ("usage", "2024-05", "7"),
                          ("late_usage", "2024-04", "10")])
        run = self.generate("2024-05", at(2024, 6, 1))
        self.assertEqual(run.issued, ("2024-000003",))  # bob's tree is closed: nothing to bill
        self.assertEqual(self.lines("2024-000003"),
                         [("subscription", "blog", "2024-05", "1", "42", "42.00"),
                          ("usage", "blog", "2024-05", "7", "0.02", "0.14"),
                          ("late_usage", "blog", "2024-04", "10", "0.02", "0.20")])
        # what April's invoice billed is unchanged, and nothing is billed twice
        self.assertEqual(len(self.lines("2024-000002")), 4)
        self.assertEqual(self.generate("2024-06", at(2024, 7, 1)).issued, ("2024-000004",))
        self.assertEqual([line[0] for line in self.lines("2024-000004")], ["subscription"])

    def test_usage_of_a_period_never_invoiced_waits_for_its_run(self):
        self.generate("2024-04", at(2024, 5, 2))
        self.report(self.blog, "5", "2024-05-30")
        self.generate("2024-06", at(2024, 7, 2))  # May was never invoiced: its usage waits
        self.assertNotIn("2024-05", [line[2] for line in self.lines("2024-000003")])
        run = self.generate("2024-05", at(2024, 7, 2))
        (number,) = run.issued
        self.assertEqual(self.lines(number)[1:],
                         [("usage", "blog", "2024-05", "5", "0.02", "0.10")])

    def test_numbers_restart_each_year_without_a_gap(self):
        self.generate("2024-04", at(2024, 5, 2))
        run = self.generate("2024-12", at(2025, 1, 1))
        self.assertEqual(run.issued, ("2025-000001",))
        self.assertEqual(self.generate("2025-01", at(2025, 2, 1)).issued, ("2025-000002",))

    def test_periods_refused(self):
        self.instant = at(2024, 5, 2)
        for period in ("2024-05", "2024-13", "2024-4", "april", 202404, "1969-12"):
            self.assertRaises(errors.Invalid, self.call, "invoice.generate", self.admin,
                              period=period)
        # no price list in force at the end of February: nothing can be invoiced
        self.assertRaises(errors.Invalid, self.call, "invoice.generate", self.admin,
                          period="2024-02")
        self.assertEqual(self.call("invoice.list", self.admin), [])

    def test_each_sees_their_own_and_another_s_is_not_found(self):
        self.generate("2024-04", at(2024, 5, 2))
        self.assertEqual([i.number for i in self.call("invoice.list", self.alice)],
                         ["2024-000002"])
        self.assertEqual([i.number for i in self.call("invoice.list", self.bob)],
                         ["2024-000001"])
        self.assertRaises(errors.NotFound, self.call, "invoice.get", self.bob,
                          number="2024-000002")
        self.assertRaises(errors.NotFound, self.call, "invoice.get", self.bob, number="nope")
        self.assertRaises(errors.Forbidden, self.call, "invoice.list", self.bob, login="alice")
        self.assertRaises(errors.Forbidden, self.call, "invoice.generate", self.alice,
                          period="2024-04")
        self.call("person.create", self.admin, login="carol", roles=["accountant"])
        carol = User("carol", {"accountant"})
        self.assertEqual([i.person for i in self.call("invoice.list", carol)], ["bob", "alice"])
        self.assertEqual([i.number for i in self.call("invoice.list", carol, login="alice",
                                                      period="2024-04")], ["2024-000002"])
        self.assertEqual(self.call("invoice.get", carol, number="2024-000002").total, "47.12")
        self.assertRaises(errors.Forbidden, self.call, "invoice.generate", carol,
                          period="2024-04")


class PaymentAndCreditTests(April):
    """April's invoices issued, then paid or cancelled by a credit note."""

    def setUp(self):
        super().setUp()
        self.generate("2024-04", at(2024, 5, 2))
        self.instant = at(2024, 5, 10)

    def test_a_payment_of_the_total_makes_it_paid(self):
        paid = self.call("invoice.record_payment", self.admin, number="2024-000001",
                         reference="SEPA-42", amount="25.20", paid_at=at(2024, 5, 9))
        self.assertEqual((paid.state, paid.paid_at, paid.payment_reference),
                         ("paid", at(2024, 5, 9), "SEPA-42"))
        self.assertEqual(self.call("invoice.get", self.bob, number="2024-000001").state, "paid")
        self.assertRaises(errors.Conflict, self.call, "invoice.record_payment", self.admin,
                          number="2024-000001", reference="again")
        self.assertRaises(errors.Conflict, self.call, "invoice.credit", self.admin,
                          number="2024-000001", reason="too late")

    def test_a_payment_is_whole_past_and_by_an_admin(self):
        for arguments in (dict(amount="25.19"), dict(amount=25.2), dict(amount="-25.20"),
                          dict(paid_at=at(2024, 6, 1)), dict(reference=" "),
                          dict(reference="x" * 256)):
            given = dict(dict(number="2024-000001", reference="SEPA-1"), **arguments)
            self.assertRaises(errors.Invalid, self.call, "invoice.record_payment", self.admin,
                              **given)
        self.assertRaises(errors.Forbidden, self.call, "invoice.record_payment", self.bob,
                          number="2024-000001", reference="SEPA-1")
        self.assertRaises(errors.NotFound, self.call, "invoice.record_payment", self.admin,
                          number="2024-000099", reference="SEPA-1")
        self.assertEqual(self.call("invoice.get", self.admin, number="2024-000001").state,
                         "issued")

    def test_a_credit_note_cancels_the_whole_invoice(self):
        note = self.call("invoice.credit", self.admin, number="2024-000002",
                         reason="the service was down")
        self.assertEqual((note.number, note.kind, note.person, note.credits, note.note,
                          note.state), ("2024-000003", "credit_note", "alice", "2024-000002",
                                        "the service was down", "issued"))
        self.assertEqual((note.subtotal, note.vat, note.total), ("-39.27", "-7.85", "-47.12"))
        self.assertEqual([(line.quantity, line.amount) for line in note.lines],
                         [("-0.9", "-37.80"), ("-100", "-1.00"), ("-23.5", "-0.47"), ("-3", "0")])
        credited = self.call("invoice.get", self.alice, number="2024-000002")
        self.assertEqual((credited.state, credited.credited_by), ("credited", "2024-000003"))
        self.assertEqual([(i.number, i.kind) for i in self.call("invoice.list", self.alice)],
                         [("2024-000002", "invoice"), ("2024-000003", "credit_note")])
        self.assertRaises(errors.Conflict, self.call, "invoice.credit", self.admin,
                          number="2024-000002", reason="twice")
        self.assertRaises(errors.Conflict, self.call, "invoice.credit", self.admin,
                          number="2024-000003", reason="a credit note")
        self.assertRaises(errors.Conflict, self.call, "invoice.record_payment", self.admin,
                          number="2024-000002", reference="SEPA-2")
        # what it billed is not billed again, and the numbers go on without a gap
        self.assertEqual(self.generate("2024-04", at(2024, 5, 11)).issued, ())
        self.assertEqual(self.generate("2024-05", at(2024, 6, 1)).issued, ("2024-000004",))
        self.assertEqual([line[0] for line in self.lines("2024-000004")], ["subscription"])

    def test_a_credit_note_says_why_and_is_an_admin_s(self):
        self.assertRaises(errors.Invalid, self.call, "invoice.credit", self.admin,
                          number="2024-000002", reason="")
        self.assertRaises(errors.Forbidden, self.call, "invoice.credit", self.alice,
                          number="2024-000002", reason="please")


class SellerAndBuyerTests(April):
    """Invoices name the seller and the buyer as they were, and apply the VAT rule."""

    def setUp(self):
        super().setUp()
        self.call("billing.set_seller", self.admin, legal_name="Hosting SAS", country="FR",
                  vat_code="FR40303265045", address="1 rue de la Paix\n75002 Paris")
        self.call("billing.set_profile", self.alice, country="DE", organisation="Alice GmbH",
                  vat_code="DE136695976")
        self.call("billing.set_profile", self.bob, country="FR")

    def test_reverse_charge_for_a_business_elsewhere_in_the_union(self):
        self.generate("2024-04", at(2024, 5, 2))
        alice = self.call("invoice.get", self.alice, number="2024-000002")
        self.assertEqual((alice.vat_rate, alice.subtotal, alice.vat, alice.total),
                         ("0", "39.27", "0.00", "39.27"))
        self.assertIn("Reverse charge", alice.vat_note)
        self.assertEqual(alice.seller["name"], "Hosting SAS")
        self.assertEqual((alice.buyer["login"], alice.buyer["organisation"],
                          alice.buyer["vat_code"]), ("alice", "Alice GmbH", "DE136695976"))
        bob = self.call("invoice.get", self.bob, number="2024-000001")
        self.assertEqual((bob.vat_rate, bob.vat, bob.vat_note), ("20", "4.20", None))
        # the running total applies the same rule
        self.assertEqual(self.call("consumption.current", self.alice).vat_rate, "0")
        # an issued invoice keeps who they were
        self.call("billing.set_profile", self.alice, country="FR")
        self.call("billing.set_seller", self.admin, legal_name="Renamed SAS", country="FR")
        again = self.call("invoice.get", self.alice, number="2024-000002")
        self.assertEqual((again.buyer["country"], again.seller["name"], again.vat_rate),
                         ("DE", "Hosting SAS", "0"))


class DocumentTests(April):
    """invoice.document: the HTML and the PDF made from it, read back with pdftotext."""

    def setUp(self):
        super().setUp()
        self.call("billing.set_seller", self.admin, legal_name="Hosting <SAS>", country="FR",
                  vat_code="FR40303265045", address="1 rue de la Paix\n75002 Paris")
        self.call("billing.set_profile", self.alice, country="DE", organisation="Alice GmbH",
                  vat_code="DE136695976", address="Hauptstr. 1\n10115 Berlin")
        self.generate("2024-04", at(2024, 5, 2))

    def test_html_shows_everything_escaped(self):
        document = self.call("invoice.document", self.alice, number="2024-000002",
                             format="html")
        self.assertEqual((document.media_type, document.filename),
                         ("text/html; charset=utf-8", "invoice-2024-000002.html"))
        html = document.content.decode("utf-8")
        for text in ("Invoice 2024-000002", "Hosting &lt;SAS&gt;", "Alice GmbH",
                     "DE136695976", "2024-04 (2024-04-01 to 2024-04-30)", "37.80", "39.27 EUR",
                     "0.00 EUR", "Reverse charge", "issued, to be paid"):
            self.assertIn(text, html)
        self.assertNotIn("<SAS>", html)

    def test_the_pdf_reads_back_with_the_invoice_s_numbers(self):
        document = self.call("invoice.document", self.bob, number="2024-000001")
        self.assertEqual((document.media_type, document.filename),
                         ("application/pdf", "invoice-2024-000001.pdf"))
        self.assertTrue(document.content.startswith(b"%PDF-"))
        text = pdf_text(self, document.content)
        invoice = self.call("invoice.get", self.bob, number="2024-000001")
        for value in ("Invoice 2024-000001", "Hosting <SAS>", "2024-05-02",
                      invoice.lines[0].amount, invoice.subtotal + " EUR",
                      invoice.vat + " EUR", invoice.total + " EUR", "VAT 20 %"):
            self.assertIn(value, text)

    def test_a_credit_note_and_a_paid_invoice(self):
        self.instant = at(2024, 5, 10)
        self.call("invoice.record_payment", self.admin, number="2024-000001",
                  reference="SEPA-7", paid_at=at(2024, 5, 9))
        paid = self.call("invoice.document", self.bob, number="2024-000001", format="html")
        self.assertIn("paid on 2024-05-09 (SEPA-7)", paid.content.decode())
        self.call("invoice.credit", self.admin, number="2024-000002", reason="outage <3 days>")
        note = self.call("invoice.document", self.alice, number="2024-000003", format="html")
        html = note.content.decode()
        self.assertEqual(note.filename, "credit-note-2024-000003.html")
        for text in ("Credit note 2024-000003", "invoice 2024-000002", "outage &lt;3 days&gt;",
                     "-39.27 EUR"):
            self.assertIn(text, html)

    def test_another_s_or_an_unknown_format(self):
        self.assertRaises(errors.NotFound, self.call, "invoice.document", self.bob,
                          number="2024-000002")
        self.assertRaises(errors.Invalid, self.call, "invoice.document", self.alice,
                          number="2024-000002", format="docx")


def pdf_text(testcase, content):
    """The text of a PDF, as poppler's pdftotext reads it."""
    import subprocess

    path = testcase.mktemp() + ".pdf"
    with open(path, "wb") as handle:
        handle.write(content)
    return subprocess.run(["pdftotext", "-layout", path, "-"], check=True, capture_output=True,
                          text=True).stdout
