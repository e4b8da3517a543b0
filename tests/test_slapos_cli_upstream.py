"""The upstream ``slapos`` CLI (slapos.core 1.26.1) against a slapgate master.

The client configuration names only ``master_url``: the CLI finds the HATEOAS root through
``getHateoasUrl``, as against the real master.
"""

import os

from twisted.internet import defer
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from gateway.server import local_admin
from slap_core.principals import ComputerAgent
from tests.fixtures import format_configuration
from tests.test_slap_upstream import start
from tests.upstream import upstream_python


class SlaposCliTests(unittest.TestCase):
    """supply, request (parameters, shared, state), service and computer list/info, remove."""

    timeout = 180

    def setUp(self):
        self.running = start(self, insecure_loopback=True)
        self.master = self.running.master
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.software = os.path.join(directory, "software.cfg")
        with open(self.software, "w") as handle:
            handle.write("[buildout]\nparts =\n")
        self.config = os.path.join(directory, "slapos-client.cfg")
        with open(self.config, "w") as handle:
            handle.write("[slapos]\nmaster_url = %sslap/\n" % self.running.urls()[0])
        self.slapos = os.path.join(os.path.dirname(upstream_python(self)), "slapos")
        self.master.call("computer.format", local_admin(), reference="COMP-0",
                         configuration=format_configuration("COMP-0", 3))

    @defer.inlineCallbacks
    def slapos_command(self, *arguments, expect=0):
        out, err, code = yield getProcessOutputAndValue(
            self.slapos, [*arguments, "--cfg", self.config],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.path.dirname(
                self.config)})
        text = (out + err).decode("utf-8", "replace")
        self.assertEqual(code, expect, "slapos %s exited %d:\n%s" % (" ".join(arguments), code,
                                                                      text))
        return text

    def instances(self):
        return {i.title: i for i in self.master.call("instance.list", local_admin())}

    @defer.inlineCallbacks
    def test_cli_supplies_requests_lists_and_removes(self):
        yield self.slapos_command("supply", self.software, "COMP-0")
        supplies = self.master.call("supply.list", local_admin(), computer="COMP-0")
        self.assertEqual([(s.url, s.desired_state) for s in supplies],
                         [(self.software, "available")])

        text = yield self.slapos_command("request", "myinst", self.software,
                                         "--parameters", "name=alice", "foo=bar")
        self.assertIn("State is : started", text)
        mine = self.instances()["myinst"]
        self.assertEqual((mine.parameters, mine.computer), ({"name": "alice", "foo": "bar"},
                                                            "COMP-0"))

        self.master.call("instance.set_connection", ComputerAgent("COMP-0"), computer="COMP-0",
                         partition=mine.partition, connection={"url": "http://myinst"})
        text = yield self.slapos_command("request", "myinst", self.software,
                                         "--parameters", "name=alice", "foo=bar")
        self.assertIn("http://myinst", text)

        yield self.slapos_command("request", "site", self.software, "--slave",
                                  "--parameters", "domain=a.example")
        self.assertEqual(self.instances()["site"].host, mine.reference)

        text = yield self.slapos_command("service", "list")
        self.assertIn('"myinst": "%s"' % self.software, text)

        text = yield self.slapos_command("service", "info", "myinst")
        self.assertIn("alice", text)
        self.assertIn("http://myinst", text)
        self.assertIn("started", text)

        text = yield self.slapos_command("computer", "list")
        self.assertIn("COMP-0 COMP-0", text)
        text = yield self.slapos_command("computer", "info", "COMP-0")
        self.assertIn("Computer Reference: COMP-0", text)
        yield self.slapos_command("computer", "info", "COMP-404", expect=2)

        yield self.slapos_command("request", "myinst", self.software, "--state", "stopped",
                                  "--parameters", "name=alice", "foo=bar")
        self.assertEqual(self.instances()["myinst"].state, "stopped")

        text = yield self.slapos_command("request", "waiting", self.software, "--node",
                                         "computer_guid=COMP-404", expect=2)
        self.assertIn("Master is provisioning it", text)

        yield self.slapos_command("remove", self.software, "COMP-0")
        supplies = self.master.call("supply.list", local_admin(), computer="COMP-0")
        self.assertEqual([s.desired_state for s in supplies], ["destroyed"])
