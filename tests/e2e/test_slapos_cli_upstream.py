"""The upstream ``slapos`` CLI (slapos.core 1.26.1) against two masters.

One scenario drives the same commands (supply, request with ``--parameters``, ``--slave``,
``--state`` and ``--node``, service and computer list/info, remove) once against a slapgate master
started in this process and once against upstream slapproxy (``slapos proxy start``, see
tests/upstream.py). What the node sees in between is read through the upstream slap library as a
node would (``getFullComputerInformation``), and a connection parameter is published the same way.
What both masters answer alike is checked by one shared method, so the scenario tests the protocol
and not our reading of it; where slapgate follows the real SlapOS master and slapproxy does not
(spec sections 2.4, 4.4, 4.5, 7), each side's answer is checked separately.

Against slapgate the client configuration names only ``master_url``: the CLI finds the HATEOAS
root through ``getHateoasUrl``, as against the real master. slapproxy does not answer that call, so
its client configuration also names ``master_rest_url = <proxy>/hateoas`` (spec 4.5).
"""

import json
import os
import re

import pytest
from twisted.internet import defer
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from gateway.server import local_admin
from tests.fixtures import start_test_master
from tests.e2e.test_slap_upstream import without
from tests.upstream import run_upstream, start_slapproxy, upstream_env, upstream_python

# What a node does with the upstream slap library: format COMP-0 (three partitions, as ``slapos
# node format`` posts it), publish a partition's connection parameters, or report what it sees.
NODE = r"""
import json, sys
from slapos import slap
from slapos.util import dumps

master_url, action = sys.argv[1], sys.argv[2]
client = slap.slap()
client.initializeConnection(master_url)
computer = client.registerComputer("COMP-0")
seen = None
if action == "format":
    computer.updateConfiguration(dumps({
        "reference": "COMP-0", "address": "127.0.0.1", "netmask": "255.0.0.0",
        "partition_list": [
            {"reference": "slappart%d" % i, "tap": {"name": "slappart%d" % i},
             "address_list": [{"addr": "127.0.1.%d" % (i + 1), "netmask": "255.0.0.0"}]}
            for i in range(3)]}))
elif action == "publish":
    client.registerComputerPartition("COMP-0", sys.argv[3]).setConnectionDict(
        json.loads(sys.argv[4]))
else:
    seen = {"software": sorted([s.getURI(), s.getState()]
                               for s in computer.getSoftwareReleaseList()),
            "partitions": {p.getId(): {"state": getattr(p, "_requested_state", None),
                                       "parameters": getattr(p, "_parameter_dict", None) or {}}
                           for p in computer.getComputerPartitionList()}}
json.dump(seen, sys.stdout)
"""

# The CLI logs "2026-01-01 10:00:00 slapos[1234] INFO text": only the text is compared.
LOG_PREFIX = re.compile(r"(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d slapos\[\d+\] [A-Z]+ ")
PARAMETERS = ("--parameters", "name=alice", "foo=bar")


def busy(view):
    """The partitions the node is asked to deploy (not free)."""
    return sorted(p for p, partition in view["partitions"].items()
                  if partition["state"] != "destroyed")


def service_info(text):
    """The JSON document ``slapos service info`` prints (after any log line)."""
    return json.loads(text[text.index("{"):text.rindex("}") + 1])


