"""The poll cache never answers stale: after every kind of change, each computer's cached
answer equals one computed afresh, and a computer the change does not touch keeps its answer.
"""

import os

from slap_core.poll_cache import PollCache, cache_for
from slap_core.principals import ComputerAgent
from tests.fixtures import MasterTestCase

SR2 = "http://sr.example.invalid/other.cfg"


class PollCacheTests(MasterTestCase):
    """A scenario over two computers, checking every poll against a fresh computation."""

    def information(self, computer):
        return self.call("computer.information", ComputerAgent(computer), reference=computer)

    def cache(self):
        with self.master.storage.transaction(write=False) as session:
            return cache_for(session)

    def assertFresh(self, step):
        """Each computer's (possibly cached) answer is what a fresh computation gives."""
        for computer in ("COMP-A", "COMP-B"):
            answered = self.information(computer)
            self.cache().clear()
            fresh = self.information(computer)
            self.assertEqual(answered, fresh, "stale poll of %s after %s" % (computer, step))

    def assertCached(self, computer):
        """A second poll with no change in between is the very same answer."""
        first = self.information(computer)
        self.assertIs(self.information(computer), first)

    def test_every_change_reaches_the_polls_it_shows_in(self):
        a = self.make_computer("COMP-A", partitions=3)
        b = self.make_computer("COMP-B", partitions=3, subnet=1)
        self.assertFresh("creation")
        self.assertCached("COMP-A")
        steps = []

        def step(name, function, *args, **kwargs):
            result = function(*args, **kwargs)
            steps.append(name)
            self.assertFresh(name)
            return result

        step("supply", self.call, "supply.supply", self.admin, url=SR2, computer="COMP-A")
        step("supply report", self.call, "supply.report", a, url=SR2, computer="COMP-A",
             state="error", error_text="boom")
        root = step("root request", self.request, self.alice, "root",
                    sla={"computer_guid": "COMP-A"}, parameters={"x": "1"})
        agent = self.partition_agent(root)
        child = step("child request", self.request, agent, "child",
                     sla={"computer_guid": "COMP-B"})
        child_agent = self.partition_agent(child)
        shared = step("shared request", self.request, self.bob, "tenant", shared=True,
                      sla={"instance_guid": root.reference}, parameters={"d": "e"})
        step("root parameters", self.request, self.alice, "root", parameters={"x": "2"})
        step("shared connection", self.call, "instance.set_connection", a,
             computer="COMP-A", partition=root.partition, connection={"site": "s"},
             slave_reference=shared.reference)
        step("child connection", self.call, "instance.set_connection", child_agent,
             computer="COMP-B", partition=child.partition, connection={"url": "u"})
        step("child started", self.call, "instance.report_started", b, computer="COMP-B",
             partition=child.partition)
        step("child error", self.call, "instance.report_error", b, computer="COMP-B",
             partition=child.partition, message="promise")
        step("child rename", self.call, "instance.rename", child_agent, computer="COMP-B",
             partition=child.partition, new_name="kid")
        step("bang", self.call, "instance.bang", b, computer="COMP-B",
             partition=child.partition, message="again")
        # The root's state is imposed on the child, which runs on the other computer.
        before = self.information("COMP-B")
        step("root stopped", self.request, self.alice, "root", state="stopped")
        after = {p.reference: p.state for p in self.information("COMP-B").partitions}
        self.assertEqual(after[child.partition], "stopped")
        self.assertIsNot(self.information("COMP-B"), before)
        step("shared destroyed", self.request, self.bob, "tenant", shared=True,
             state="destroyed", sla={"instance_guid": root.reference})
        step("format", self.call, "computer.format", b, reference="COMP-B", configuration={
            "reference": "COMP-B", "partition_list": [
                {"reference": "slappart%d" % i,
                 "address_list": [{"addr": "10.9.0.%d" % (i + 1)}]} for i in range(3)]})
        step("root destroyed", self.request, self.alice, "root", state="destroyed")
        step("child destroyed", self.call, "instance.report_destroyed", b, computer="COMP-B",
             partition=child.partition)
        step("root freed", self.call, "instance.report_destroyed", a, computer="COMP-A",
             partition=root.partition)
        step("supply removed", self.call, "supply.supply", self.admin, url=SR2,
             computer="COMP-A", state="destroyed")
        self.assertEqual(len(steps), 19)

    def test_a_change_elsewhere_keeps_the_cached_answer(self):
        self.make_computer("COMP-A")
        self.make_computer("COMP-B", subnet=1)
        answer = self.information("COMP-A")
        self.request(self.alice, "on-b", sla={"computer_guid": "COMP-B"})
        self.call("supply.supply", self.admin, url=SR2, computer="COMP-B")
        self.assertIs(self.information("COMP-A"), answer)
        self.call("supply.supply", self.admin, url=SR2, computer="COMP-A")
        self.assertIsNot(self.information("COMP-A"), answer)


class PollCacheUnitTests(MasterTestCase):
    """The LRU itself."""

    def test_bounded_and_never_older(self):
        cache = PollCache(size=2)
        cache.put(1, 5, "five")
        cache.put(1, 4, "four")  # an older revision does not replace a newer one
        self.assertEqual(cache.get(1, 5), "five")
        self.assertIsNone(cache.get(1, 4))
        cache.put(2, 1, "b")
        cache.put(3, 1, "c")
        self.assertIsNone(cache.get(1, 5))  # least recently used went
        self.assertEqual((cache.get(2, 1), cache.get(3, 1)), ("b", "c"))


class PollCacheSizeTests(MasterTestCase):
    """SLAPGATE_POLL_CACHE_SIZE sizes the cache; 0 (what the benchmark's uncached poll uses)
    makes every poll a fresh computation."""

    def test_the_environment_sizes_the_cache(self):
        from slap_core.poll_cache import configured_size

        for value, size in (("", 512), ("0", 0), ("7", 7), ("-3", 0), ("many", 512)):
            self.patch(os, "environ", {"SLAPGATE_POLL_CACHE_SIZE": value})
            self.assertEqual(configured_size(), size)

    def test_size_zero_computes_every_poll(self):
        self.make_computer("COMP-A", partitions=2)
        with self.master.storage.transaction(write=False) as session:
            cache = cache_for(session)
        self.patch(cache, "size", 0)
        cache.clear()
        first = self.call("computer.information", ComputerAgent("COMP-A"), reference="COMP-A")
        second = self.call("computer.information", ComputerAgent("COMP-A"), reference="COMP-A")
        self.assertIsNot(first, second)
        self.assertEqual(first, second)
