"""Principals: who a node may act as."""

from twisted.trial import unittest

from slap_core import errors
from slap_core.principals import ComputerAgent, PartitionAgent


class ActingForTests(unittest.TestCase):
    """A computer acts for its own partitions only."""

    def test_a_computer_acts_for_its_own_partition(self):
        self.assertEqual(ComputerAgent("COMP-A").acting_for("COMP-A", "slappart1"),
                         PartitionAgent("COMP-A", "slappart1"))

    def test_a_partition_of_another_computer_is_forbidden(self):
        error = self.assertRaises(errors.Forbidden, ComputerAgent("COMP-A").acting_for,
                                  "COMP-B", "slappart1")
        self.assertEqual(str(error), "computer 'COMP-A' may not act for a partition of 'COMP-B'")
