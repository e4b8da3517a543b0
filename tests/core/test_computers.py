"""Computers: registration, ownership and settings."""

from slap_core import errors
from tests.fixtures import MasterTestCase


class ComputerTests(MasterTestCase):
    """Registration, settings and format."""

    def test_created_computer_gets_a_reference_and_its_owner(self):
        view = self.call("computer.create", self.alice, title="my laptop")
        self.assertTrue(view.reference.startswith("COMP-"))
        self.assertEqual((view.owner, view.title, view.allocation_scope),
                         ("alice", "my laptop", "open"))
        self.assertEqual([c.reference for c in self.call("computer.list", self.alice)],
                         [view.reference])
        self.assertEqual(self.call("computer.list", self.bob), [])
        self.assertEqual(len(self.call("computer.list", self.operator)), 1)

    def test_bad_computer_settings_are_invalid_and_duplicates_conflict(self):
        self.call("computer.create", self.admin, reference="COMP-0")
        self.assertRaises(errors.Conflict, self.call, "computer.create", self.admin,
                          reference="COMP-0")
        for settings in ({"reference": "has space"}, {"reference": "a/b"},
                         {"allocation_scope": "personal"}, {"attributes": {"colour": "red"}}):
            self.assertRaises(errors.Invalid, self.call, "computer.create", self.admin,
                              **settings)