@pytest.mark.upstream
class SlaposCliTests(unittest.TestCase):
    """supply, request (parameters, shared, state, node), service and computer list/info, remove."""

    timeout = 180

    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.software = os.path.join(self.directory, "software.cfg")
        with open(self.software, "w") as handle:
            handle.write("[buildout]\nparts =\n")
        self.slapos = os.path.join(os.path.dirname(upstream_python(self)), "slapos")

    def configure(self, name, master_url, rest_url=None):
        """A client configuration file naming ``master_url`` (and ``master_rest_url``)."""
        path = os.path.join(self.directory, name)
        with open(path, "w") as handle:
            handle.write("[slapos]\nmaster_url = %s\n" % master_url)
            if rest_url:
                handle.write("master_rest_url = %s\n" % rest_url)
        return path

    @defer.inlineCallbacks
    def slapos_command(self, config, *arguments):
        """Run ``slapos ARGUMENTS --cfg CONFIG``; returns (exit code, output)."""
        out, err, code = yield getProcessOutputAndValue(
            self.slapos, [*arguments, "--cfg", config],
            env=dict(upstream_env(), HOME=self.directory))
        return code, LOG_PREFIX.sub("", (out + err).decode("utf-8", "replace"))

    def node(self, master_url, action, *arguments):
        """Run NODE's ``action`` against ``master_url``; a Deferred of what it printed."""
        return run_upstream(self, "-c", NODE, master_url, action, *arguments)

    @defer.inlineCallbacks
    def scenario(self, master_url, rest_url=None, probe=lambda name: None):
        """The same CLI commands against either master; returns what was seen.

        ``seen[name]`` is ``(exit code, output)`` for a command, or what the node sees (its
        software list and its partitions) for a ``node_*`` name. ``probe(name)`` is called after
        each step; what it returns (if not None) is kept as ``seen["probe"][name]``.
        """
        seen = {"probe": {}}
        config = self.configure("slapos-client.cfg", master_url, rest_url)
        with open(config) as handle:
            seen["config"] = handle.read()
        sw = self.software

        @defer.inlineCallbacks
        def step(name, *arguments):
            seen[name] = yield self.slapos_command(config, *arguments)
            checked = probe(name)
            if checked is not None:
                seen["probe"][name] = checked

        @defer.inlineCallbacks
        def look(name):
            seen[name] = yield self.node(master_url, "view")

        def partition_of(title, view):
            return [p for p, partition in view["partitions"].items()
                    if partition["parameters"].get("instance_title") == title]

        yield self.node(master_url, "format")
        yield look("node_formatted")
        yield step("supply", "supply", sw, "COMP-0")
        yield look("node_after_supply")
        yield step("request", "request", "myinst", sw, *PARAMETERS)
        yield look("node_after_request")
        seen["myinst_partitions"] = mine = partition_of("myinst", seen["node_after_request"])
        for partition in mine[:1]:  # the node of myinst's partition publishes its URL
            yield self.node(master_url, "publish", partition, json.dumps({"url": "http://myinst"}))
        yield step("request_again", "request", "myinst", sw, *PARAMETERS)
        yield step("request_shared", "request", "site", sw, "--slave",
                   "--parameters", "domain=a.example")
        yield look("node_after_shared")
        yield step("service_list", "service", "list")
        yield step("service_info", "service", "info", "myinst")
        yield step("service_info_unknown", "service", "info", "nobody")
        yield step("computer_list", "computer", "list")
        yield step("computer_info", "computer", "info", "COMP-0")
        yield step("computer_info_unknown", "computer", "info", "COMP-404")
        yield step("request_stopped", "request", "myinst", sw, "--state", "stopped", *PARAMETERS)
        yield look("node_after_stop")
        yield step("service_info_stopped", "service", "info", "myinst")
        yield step("request_without_state", "request", "myinst", sw, *PARAMETERS)
        yield look("node_after_request_without_state")
        yield step("request_elsewhere", "request", "waiting", sw,
                   "--node", "computer_guid=COMP-404")
        yield look("node_after_request_elsewhere")
        yield step("service_list_after_elsewhere", "service", "list")
        yield step("remove", "remove", sw, "COMP-0")
        yield look("node_after_remove")
        if rest_url:
            bare = self.configure("bare-client.cfg", master_url)
            seen["service_list_without_rest_url"] = yield self.slapos_command(
                bare, "service", "list")
        return seen

    def assertExit(self, seen, name, code):
        self.assertEqual(seen[name][0], code, "%s exited %d:\n%s" % (name, *seen[name]))

    def assertBothMastersAgree(self, seen):
        """What slapgate and slapproxy both answer (and the real master too, per the spec)."""
        sw = self.software
        for name in ("supply", "request", "request_again", "request_shared", "service_list",
                     "service_info", "computer_list", "computer_info", "request_stopped",
                     "service_info_stopped", "request_without_state", "remove"):
            self.assertExit(seen, name, 0)
        formatted = seen["node_formatted"]
        self.assertEqual((formatted["software"], sorted(formatted["partitions"])),
                         ([], ["slappart0", "slappart1", "slappart2"]))
        self.assertEqual({p["state"] for p in formatted["partitions"].values()}, {"destroyed"})

        # supply: the node is asked to install the release.
        self.assertIn("Done.", seen["supply"][1])
        self.assertEqual(seen["node_after_supply"]["software"], [[sw, "available"]])

        # request: allocated on the only computer, the node sees the parameters.
        self.assertIn("State is : started.\nConnection parameters of instance are:\n{}\n",
                      seen["request"][1])
        self.assertEqual(seen["myinst_partitions"], ["slappart0"])
        mine = seen["node_after_request"]["partitions"]["slappart0"]
        self.assertEqual(mine["state"], "started")
        self.assertEqual(without(mine["parameters"]), {
            "name": "alice", "foo": "bar", "instance_title": "myinst",
            "root_instance_title": "myinst", "slap_computer_id": "COMP-0",
            "slap_computer_partition_id": "slappart0", "slap_software_release_url": sw,
            "slap_software_type": "default", "ip_list": [["slappart0", "127.0.1.1"]],
            "slave_instance_list": []})

        # The connection parameters the node published reach the requester.
        self.assertIn("State is : started.\nConnection parameters of instance are:\n"
                      "{'url': 'http://myinst'}\n", seen["request_again"][1])

        # A shared instance lands on the partition of the same release, in its shared list.
        self.assertIn("State is : started.", seen["request_shared"][1])
        host = seen["node_after_shared"]["partitions"]["slappart0"]["parameters"]
        self.assertEqual([without(s, ("slave_title", "slave_reference", "timestamp"))
                          for s in host["slave_instance_list"]],
                         [{"domain": "a.example", "slap_software_type": "default"}])
        self.assertEqual(busy(seen["node_after_shared"]), ["slappart0"])

        # service list | info through the HATEOAS API (spec 2.4, 4.5).
        self.assertEqual(json.loads(seen["service_list"][1]), {"myinst": sw, "site": sw})
        self.assertEqual(service_info(seen["service_info"][1]), {
            "software-url": sw, "software-type": "default", "shared": False,
            "requested-state": "started", "instance-parameters": {"name": "alice", "foo": "bar"},
            "connection-parameters": {"url": "http://myinst"}, "status": "unsupported"})
        self.assertEqual(seen["service_info_unknown"], (2, "Instance nobody does not exist.\n"))

        # computer list | info.
        self.assertEqual(seen["computer_list"][1], "List of Computers:\nCOMP-0 COMP-0\n")
        self.assertEqual(seen["computer_info"][1],
                         "Computer Reference: COMP-0\nComputer Title    : COMP-0\n")
        self.assertEqual(seen["computer_info_unknown"],
                         (2, "Computer COMP-404 does not exist.\n"))

        # --state stopped: the node is asked to stop the instance; service info shows it.
        self.assertIn("State is : stopped.\nConnection parameters of instance are:\n"
                      "{'url': 'http://myinst'}\n", seen["request_stopped"][1])
        self.assertEqual(seen["node_after_stop"]["partitions"]["slappart0"]["state"], "stopped")
        self.assertEqual(service_info(seen["service_info_stopped"][1])["requested-state"],
                         "stopped")

        # A request that cannot be placed (no such computer) is not allocated anywhere.
        self.assertNotEqual(seen["request_elsewhere"][0], 0)
        self.assertNotIn("State is", seen["request_elsewhere"][1])
        self.assertEqual(busy(seen["node_after_request_elsewhere"]), ["slappart0"])

        # remove: the node is asked to uninstall the release (instances are left alone).
        self.assertIn("Done.", seen["remove"][1])
        self.assertEqual(seen["node_after_remove"]["software"], [[sw, "destroyed"]])
        self.assertEqual(busy(seen["node_after_remove"]), ["slappart0"])

    @defer.inlineCallbacks
    def test_cli_scenario_against_slapgate(self):
        running = start_test_master(self, insecure_loopback=True)
        master = running.master

        def probe(name):
            """slapgate's own records, read from its core."""
            if name in ("supply", "remove"):
                return [(s.url, s.desired_state)
                        for s in master.call("supply.list", local_admin(), computer="COMP-0")]
            if name.startswith("request"):
                return {i.title: (i.state, i.computer, i.partition, i.parameters, i.host,
                                  i.reference)
                        for i in master.call("instance.list", local_admin())}
            return None

        seen = yield self.scenario(running.urls()[0] + "slap/", probe=probe)
        self.assertBothMastersAgree(seen)
        self.assertSlapgateAnswers(seen)

    def assertSlapgateAnswers(self, seen):
        """Where slapgate answers as the real SlapOS master (and slapproxy does not)."""
        sw = self.software
        core = seen["probe"]
        # The client found the HATEOAS API through getHateoasUrl alone.
        self.assertNotIn("master_rest_url", seen["config"])
        self.assertNotIn("service_list_without_rest_url", seen)

        self.assertEqual(core["supply"], [(sw, "available")])
        myinst = ("started", "COMP-0", "slappart0", {"name": "alice", "foo": "bar"}, None,
                  "SOFTINST-1")
        self.assertEqual(core["request"], {"myinst": myinst})
        self.assertEqual(core["request_shared"]["site"],
                         ("started", "COMP-0", "slappart0", {"domain": "a.example"},
                          "SOFTINST-1", "SOFTINST-2"))
        self.assertEqual(core["request_stopped"]["myinst"][0], "stopped")
        self.assertEqual(core["remove"], [(sw, "destroyed")])

        # As on the master, a shared entry carries its own reference, title and timestamp
        # (spec 1.3), and the reply to a shared request is the shared instance's own (its
        # connection parameters, still none), not the host's.
        entry = seen["node_after_shared"]["partitions"]["slappart0"]["parameters"][
            "slave_instance_list"][0]
        self.assertEqual((entry["slave_title"], entry["slave_reference"]), ("site", "SOFTINST-2"))
        self.assertIsInstance(entry["timestamp"], int)
        self.assertIn("Connection parameters of instance are:\n{}\n", seen["request_shared"][1])

        # A request without --state means started, as slapgate reads the master (docs/slap.md;
        # spec 1.2 says "keep current / started", slapproxy keeps).
        self.assertIn("State is : started.", seen["request_without_state"][1])
        self.assertEqual(
            seen["node_after_request_without_state"]["partitions"]["slappart0"]["state"],
            "started")
        self.assertEqual(core["request_without_state"]["myinst"], myinst)

        # Not allocatable yet: accepted and kept (408, ResourceNotReady), not refused.
        code, text = seen["request_elsewhere"]
        self.assertEqual(code, 2, text)
        self.assertTrue(text.endswith(
            "Requesting waiting as an instance of %s ...\nInstance requested. Master is "
            "provisioning it. Please rerun in a couple of minutes to get connection "
            "information.\n" % sw), text)
        self.assertEqual(core["request_elsewhere"]["waiting"][:3], ("started", None, None))
        self.assertEqual(json.loads(seen["service_list_after_elsewhere"][1]),
                         {"myinst": sw, "site": sw, "waiting": sw})

    @defer.inlineCallbacks
    def test_cli_scenario_against_slapproxy(self):
        url = yield start_slapproxy(self)
        seen = yield self.scenario(url, rest_url=url + "hateoas")
        self.assertBothMastersAgree(seen)
        self.assertSlapproxyAnswers(seen, url)

    def assertSlapproxyAnswers(self, seen, url):
        """slapproxy's own answers (spec 4.4, 4.5, 7)."""
        sw = self.software
        self.assertEqual(seen["probe"], {})
        # slapproxy does not answer getHateoasUrl (spec 4.5): without master_rest_url the
        # HATEOAS commands cannot work.
        self.assertIn("master_rest_url = %shateoas\n" % url, seen["config"])
        code, text = seen["service_list_without_rest_url"]
        self.assertEqual(code, 1, text)
        self.assertIn("Exception: SlapOS Master Hateoas API required for this operation is not "
                      "available.", text)

        # A shared entry is named '<requested_by>_<title>', without timestamp (spec 1.3, 4.4).
        entry = seen["node_after_shared"]["partitions"]["slappart0"]["parameters"][
            "slave_instance_list"][0]
        self.assertEqual((entry["slave_title"], entry["slave_reference"]), ("_site", "_site"))
        self.assertNotIn("timestamp", entry)
        # Its reply has no _requested_state, so the client reads the HOST partition for the
        # state (registerComputerPartition), which also replaces the connection parameters:
        # the CLI prints the host's.
        self.assertIn("Connection parameters of instance are:\n{'url': 'http://myinst'}\n",
                      seen["request_shared"][1])

        # A request without a state keeps the stored one (spec 4.4 step 4: None → keep), while
        # the reply says ``requested_state or 'started'``: started.
        self.assertIn("State is : started.", seen["request_without_state"][1])
        self.assertEqual(
            seen["node_after_request_without_state"]["partitions"]["slappart0"]["state"],
            "stopped")

        # Nothing free on COMP-404: refused with 404 (NotFoundError, an uncaught exception in
        # the CLI), nothing recorded (spec 4.4 step 2).
        code, text = seen["request_elsewhere"]
        self.assertEqual(code, 1, text)
        self.assertIn("slapos.slap.exception.NotFoundError: %srequestComputerPartition" % url,
                      text)
        self.assertNotIn("Master is provisioning it", text)
        self.assertEqual(json.loads(seen["service_list_after_elsewhere"][1]),
                         {"myinst": sw, "site": sw})
