"""``slapgate admin pricing|invoice|billing``: an operator sets prices and runs a month."""

import contextlib
import io
import json
import os
import time
from unittest import mock

from twisted.trial import unittest

from gateway import cli
from slap_core.billing import period_of
from slap_core.master import Master
from slap_core.principals import ComputerAgent, User
from tests.core.test_invoices import pdf_text
from tests.fixtures import SR, format_configuration

PAST = 1577836800.0  # 2020-01-01T00:00Z


class AccountingCommandTests(unittest.TestCase):
    """Prices from 2020, alice's tree this month, this month invoiced as if it had ended."""

    def setUp(self):
        self.database = os.path.abspath(self.mktemp()) + ".sqlite"

    def admin(self, *arguments):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["admin", "--db", self.database, *arguments])
        return code, json.loads(out.getvalue()) if out.getvalue() else None, err.getvalue()

    def test_an_operator_sets_prices_and_runs_a_month(self):
        with mock.patch("slap_core.pricing.now", return_value=PAST):
            code, prices, _ = self.admin("pricing", "set", "--currency", "EUR", "--vat-rate",
                                         "20", "--monthly", "30.00", "--shared-monthly", "2",
                                         "--product", "kvm=90.00", "--usage",
                                         "cpu_time:s=0.01", "--from", "2020-01-01")
        self.assertEqual((code, prices["effective_from"]), (0, PAST))
        self.assertEqual(self.admin("pricing", "show")[1]["usage"],
                         [{"resource": "cpu_time", "unit": "s", "unit_price": "0.01"}])
        self.assertEqual(self.admin("billing", "seller", "--name", "Hosting SAS", "--country",
                                    "FR", "--vat-code", "FR40303265045")[0], 0)
        master = Master(self.database)
        self.addCleanup(master.close)
        admin, alice = User("admin", {"admin"}), User("alice")
        master.call("computer.create", admin, reference="COMP-0")
        master.call("computer.format", ComputerAgent("COMP-0"), reference="COMP-0",
                    configuration=format_configuration("COMP-0", 1))
        master.call("supply.supply", admin, url=SR, computer="COMP-0")
        master.call("instance.request", alice, title="blog", software_release=SR)
        code, profile, _ = self.admin("billing", "profile", "alice", "--country", "DE",
                                      "--organisation", "Alice GmbH", "--vat-code",
                                      "DE136695976")
        self.assertEqual((code, profile["vat_code"]), (0, "DE136695976"))

        month = period_of(time.time())
        with mock.patch("slap_core.invoices.now", return_value=month.end):
            code, run, _ = self.admin("invoice", "run", month.name)
            self.assertEqual(code, 0)
            (number,) = run["issued"]
            code, listed, _ = self.admin("invoice", "list", "--user", "alice", "--period",
                                         month.name)
            self.assertEqual([i["number"] for i in listed], [number])
            invoice = self.admin("invoice", "show", number)[1]
            self.assertEqual((invoice["vat_rate"], invoice["buyer"]["organisation"]),
                             ("0", "Alice GmbH"))
            out = os.path.abspath(self.mktemp())
            code, written, _ = self.admin("invoice", "document", number, "--out", out)
            self.assertEqual((code, written["media_type"]), (0, "application/pdf"))
            with open(written["file"], "rb") as handle:
                text = pdf_text(self, handle.read())
            self.assertIn("%s EUR" % invoice["total"], text)
            code, paid, _ = self.admin("invoice", "pay", number, "--reference", "SEPA-9",
                                       "--amount", invoice["total"])
            self.assertEqual((code, paid["state"]), (0, "paid"))
            code, _, err = self.admin("invoice", "credit", number, "--reason", "late")
            self.assertEqual((code, err.split(":")[1].strip()), (1, "conflict"))

    def test_bad_arguments_are_usage_errors(self):
        with contextlib.redirect_stderr(io.StringIO()):
            for arguments in (("pricing", "set", "--currency", "EUR", "--vat-rate", "20",
                               "--monthly", "1", "--from", "tomorrow"),
                              ("pricing", "set", "--currency", "EUR", "--vat-rate", "20",
                               "--monthly", "1", "--usage", "cpu"),
                              ("invoice", "document", "2026-000001", "--format", "docx")):
                with self.assertRaises(SystemExit) as raised:
                    cli.main(["admin", "--db", self.database, *arguments])
                self.assertEqual(raised.exception.code, 2)
        code, _, err = self.admin("invoice", "run", "2020-13")
        self.assertEqual((code, err.split(":")[1].strip()), (1, "invalid"))
