"""The invoice part's data (bench/invoices.py) on a small month: a database slapgate invoices."""

import os
import sqlite3

from twisted.trial import unittest

from bench import invoices
from slap_core.master import Master
from slap_core.principals import User


class InvoiceBenchDataTests(unittest.TestCase):
    """Five persons, twenty trees, five hundred usage records, invoiced in a fresh process."""

    def setUp(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.database = os.path.join(directory, "invoices.sqlite")
        invoices.generate(self.database, persons=5, trees=20, records=500)

    def test_the_month_is_invoiced_and_matches_the_reference_sums(self):
        seconds, usage_groups, subscribers = invoices.reference(self.database)
        self.assertEqual(subscribers, 5)
        ran = invoices.run(self.database)
        self.assertEqual(ran["issued"], 5)
        master = Master(self.database)
        self.addCleanup(master.close)
        admin = User("admin", {"admin"})
        listed = master.call("invoice.list", admin, period="2026-11")
        self.assertEqual(len(listed), 5)
        lines = [line for summary in listed
                 for line in master.call("invoice.get", admin, number=summary.number).lines]
        self.assertEqual(sum(1 for line in lines if line.kind == "subscription"), 20)
        quantities = sum(float(line.quantity) for line in lines if line.kind == "usage")
        with sqlite3.connect(self.database) as connection:
            total = connection.execute("SELECT sum(quantity) FROM usage_record").fetchone()[0]
        self.assertAlmostEqual(quantities, total, places=2)
        self.assertGreater(usage_groups, 0)
        self.assertGreaterEqual(seconds, 0)
