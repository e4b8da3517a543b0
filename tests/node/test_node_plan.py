"""node_twisted.plan: a cycle's sets from the poll and what the agent recorded, without any
process or file."""

from twisted.trial import unittest

from node_twisted.instance import Partition
from node_twisted.plan import Installed, Plan, Record, inputs_digest, plan

SR = "http://sr.example/software.cfg"
OLD = "http://sr.example/old/software.cfg"


def partition(pid, state="started", url=SR, **parameters):
    """A partition as the poll describes it."""
    parameters.setdefault("timestamp", "1")
    return Partition(partition_id=pid, requested_state=state, software_release_url=url,
                     parameters=parameters, access_status=None, filter={})


def recorded(*partitions, at=100.0, periodicity=-1):
    """Installed state: each partition deployed from exactly these inputs."""
    return {p.partition_id: Record(inputs_digest(p), at, periodicity) for p in partitions}


class PlanTests(unittest.TestCase):
    """Each set, and what moves a partition from one to another."""

    def test_a_first_cycle_builds_and_deploys_everything(self):
        wanted = [partition("slappart0"), partition("slappart1", state="stopped"),
                  partition("slappart2", url=None)]
        result = plan([(SR, "available")], wanted, Installed(), now=0)
        self.assertEqual(result, Plan(deploy=("slappart0",), stop=("slappart1",),
                                      unchanged=("slappart2",), build=(SR,)))
        self.assertFalse(result.idle)

    def test_an_unchanged_node_only_checks_its_started_partitions(self):
        wanted = [partition("slappart0"), partition("slappart1", state="stopped"),
                  partition("slappart2", url=None)]
        installed = Installed(partitions=recorded(*wanted[:2]), built=frozenset({SR}),
                              present=frozenset({"slappart0", "slappart1"}))
        result = plan([(SR, "available")], wanted, installed, now=1000)
        self.assertEqual(result, Plan(check=("slappart0",),
                                      unchanged=("slappart1", "slappart2")))
        self.assertTrue(result.idle)

    def test_a_change_of_any_input_deploys_again(self):
        before = [partition("slappart0")]
        installed = Installed(partitions=recorded(*before), built=frozenset({SR}))
        changes = [partition("slappart0", timestamp="2"),            # the master bumped it
                   partition("slappart0", greeting="hello"),         # a parameter
                   partition("slappart0", url=OLD),                  # the release
                   partition("slappart0", slave_instance_list=[{"slave_reference": "S-1"}])]
        for changed in changes:
            self.assertEqual(plan([], [changed], installed, now=0).deploy, ("slappart0",))
        stopped = partition("slappart0", state="stopped")
        self.assertEqual(plan([], [stopped], installed, now=0).stop, ("slappart0",))

    def test_the_release_s_periodicity_deploys_an_unchanged_partition_again(self):
        wanted = [partition("slappart0")]
        installed = Installed(partitions=recorded(*wanted, at=100.0, periodicity=60))
        self.assertEqual(plan([], wanted, installed, now=160.0).check, ("slappart0",))
        self.assertEqual(plan([], wanted, installed, now=160.5).deploy, ("slappart0",))

    def test_destroyed_partitions_are_destroyed_once(self):
        wanted = [partition("slappart0", state="destroyed"),
                  partition("slappart1", state="destroyed")]
        installed = Installed(present=frozenset({"slappart0"}))
        self.assertEqual(plan([], wanted, installed, now=0),
                         Plan(destroy=("slappart0",), unchanged=("slappart1",)))

    def test_releases_built_or_removed_as_the_master_asks(self):
        installed = Installed(built=frozenset({SR, OLD}))
        result = plan([(SR, "available"), (OLD, "destroyed"), ("http://new/sr.cfg", "available"),
                       ("http://gone/sr.cfg", "destroyed")], [], installed, now=0)
        self.assertEqual((result.build, result.remove), (("http://new/sr.cfg",), (OLD,)))

    def test_an_unknown_state_is_deployed_to_be_reported(self):
        self.assertEqual(plan([], [partition("slappart0", state="paused")], Installed(),
                              now=0).deploy, ("slappart0",))

    def test_the_digest_ignores_key_order_and_sees_every_value(self):
        first = partition("slappart0", a="1", b="2")
        second = partition("slappart0", b="2", a="1")
        self.assertEqual(inputs_digest(first), inputs_digest(second))
        self.assertNotEqual(inputs_digest(first), inputs_digest(partition("slappart0", a="1")))
