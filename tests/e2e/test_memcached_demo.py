"""The memcached demo (issue 7): a real memcached deployed by a node, used with pymemcache.

The release in tests/memcached/ is supplied and requested through XML-RPC (``xmlrpc.client`` in a
thread) on a slapgate master started in this process, the node builds and deploys it, the
requester reads ``ip`` and ``tcp_port`` and sets then gets a key with pymemcache; the node
reports memcached's usage, which the master prices and invoices; then the instance is stopped (process gone, port refuses), started again (a fresh memcached answers) and
destroyed (partition freed on the master and emptied on disk). A parameter the recipe refuses
becomes the instance's error on the master, in buildout's words, until it is corrected.

``MemcachedDemoScenario`` holds the node-independent steps; the node itself is reached through
three methods (``start_node``, ``run_node_cycle``, ``partition_directory``) that a test case for
another node agent overrides. ``MemcachedDemoOnUpstreamNodeTests`` runs it with the upstream node
(tests/node_harness.py).
"""

import os
import signal
import socket
import time
import xmlrpc.client
from decimal import Decimal
from unittest import mock

import pytest
from twisted.internet import defer, threads, utils
from twisted.trial import unittest

from slap_core.billing import money, period_of
from slap_core.principals import User
from tests.fixtures import start_test_master
from tests.node_harness import COMPUTER, Node, kill_until_gone, require_node

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MEMCACHED_SR = os.path.join(ROOT, "tests", "memcached")
MEMCACHED = "/usr/bin/memcached"
TITLE = "memcached-demo"
# The partition the request lands on (the first free one) and its address in the node's
# slapformat definition (tests/node_harness.py).
PARTITION = "slappart0"
ADDRESS = "127.0.1.1"
# Node cycles allowed for each step to show its effect (one is expected for each).
CYCLES = 3
PRICES_FROM = 1577836800.0  # 2020-01-01T00:00Z: the price list the usage is invoiced with


def free_port(address):
    """A TCP port free on ``address`` right now (memcached binds it a little later)."""
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


def answers(address, port):
    """Whether something accepts TCP connections on address:port (blocking, short timeout)."""
    try:
        with socket.create_connection((address, port), timeout=2):
            return True
    except OSError:
        return False


