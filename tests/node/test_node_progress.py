"""The node agent's progress view: ``slapgate node status`` during and after a real slow build.

The test release of tests/node_sr gets one more part, built by a small recipe of the test's that
prints a few lines then waits for a gate file: the release's build and each partition's buildout
stay at work until the test opens their gate, so what ``slapgate node status`` shows meanwhile is
checked while it is true, then again once everything is done.
"""

import json
import os
import sys

import pytest
from twisted.internet import defer, reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from node_twisted import progress
from tests.node import test_node_agent
from tests.waiting import until
from tests.fixtures import start_test_master
from tests.node_agent_fixtures import COMPUTER, AgentNode

SLOW_SETUP = """from setuptools import setup

setup(name="slapgate-slow-recipe", version="0.1", py_modules=["slow_recipe"],
      entry_points={"zc.buildout": ["slow = slow_recipe:Slow"]})
"""

SLOW_RECIPE = '''"""A part that prints a few lines, then waits for its gate file."""
import os
import sys
import time


class Slow:
    def __init__(self, buildout, name, options):
        self.options = options

    def install(self):
        for step in range(3):
            print("slow %s: step %d" % (self.options["label"], step))
        print("slow %s: waiting for %s" % (self.options["label"], self.options["gate"]))
        sys.stdout.flush()
        deadline = time.time() + 300
        while not os.path.exists(self.options["gate"]) and time.time() < deadline:
            time.sleep(0.1)
        print("slow %s: gate open" % self.options["label"])
        sys.stdout.flush()
        return []

    update = install
'''


def slow_release(node):
    """Add the gated part to the node's copy of the test release (software and instance)."""
    recipe = os.path.join(node.base, "slow-recipe")
    os.makedirs(recipe)
    with open(os.path.join(recipe, "setup.py"), "w") as handle:
        handle.write(SLOW_SETUP)
    with open(os.path.join(recipe, "slow_recipe.py"), "w") as handle:
        handle.write(SLOW_RECIPE)
    gates = {"release": os.path.join(node.base, "go-release"),
             "instance": os.path.join(node.base, "go-instance")}
    for name, old_parts, label in (("software.cfg", "parts = instance-profile", "release"),
                                   ("instance.cfg.in", "parts = instance", "instance")):
        path = os.path.join(node.sr_dir, name)
        with open(path) as handle:
            text = handle.read()
        assert old_parts in text and "\nnewest = false\n" in text, name
        text = text.replace(old_parts, old_parts.replace("= ", "= slow "))
        text = text.replace("\nnewest = false\n", "\nnewest = false\ndevelop = %s\n" % recipe, 1)
        text += "\n[slow]\nrecipe = slapgate-slow-recipe:slow\nlabel = %s\ngate = %s\n" % (
            label, gates[label])
        with open(path, "w") as handle:
            handle.write(text)
    return gates


class ProgressFileTests(unittest.TestCase):
    """The progress kept in memory, its file and its rendering."""

    def test_tail_keeps_the_last_lines_and_the_file_is_replaced_whole(self):
        path = os.path.join(self.mktemp())
        os.makedirs(path)
        path = os.path.join(path, "progress.json")
        state = progress.Progress(reactor, path, lines=3)
        state.cycle_started()
        state.phase("software")
        state.begin("releases", "http://sr/a.cfg", "building")
        feed = state.output("releases", "http://sr/a.cfg")
        feed(b"one\ntwo\nthr")
        feed(b"ee\nfour\nfive \xc3")  # a character cut between two chunks
        feed(b"\xa9t\xc3")
        state.write()
        document = progress.read(path)
        entry = document["releases"]["http://sr/a.cfg"]
        self.assertEqual(entry["state"], "building")
        # complete lines, then the unfinished one; the cut character waits for its end
        self.assertEqual(entry["log"], ["three", "four", "five \u00e9t"])
        self.assertEqual(document["cycle"]["state"], "running")
        self.assertEqual(document["cycle"]["phase"], "software")
        self.assertEqual(document["pid"], os.getpid())
        text = progress.render(document, lines=2, now=entry["started"] + 75)
        self.assertIn("cycle running", text)
        self.assertIn("phase software", text)
        self.assertRegex(text, r"building +\(for 1m15s\) +http://sr/a\.cfg")
        self.assertIn("      | four\n", text)
        self.assertNotIn("| three", text)

        state.end("releases", "http://sr/a.cfg", "available")
        state.cycle_ended(0)
        document = progress.read(path)
        text = progress.render(document)
        self.assertEqual(document["releases"]["http://sr/a.cfg"]["state"], "available")
        self.assertIn("idle, last cycle ended", text)
        self.assertRegex(text, r"available +\(done \d\d:\d\d:\d\d, took 0s\) +http://sr/a\.cfg")
        self.assertEqual([name for name in os.listdir(os.path.dirname(path))],
                         ["progress.json"])


