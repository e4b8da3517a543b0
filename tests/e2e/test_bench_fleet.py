"""The benchmark's fleet generator (bench/fleet.py) on a small fleet: a database slapgate serves."""

import os

import pytest
from twisted.trial import unittest

from bench import fleet
from slap_core.master import Master
from slap_core.principals import ComputerAgent


class FleetGeneratorTests(unittest.TestCase):
    """Two nodes of ten partitions, written with bulk inserts, read back through slap_core."""

    def setUp(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.database = os.path.join(directory, "fleet.sqlite")
        self.counts, _ = fleet.generate(self.database, nodes=2, partitions=10, chunk=1)
        self.master = Master(self.database)
        self.addCleanup(self.master.close)

    def test_counts(self):
        self.assertEqual(self.counts["computer"], 2)
        self.assertEqual(self.counts["partition"], 20)
        self.assertEqual(self.counts["partition_address"], 40)
        self.assertEqual(self.counts["busy_partition"], 18)
        self.assertEqual(self.counts["shared_instance"], 2 * fleet.SHARED_PER_NODE)

    def test_the_poll_matches_the_plan(self):
        plan = fleet.node_plan(1, 10)
        info = self.master.call("computer.information", ComputerAgent("COMP-1"),
                                reference="COMP-1")
        self.assertEqual(len(info.partitions), 10)
        busy = {p.reference: p for p in info.partitions if p.instance}
        planned = {"slappart%d" % i["partition"]: i for t in plan["trees"]
                   for i in t["instances"]}
        self.assertEqual(sorted(busy), sorted(planned))
        for reference, view in busy.items():
            instance = planned[reference]
            self.assertEqual(view.title, instance["title"])
            self.assertEqual(view.software_release, instance["release"])
            self.assertEqual(view.connection_dict, instance["connection"])
            for key, value in instance["parameters"].items():
                self.assertEqual(view.parameter_dict[key], value)
            self.assertEqual(len(view.parameter_dict["ip_list"]), 2)
        hosted = busy["slappart0"].parameter_dict["slave_instance_list"]
        self.assertEqual([s["slave_title"] for s in hosted],
                         [s["title"] for s in plan["shared"]])
        self.assertEqual(len(info.software), len(fleet.RELEASES))

    def test_requests_work_on_the_generated_fleet(self):
        from slap_core.principals import User

        view = self.master.call("instance.request", User("admin", {"admin"}), title="extra",
                                software_release=fleet.RELEASES["kvm"])
        self.assertTrue(view.allocated)

    def test_refuses_an_existing_database(self):
        self.assertRaises(FileExistsError, fleet.generate, self.database, 1, 1)


@pytest.mark.postgres
class PostgresFleetTests(unittest.TestCase):
    """The same fleet loaded with COPY into PostgreSQL (a throwaway cluster), read back."""

    def test_copy_loads_a_fleet_slapgate_serves(self):
        from slap_core.principals import User
        from tests.postgres import start_postgres

        url = start_postgres(self)
        counts, _ = fleet.generate(url, nodes=3, partitions=10, chunk=2)
        self.assertEqual((counts["computer"], counts["partition"], counts["busy_partition"]),
                         (3, 30, 27))
        master = Master(url)
        self.addCleanup(master.close)
        info = master.call("computer.information", ComputerAgent("COMP-2"), reference="COMP-2")
        plan = fleet.node_plan(2, 10)
        self.assertEqual(sorted(p.title for p in info.partitions if p.instance),
                         sorted(i["title"] for t in plan["trees"] for i in t["instances"]))
        # the sequences follow the copied ids: a request creates new rows
        view = master.call("instance.request", User("admin", {"admin"}), title="extra",
                           software_release=fleet.RELEASES["kvm"])
        self.assertTrue(view.allocated)