def memcached_processes(port):
    """Pids of memcached processes whose command line names ``-p port``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                argv = handle.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == "memcached" and "-p" in argv \
                and argv[argv.index("-p") + 1:argv.index("-p") + 2] == [str(port)]:
            found.append(int(entry))
    return found


def stop_memcached(port):
    """Stop, by pid, any memcached still serving ``port`` (a test that failed half way)."""
    return kill_until_gone(lambda: memcached_processes(port),
                           ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)))


@defer.inlineCallbacks
def run_promise(path):
    """Run a promise script as the node would: (its output, its exit code)."""
    output, error, code = yield utils.getProcessOutputAndValue(path, env={})
    return (output + error).decode(errors="replace"), code


def set_and_get(address, port, key, value):
    """With pymemcache: what ``get(key)`` answered before and after ``set(key, value)``."""
    from pymemcache.client.base import Client

    client = Client((address, port), connect_timeout=5, timeout=5)
    try:
        before = client.get(key)
        client.set(key, value, noreply=False)
        return before, client.get(key)
    finally:
        client.close()


class MemcachedDemoScenario:
    """The demo's steps against a master in this process; the node is reached through hooks."""

    timeout = 900
    node_runs_as_root = False  # the upstream node runs as an unprivileged user

    # -- the node: override these three for another node agent --

    @defer.inlineCallbacks
    def start_node(self, master_url):
        """Set up a node for computer ``COMPUTER`` on ``master_url`` and format it.

        Afterwards the master knows the computer and its free partitions (``PARTITION`` on
        ``ADDRESS`` first). Returns the URL of the memcached release as this node will build it.
        """
        require_node(self)
        self.node = Node(self, master_url, release_dir=MEMCACHED_SR)
        yield self.node.prepare()
        self.addCleanup(self.node.stop_everything)
        yield self.node.node("format")
        return self.node.sr

    @defer.inlineCallbacks
    def run_node_cycle(self, deploy_fails=False):
        """One pass of the node: build releases, deploy partitions, report destroyed ones.

        ``deploy_fails``: a partition is expected to fail to deploy (the node reports it to the
        master); otherwise the node must succeed.
        """
        yield self.node.node("software", timeout=600)
        yield self.node.node("instance", expect=1 if deploy_fails else 0)
        yield self.node.node("report")

    def partition_directory(self, reference):
        """Where the node keeps partition ``reference`` on disk."""
        return os.path.join(self.node.instance_root, reference)

    # -- the master, through XML-RPC as its admin --

    def xmlrpc(self, method, arguments):
        """Deferred result of one XML-RPC call (xmlrpc.client in a thread) as the admin."""
        def run():
            with xmlrpc.client.ServerProxy(self.xmlrpc_url) as proxy:
                return getattr(proxy, method)(arguments)
        return threads.deferToThread(run)

    def request(self, state):
        """Request (or re-request) the demo instance in ``state``."""
        return self.xmlrpc("instance.request", {
            "title": TITLE, "software_release": self.release, "state": state,
            "parameters": self.parameters})

    @defer.inlineCallbacks
    def partition_on_master(self):
        """The demo's partition as the master lists it in the node's poll."""
        information = yield self.xmlrpc("computer.information", {"reference": COMPUTER})
        return {p["reference"]: p for p in information["partitions"]}[PARTITION]

    @defer.inlineCallbacks
    def cycle_until(self, condition, what):
        """Run node cycles until ``condition()`` (may return a Deferred) is true."""
        for _ in range(CYCLES):
            yield self.run_node_cycle()
            done = yield condition()
            if done:
                return
        self.fail("%s: still not the case after %d node cycles" % (what, CYCLES))

    @defer.inlineCallbacks
    def usage_is_invoiced(self, reference):
        """The node's next cycles run the release's usage report (memcached's CPU time and
        memory) and post it; the master records it for the instance, and this month's invoice,
        issued as if the month had ended, prices it at the unit price in force."""
        def demo_usage(records):
            return [r for r in records if r.get("instance") == reference]

        @defer.inlineCallbacks
        def reported():
            records = yield self.xmlrpc("usage.list", {"computer": COMPUTER})
            return any(r["resource"] == "cpu_time" for r in demo_usage(records))

        yield self.cycle_until(reported, "memcached's usage reported")
        records = demo_usage((yield self.xmlrpc("usage.list", {"computer": COMPUTER})))
        self.assertEqual({r["resource"] for r in records}, {"cpu_time", "memory"})
        cpu = sum(Decimal(repr(r["quantity"])) for r in records if r["resource"] == "cpu_time")
        self.assertGreater(cpu, 0)
        master, admin = self.running.master, User(self.running.credentials[0], {"admin"})
        with mock.patch("slap_core.pricing.now", return_value=PRICES_FROM):
            yield threads.deferToThread(
                master.call, "pricing.set", admin, currency="EUR", vat_rate="20",
                effective_from=PRICES_FROM, subscriptions=[{"monthly": "10.00"}],
                usage=[{"resource": "cpu_time", "unit": "s", "unit_price": "100"},
                       {"resource": "memory", "unit": "MiB", "unit_price": "0.01"}])
        month = period_of(time.time())
        with mock.patch("slap_core.invoices.now", return_value=month.end):
            run = yield threads.deferToThread(master.call, "invoice.generate", admin,
                                              period=month.name)
        (number,) = run.issued
        invoice = yield self.xmlrpc("invoice.get", {"number": number})
        (line,) = [line for line in invoice["lines"]
                   if line["kind"] == "usage" and line["description"].startswith("cpu_time")]
        self.assertEqual((line["tree"], line["unit"], line["unit_price"]),
                         (TITLE, "s", "100"))
        quantity = Decimal(line["quantity"])
        self.assertEqual(quantity, cpu.quantize(Decimal("0.000001")))
        self.assertEqual(Decimal(line["amount"]), money(quantity * 100, "EUR"))

    # -- the scenario --

    @defer.inlineCallbacks
    def start_demo(self):
        """A master, a formatted node, the release supplied on it; a free port for memcached."""
        if not os.access(MEMCACHED, os.X_OK):
            self.fail("%s is missing: `make test` installs Debian's memcached" % MEMCACHED)
        port = free_port(ADDRESS)
        # registered first, so it runs after the node's own cleanups stopped its supervisord
        self.addCleanup(stop_memcached, port)
        running = self.running = start_test_master(self, insecure_loopback=True)
        base = running.urls()[0]
        login, password = running.credentials
        self.xmlrpc_url = base.replace("http://", "http://%s:%s@" % (login, password)) + "xmlrpc"
        self.release = yield self.start_node(base + "slap/")
        yield self.xmlrpc("supply.supply", {"url": self.release, "computer": COMPUTER})
        return port

    @defer.inlineCallbacks
    def test_requested_memcached_serves_stops_restarts_and_is_destroyed(self):
        port = yield self.start_demo()
        self.parameters = {"tcp-port": str(port), "memory-mb": "16"}

        # request as the admin, through XML-RPC
        instance = yield self.request("started")
        self.assertEqual((instance["computer"], instance["partition"], instance["connection"]),
                         (COMPUTER, PARTITION, {}))
        reference = instance["reference"]

        # the node builds and deploys it; the requester reads where memcached listens
        @defer.inlineCallbacks
        def published():
            seen = yield self.xmlrpc("instance.get", {"reference": reference})
            return bool(seen["connection"])

        yield self.cycle_until(published, "connection parameters published")
        seen = yield self.xmlrpc("instance.get", {"reference": reference})
        self.assertEqual(seen["connection"], {"ip": ADDRESS, "tcp_port": str(port)})
        self.assertTrue(seen.get("status_text", "").startswith("#access"), seen)
        ip, tcp_port = seen["connection"]["ip"], int(seen["connection"]["tcp_port"])
        wrapper = os.path.join(self.partition_directory(PARTITION), "etc", "service", "memcached")
        with open(wrapper) as handle:
            self.assertEqual(handle.read(), "#!/bin/sh\nexec %s -l %s -p %d -U 0 -m 16%s\n" % (
                MEMCACHED, ADDRESS, port, " -u root" if self.node_runs_as_root else ""))
        self.assertEqual(len(memcached_processes(port)), 1)
        promise = os.path.join(self.partition_directory(PARTITION), "etc", "promise",
                               "memcached-port")
        output, code = yield run_promise(promise)
        self.assertEqual((output, code), ("", 0))
        before, after = yield threads.deferToThread(set_and_get, ip, tcp_port, "greeting", "hello")
        self.assertEqual((before, after), (None, b"hello"))

        # the node reports what memcached used; the master prices and invoices it
        yield self.usage_is_invoiced(reference)

        # stopped: the process goes away and the port refuses connections
        yield self.request("stopped")

        def refuses():
            return threads.deferToThread(lambda: not answers(ip, tcp_port))

        yield self.cycle_until(refuses, "memcached stopped")
        self.assertEqual(memcached_processes(port), [])
        seen = yield self.xmlrpc("instance.get", {"reference": reference})
        self.assertEqual(seen["state"], "stopped")
        output, code = yield run_promise(promise)
        self.assertEqual(code, 1)
        self.assertIn("memcached on %s:%d does not answer" % (ADDRESS, port), output)

        # started again: a fresh memcached (the key is gone) that works
        yield self.request("started")

        def accepts():
            return threads.deferToThread(answers, ip, tcp_port)

        yield self.cycle_until(accepts, "memcached started again")
        before, after = yield threads.deferToThread(set_and_get, ip, tcp_port, "greeting", "again")
        self.assertEqual((before, after), (None, b"again"))

        # destroyed: the node wipes the partition, reports it and the master frees it
        yield self.request("destroyed")

        @defer.inlineCallbacks
        def freed():
            partition = yield self.partition_on_master()
            return "instance" not in partition  # None is left out of XML-RPC structs

        yield self.cycle_until(freed, "partition freed")
        partition = yield self.partition_on_master()
        self.assertEqual(partition["state"], "destroyed")
        self.assertEqual(os.listdir(self.partition_directory(PARTITION)), [])
        self.assertEqual(memcached_processes(port), [])
        refused = yield refuses()
        self.assertTrue(refused)
        # the requester still reads the instance, archived and no longer on a partition
        seen = yield self.xmlrpc("instance.get", {"reference": reference})
        self.assertEqual(
            (seen["state"], seen["archived"], seen["allocated"], "partition" in seen),
            ("destroyed", True, False, False))

    @defer.inlineCallbacks
    def test_refused_parameter_is_the_instance_error_until_corrected(self):
        port = yield self.start_demo()
        self.parameters = {"tcp-port": "eighty"}
        instance = yield self.request("started")
        yield self.run_node_cycle(deploy_fails=True)
        seen = yield self.xmlrpc("instance.get", {"reference": instance["reference"]})
        self.assertTrue(seen["status_text"].startswith("#error"), seen["status_text"])
        self.assertIn("instance parameter tcp-port='eighty': expected an integer from 1 to 65535",
                      seen["status_text"])
        self.assertNotIn("Traceback", seen["status_text"])
        self.assertEqual(seen["connection"], {})
        # corrected, the same instance deploys
        self.parameters = {"tcp-port": str(port)}
        yield self.request("started")

        def accepts():
            return threads.deferToThread(answers, ADDRESS, port)

        yield self.cycle_until(accepts, "memcached started with a corrected parameter")
        seen = yield self.xmlrpc("instance.get", {"reference": instance["reference"]})
        self.assertEqual(seen["connection"], {"ip": ADDRESS, "tcp_port": str(port)})


@pytest.mark.node
@pytest.mark.upstream
class MemcachedDemoOnUpstreamNodeTests(MemcachedDemoScenario, unittest.TestCase):
    """The demo with the upstream node: ``slapos node software``, ``instance``, ``report``."""


@pytest.mark.node
class MemcachedDemoOnSlapgateNodeTests(MemcachedDemoScenario, unittest.TestCase):
    """The demo with slapgate's own node agent (``node_twisted``): one agent cycle per step.

    The agent runs rootless in the test's process, so as whoever runs the tests (root in CI).
    """

    node_runs_as_root = os.geteuid() == 0

    @defer.inlineCallbacks
    def start_node(self, master_url):
        from tests.node_agent_fixtures import AgentNode

        self.node = AgentNode(self, master_url, release=MEMCACHED_SR)
        yield self.node.agent.format_if_needed()
        return self.node.sr

    @defer.inlineCallbacks
    def run_node_cycle(self, deploy_fails=False):
        yield self.node.cycle(expect=1 if deploy_fails else 0)

    def partition_directory(self, reference):
        return os.path.join(self.node.instance_root, reference)
