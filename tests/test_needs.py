"""The markers a test declares (tests/needs.py) and the quick set `make check` runs."""

import os

from twisted.trial import unittest

from tests import needs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class FakeItem:
    """A pytest item as far as ``needs.declared`` reads one: its id and its markers."""

    def __init__(self, *marks):
        self.nodeid = "tests/test_x.py::X::test_y"
        self.marks = marks

    def get_closest_marker(self, name):
        return name if name in self.marks else None


class DeclaredTests(unittest.TestCase):
    """``declared`` fails an unmarked test that starts an expensive part, and only that."""

    def setUp(self):
        running = needs.current
        self.addCleanup(setattr, needs, "current", running)

    def test_an_unmarked_test_fails_naming_the_marker_to_add(self):
        needs.current = FakeItem("slow")
        with self.assertRaises(self.failureException) as raised:
            needs.declared(self, "postgres")
        self.assertIn("tests/test_x.py::X::test_y", str(raised.exception))
        self.assertIn("@pytest.mark.postgres", str(raised.exception))

    def test_a_marked_test_passes(self):
        needs.current = FakeItem("node", "upstream")
        needs.declared(self, "node")
        needs.declared(self, "upstream")

    def test_outside_pytest_nothing_is_checked(self):
        needs.current = None
        needs.declared(self, "node")

    def test_an_unknown_marker_is_an_error(self):
        self.assertRaises(ValueError, needs.declared, self, "nodes")


class CheckTargetTests(unittest.TestCase):
    """`make check` leaves out exactly the marked tests, and the README tells when to use it."""

    def test_the_makefile_runs_the_check_expression(self):
        with open(os.path.join(ROOT, "Makefile")) as handle:
            makefile = handle.read()
        self.assertIn('-m "%s"' % needs.CHECK_EXCLUDES, makefile)
        for mark in needs.MARKS:
            self.assertIn(mark, needs.CHECK_EXCLUDES)

    def test_the_readme_shows_make_check(self):
        with open(os.path.join(ROOT, "README.md")) as handle:
            self.assertIn("make check", handle.read())
