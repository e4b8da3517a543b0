"""The documentation stays in step with the code: every operation has its row."""

import os
import re

from twisted.trial import unittest

from slap_core.master import load_all

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def operation_rows():
    """{operation name: [cells]} from the table in docs/operations.md."""
    with open(os.path.join(ROOT, "docs", "operations.md")) as handle:
        rows = {}
        for line in handle:
            match = re.match(r"\| `([a-z_]+\.[a-z0-9_]+)` \|(.*)\|\s*$", line)
            if match:
                rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
        return rows


class OperationsTableTests(unittest.TestCase):
    """docs/operations.md lists exactly the registered operations, with who may call them."""

    def test_every_registered_operation_has_exactly_one_row(self):
        self.assertEqual(sorted(operation_rows()), sorted(load_all()))

    def test_each_row_states_the_callers_and_kind_the_code_declares(self):
        rows = operation_rows()
        for name, op in load_all().items():
            self.assertEqual(rows[name][1], op.callers, name)
            self.assertEqual(rows[name][3], "write" if op.writes else "read", name)

    def test_every_operation_has_a_docstring_summary(self):
        for name, op in load_all().items():
            self.assertTrue(op.summary, name)


class GeneratedTableTests(unittest.TestCase):
    """The table of docs/operations.md is the one generated from the declarations, and each face
    serves every registered operation."""

    def test_the_checked_in_table_is_the_generated_one(self):
        from protocols.operations_table import DOCUMENT, rewritten

        text = DOCUMENT.read_text("utf-8")
        self.assertEqual(text, rewritten(text), "docs/operations.md is stale: run "
                                                "python -m protocols.operations_table")

    def test_every_face_serves_every_registered_operation(self):
        from protocols.rest.routes import ROUTES
        from protocols.soap_api import OPERATIONS

        registered = set(load_all())
        self.assertEqual({spec.operation for spec in OPERATIONS}, registered)
        self.assertEqual({name for route in ROUTES for name in route.operations}, registered)


class ReadmeTests(unittest.TestCase):
    """The README shows the two commands of a fresh machine, and they exist in the Makefile."""

    def test_readme_commands_are_make_targets(self):
        with open(os.path.join(ROOT, "README.md")) as handle:
            readme = handle.read()
        with open(os.path.join(ROOT, "Makefile")) as handle:
            makefile = handle.read()
        for target in ("run", "test"):
            self.assertIn("make %s" % target, readme)
            self.assertRegex(makefile, r"(?m)^%s:" % target)
