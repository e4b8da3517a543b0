"""Fixtures shared by the tests: a master on a fresh SQLite file, and fleets built through it."""

import os

from twisted.trial import unittest

from slap_core.master import Master
from slap_core.principals import ComputerAgent, PartitionAgent, User

SR = "http://sr.example.invalid/software.cfg"
OTHER_SR = "http://sr.example.invalid/other.cfg"


def format_configuration(reference, count, prefix="slappart", subnet=0, capabilities=None):
    """The dict ``node format`` posts for a computer with ``count`` partitions, one IPv4 each."""
    return {
        "reference": reference,
        "address": "10.%d.0.1" % subnet,
        "netmask": "255.255.0.0",
        "partition_list": [
            {
                "reference": "%s%d" % (prefix, i),
                "address_list": [{"addr": "10.%d.1.%d" % (subnet, i + 1),
                                  "netmask": "255.255.0.0"}],
                "tap": {"name": "slaptap%d" % i},
                "capability_list": (capabilities or {}).get(i, []),
            }
            for i in range(count)
        ],
    }


class MasterMixin:
    """Gives a test ``self.master`` on its own SQLite file, principals, and fleet builders."""

    database_url = None

    def setUp(self):
        super().setUp()
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.master = Master(self.database_url or os.path.join(directory, "master.sqlite"))
        self.master.upgrade()
        self.addCleanup(self.master.close)
        self.admin = User("admin", {"admin"})
        self.operator = User("olivia", {"operator"})
        self.alice = User("alice")
        self.bob = User("bob")

    def call(self, name, principal, **arguments):
        """Run a slap_core operation on this test's master."""
        return self.master.call(name, principal, **arguments)

    def make_computer(self, reference, partitions=3, supply=(SR,), owner=None, subnet=0,
                      capabilities=None, **settings):
        """Create, format and supply a computer; returns its ComputerAgent."""
        self.call("computer.create", owner or self.admin, reference=reference, **settings)
        agent = ComputerAgent(reference)
        self.call("computer.format", agent, reference=reference,
                  configuration=format_configuration(reference, partitions, subnet=subnet,
                                                     capabilities=capabilities))
        for url in supply:
            self.call("supply.supply", owner or self.admin, url=url, computer=reference)
        return agent

    def request(self, principal, title, software_release=SR, **arguments):
        """instance.request with the default release."""
        return self.call("instance.request", principal, title=title,
                         software_release=software_release, **arguments)

    def partition_agent(self, view):
        """The PartitionAgent of the partition an InstanceView runs on."""
        return PartitionAgent(view.computer, view.partition)

    def poll(self, computer):
        """The node's view of its partitions, by partition reference."""
        info = self.call("computer.information", ComputerAgent(computer), reference=computer)
        return {p.reference: p for p in info.partitions}


class MasterTestCase(MasterMixin, unittest.TestCase):
    """A trial TestCase with a fresh master (see MasterMixin)."""


def http_client(testcase):
    """A treq HTTPClient whose connections are closed when ``testcase`` ends (clean reactor)."""
    from treq.client import HTTPClient
    from twisted.internet import reactor
    from twisted.web.client import Agent, HTTPConnectionPool

    pool = HTTPConnectionPool(reactor, persistent=False)
    testcase.addCleanup(pool.closeCachedConnections)
    return HTTPClient(Agent(reactor, pool=pool))


def start_test_master(testcase, **settings):
    """A ``slapgate master`` in this process on 127.0.0.1:0 with a fresh database.

    ``settings`` are MasterConfig fields (e.g. ``insecure_loopback=True``; the monthly invoice
    loop is off unless ``invoice_interval`` is given). The master is stopped
    when ``testcase`` ends; returns the RunningMaster (``urls()``, ``credentials``, ``master``).
    """
    from twisted.internet import reactor

    from gateway.config import load
    from gateway.server import start_master

    directory = os.path.abspath(testcase.mktemp())
    settings.setdefault("listen", ["127.0.0.1:0"])
    settings.setdefault("invoice_interval", 0)  # tests drive gateway.invoicing themselves
    settings.setdefault("monitor_interval", 0)  # and the monitoring passes
    settings.setdefault("database", os.path.join(directory, "m.sqlite"))
    settings.setdefault("state_dir", os.path.join(directory, "state"))
    running = start_master(reactor, load(None, **settings))
    testcase.addCleanup(running.stop)
    return running