@pytest.mark.node
class NodeStatusTests(unittest.TestCase):
    """``slapgate node status`` while a real node agent builds and deploys."""

    timeout = 600

    def setUp(self):
        self.running = start_test_master(self, insecure_loopback=True)
        self.master = test_node_agent.MasterSide(self.running)
        self.url = self.running.urls()[0] + "slap/"

    @defer.inlineCallbacks
    def status(self, node, *options):
        """``slapgate node status --cfg FILE`` as a person runs it: its output."""
        script = os.path.join(os.path.dirname(sys.executable), "slapgate")
        out, err, code = yield getProcessOutputAndValue(
            script, ("node", "status", "--cfg", node.config_path) + options,
            env=dict(os.environ), reactor=reactor)
        self.assertEqual(code, 0, err)
        return out.decode()

    @defer.inlineCallbacks
    def get(self, url, method=b"GET"):
        """The status code and body text of ``url``."""
        from twisted.web.client import Agent, readBody

        response = yield Agent(reactor).request(method, url.encode())
        body = yield readBody(response)
        return response.code, body.decode()

    @defer.inlineCallbacks
    def wait_for(self, node, kind, key, state, text, cycle):
        seen = {}

        def shown():
            document = progress.read(node.config.progress_file) or {}
            seen["entry"] = entry = (document.get(kind) or {}).get(key) or {}
            if entry.get("state") == state and any(text in line for line in entry["log"]):
                return document
            return cycle.called and {}

        document = yield until(shown, 240, lambda: "never saw %s %s %s with %r: %r"
                               % (kind, key, state, text, seen.get("entry")), step=0.2)
        if not document:
            yield cycle
            self.fail("the cycle ended and never showed %s %s %s with %r: %r"
                      % (kind, key, state, text, seen.get("entry")))
        return document

    @defer.inlineCallbacks
    def test_status_shows_builds_and_deployments_with_their_output_then_done(self):
        node = AgentNode(self, self.url, extra_slapos="progress_http_port = 0")
        gates = slow_release(node)
        port = node.agent.serve_progress()
        self.addCleanup(port.stopListening)
        self.assertEqual(port.getHost().host, "127.0.0.1")
        page = "http://127.0.0.1:%d/" % port.getHost().port
        out, err, code = yield getProcessOutputAndValue(
            os.path.join(os.path.dirname(sys.executable), "slapgate"),
            ("node", "status", "--cfg", node.config_path), env=dict(os.environ),
            reactor=reactor)
        self.assertEqual(code, 1)
        self.assertIn(b"no progress yet", err)
        yield node.cycle(expect=0)
        self.master.call("supply.supply", url=node.sr, computer=COMPUTER)
        self.master.request(node.sr)
        cycle = node.cycle()

        # the release builds: shown building, with its buildout output's tail
        yield self.wait_for(node, "releases", node.sr, "building", "slow release: waiting",
                            cycle)
        text = yield self.status(node)
        self.assertRegex(text, r"agent pid %d \(running\): cycle running for \d+s "
                               r"\(since \d\d:\d\d:\d\d\), phase software" % os.getpid())
        self.assertRegex(text, r"building +\(for \d+s\) +%s\n" % node.sr)
        self.assertIn("      | slow release: step 2\n", text)
        self.assertIn("      | slow release: waiting for %s\n" % gates["release"], text)
        self.assertIn("Partitions: none", text)
        document = yield self.status(node, "--json")
        self.assertIn('"building"', document)

        # the same on the read-only page
        code, body = yield self.get(page)
        self.assertEqual(code, 200)
        self.assertRegex(body, r"building +\(for \d+s\) +%s\n" % node.sr)
        self.assertIn("      | slow release: waiting for %s\n" % gates["release"], body)
        code, body = yield self.get(page + "progress.json")
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body)["releases"][node.sr]["state"], "building")
        code, _ = yield self.get(page + "other")
        self.assertEqual(code, 404)
        code, _ = yield self.get(page, b"POST")
        self.assertEqual(code, 405)

        # built; the partition deploys: the release done, the partition deploying
        open(gates["release"], "w").close()
        yield self.wait_for(node, "partitions", "slappart0", "deploying",
                            "slow instance: waiting", cycle)
        text = yield self.status(node, "--lines", "2")
        self.assertRegex(text, r"phase instances")
        self.assertRegex(text, r"available +\(done \d\d:\d\d:\d\d, took \d+s\) +%s\n" % node.sr)
        self.assertRegex(text, r"deploying +\(for \d+s\) +slappart0\n")
        self.assertIn("      | slow instance: waiting for %s\n" % gates["instance"], text)
        self.assertIn("      | slow instance: step 2\n", text)
        self.assertNotIn("slow instance: step 1", text)

        # everything done: the cycle is over, the outcomes stay with their last lines
        open(gates["instance"], "w").close()
        yield cycle
        text = yield self.status(node)
        self.assertRegex(text, r"agent pid \d+ \(running\): idle, last cycle ended "
                               r"\d\d:\d\d:\d\d \(exit \d\)")
        self.assertRegex(text, r"available +\(done [^)]*\) +%s\n" % node.sr)
        self.assertRegex(text, r"started +\(done [^)]*\) +slappart0\n")
        self.assertIn("slow instance: gate open", text)
        self.assertNotIn("building", text)
        self.assertNotIn("deploying", text)
