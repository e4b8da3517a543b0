"""Promise plugins (``etc/plugin/*.py``) run by the slapgate node agent as slapgrid runs them.

The plugins are real ones: files with the ``sys.path[0:0] = [...]`` header slapos.cookbook's
``promise.plugin`` recipe writes, here naming the site-packages of the upstream venv (slapos.core
1.26.1), whose ``GenericPromise`` they subclass. The node deploys the test release of
tests/node_sr against a real slapgate master; the master is checked through its core.
"""

import glob
import json
import os
import time

import pytest
from twisted.internet import defer, task
from twisted.logger import globalLogPublisher
from twisted.trial import unittest

from tests.node import test_node_agent
from tests.fixtures import start_test_master
from tests.node_agent_fixtures import AgentNode
from tests.upstream import PYTHON, upstream_python

PLUGIN = '''# This file is generated the way slapos.cookbook's promise.plugin recipe writes plugins.
import sys
sys.path[0:0] = %(path)r
extra_config_dict = %(extra)r

from zope.interface import implementer
from slapos.grid.promise import interface
from slapos.grid.promise.generic import GenericPromise


@implementer(interface.IPromise)
class RunPromise(GenericPromise):
  def __init__(self, config):
    super(RunPromise, self).__init__(config)
    self.setPeriodicity(minute=%(periodicity)d)

  def sense(self):
%(sense)s
'''


def upstream_site_packages():
    """The upstream venv's site-packages, where slapos.core 1.26.1 is installed."""
    found = glob.glob(os.path.join(os.path.dirname(os.path.dirname(PYTHON)), "lib", "python3*",
                                   "site-packages"))
    return found[0]


@pytest.mark.node
class PromisePluginTests(unittest.TestCase):
    """Passing, failing, hanging and broken plugins; periodicity on anomaly checks."""

    timeout = 600
    deployed = test_node_agent.NodeAgentTests.deployed

    def setUp(self):
        self.running = start_test_master(self, insecure_loopback=True)
        self.master = test_node_agent.MasterSide(self.running)
        self.url = self.running.urls()[0] + "slap/"
        self.events = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def plugin(self, node, name, sense, periodicity=1, extra=None):
        """Write ``etc/plugin/<name>`` of partition 1 with ``sense`` as its body."""
        directory = os.path.join(node.partition(1), "etc", "plugin")
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, name)
        body = "\n".join("    " + line for line in sense.strip().splitlines())
        with open(path, "w") as handle:
            handle.write(PLUGIN % {"path": [upstream_site_packages()], "extra": extra or {},
                                   "periodicity": periodicity, "sense": body})
        return path

    def result(self, node, title):
        path = os.path.join(node.partition(1), ".slapgrid", "promise", "result",
                            title + ".status.json")
        with open(path) as handle:
            return json.load(handle)

    def status(self):
        return self.master.instances()["child0"].status_text or ""

    def redeploy(self, node):
        """Make the next cycle process partition 1 again (as a changed instance would)."""
        os.unlink(os.path.join(node.partition(1), ".timestamp"))

    def crashes(self):
        return [event for event in self.events if "log_failure" in event]

    @defer.inlineCallbacks
    def test_plugins_pass_fail_time_out_and_break_as_slapgrid_reports_them(self):
        node = AgentNode(self, self.url, clock=task.Clock())
        yield self.deployed(node)

        # a passing plugin: tested on deploy, its result and cache written as slapgrid writes
        self.plugin(node, "check-good.py", 'self.logger.info("all is %s" % '
                                           'self.getConfig("word"))', extra={"word": "fine"})
        self.redeploy(node)
        result = yield node.cycle(expect=0)
        self.assertEqual(result.instances["slappart1"], "started")
        document = self.result(node, "check-good")
        self.assertEqual(document["name"], "check-good.py")
        self.assertEqual(document["title"], "check-good")
        self.assertEqual(document["path"], os.path.join(node.partition(1), "etc", "plugin",
                                                        "check-good.py"))
        self.assertEqual((document["result"]["type"], document["result"]["failed"],
                          document["result"]["message"]), ("Test Result", False, "all is fine"))
        self.assertRegex(document["result"]["date"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$")
        with open(os.path.join(node.partition(1), ".slapgrid", "promise", "cache",
                               "check-good")) as handle:
            cache = json.load(handle)
        self.assertEqual((cache["periodicity"], cache["is_tested"]), (1, True))
        self.assertLess(abs(cache["next_run_after"] - (time.time() + 60)), 30)
        log = os.path.join(node.partition(1), ".slapgrid", "promise", "log", "check-good.log")
        with open(log) as handle:
            self.assertIn("INFO", handle.read())
        self.assertTrue(self.status().startswith("#access"), self.status())

        # a failing plugin: the partition's report is an error with the plugin's message
        failing = self.plugin(node, "check-disk.py", 'self.logger.error("disk is on fire")')
        self.redeploy(node)
        result = yield node.cycle(expect=2)
        self.assertEqual(result.instances["slappart1"], "promise-error")
        self.assertTrue(self.status().startswith("#error"), self.status())
        self.assertIn("Promise 'check-disk.py' failed with output: disk is on fire",
                      self.status())
        self.assertTrue(self.result(node, "check-disk")["result"]["failed"])
        self.assertFalse(os.path.exists(os.path.join(node.partition(1), ".timestamp")))
        os.unlink(failing)

        # a plugin over the promise timeout (5 s) is killed: an error, no process left
        hanging = self.plugin(node, "check-slow.py", "import time\ntime.sleep(600)")
        node.wait_out_failures()
        result = yield node.cycle(expect=2)
        self.assertEqual(result.instances["slappart1"], "promise-error")
        self.assertIn("Promise 'check-slow.py' failed with output: Error: Promise timed out "
                      "after 5 seconds", self.status())
        self.assertEqual(self.result(node, "check-slow")["result"]["message"],
                         "Error: Promise timed out after 5 seconds")
        left = [pid for pid in os.listdir("/proc") if pid.isdigit()
                and b"check-slow" in _cmdline(pid)]
        self.assertEqual(left, [])
        os.unlink(hanging)

        # a broken plugin file: a clear error, no crash in the agent's log
        broken = os.path.join(node.partition(1), "etc", "plugin", "check-broken.py")
        with open(broken, "w") as handle:
            handle.write("import sys\nsys.path[0:0] = []\ndef sense(:\n")
        node.wait_out_failures()
        result = yield node.cycle(expect=2)
        self.assertEqual(result.instances["slappart1"], "promise-error")
        self.assertIn("Promise 'check-broken.py' failed with output: Error: cannot load promise "
                      "plugin check-broken.py:", self.status())
        self.assertIn("SyntaxError", self.status())
        self.assertEqual(self.crashes(), [])
        os.unlink(broken)

        # fixed: deployed and reported started again
        node.wait_out_failures()
        result = yield node.cycle(expect=0)
        self.assertEqual(result.instances["slappart1"], "started")
        self.assertTrue(self.status().startswith("#access"), self.status())

    @defer.inlineCallbacks
    def test_anomaly_checks_honour_the_plugin_periodicity(self):
        node = AgentNode(self, self.url)
        yield self.deployed(node)
        flag = os.path.join(node.base, "broken-flag")
        self.plugin(node, "check-flag.py", "import os\n"
                    "if os.path.exists(%r):\n  self.logger.error('flag is up')\n"
                    "else:\n  self.logger.info('flag is down')" % flag,
                    extra={"bang-on-failure": "false"})  # a bang would redeploy the partition
        self.redeploy(node)
        result = yield node.cycle(expect=0)
        self.assertEqual(result.instances["slappart1"], "started")
        first = self.result(node, "check-flag")
        self.assertEqual(first["result"]["type"], "Test Result")

        # unchanged partition, periodicity (1 minute) not due: the plugin does not run, even
        # though it would now fail
        open(flag, "w").close()
        result = yield node.cycle(expect=0)
        self.assertEqual(result.instances["slappart1"], "unchanged")
        self.assertEqual(self.result(node, "check-flag"), first)
        self.assertTrue(self.status().startswith("#access"), self.status())

        # once due, the anomaly check runs it: the failure is reported on the unchanged partition
        cache_path = os.path.join(node.partition(1), ".slapgrid", "promise", "cache",
                                  "check-flag")
        with open(cache_path) as handle:
            cache = json.load(handle)
        cache["next_run_after"] = time.time() - 1
        with open(cache_path, "w") as handle:
            json.dump(cache, handle)
        result = yield node.cycle(expect=0)
        self.assertEqual(result.instances["slappart1"], "unchanged")
        document = self.result(node, "check-flag")
        self.assertEqual((document["result"]["type"], document["result"]["failed"],
                          document["result"]["message"]), ("Anomaly Result", True, "flag is up"))
        self.assertIn("Promise 'check-flag.py' failed with output: flag is up", self.status())

        # not due again: the last (failed) result stands without running the plugin
        os.unlink(flag)
        result = yield node.cycle()
        self.assertEqual(result.instances["slappart1"], "unchanged")
        self.assertEqual(self.result(node, "check-flag"), document)
        self.assertTrue(self.status().startswith("#error"), self.status())
        self.assertEqual(self.crashes(), [])


def _cmdline(pid):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


class RunPromisesTests(unittest.TestCase):
    """``promises.run_promises`` on a partition directory, without a master."""

    timeout = 120

    def partition(self):
        path = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(path, "etc", "promise"))
        os.makedirs(os.path.join(path, "etc", "plugin"))
        os.chmod(path, 0o750)
        return path

    @defer.inlineCallbacks
    def test_executables_and_plugins_run_at_once_within_the_bound(self):
        from twisted.internet import reactor

        from node_twisted import processes, promises

        upstream_python(self)  # skips (fails under CI) without the upstream venv
        path = self.partition()
        marks = os.path.join(path, "marks")
        for i in range(3):
            script = os.path.join(path, "etc", "promise", "exe%d" % i)
            with open(script, "w") as handle:
                handle.write("#!/bin/sh\necho \"start $(date +%%s.%%N)\" >> %s\nsleep 1.5\n"
                             "echo \"end $(date +%%s.%%N)\" >> %s\n" % (marks, marks))
            os.chmod(script, 0o755)
        # no software_release here: the plugin runs with the agent's Python, which has no
        # slapos.core; the plugin's header brings upstream's
        sense = ("import time\nwith open(%r, 'a') as f: f.write('start %%r\\n' %% time.time())\n"
                 "time.sleep(1.5)\nwith open(%r, 'a') as f: f.write('end %%r\\n' %% time.time())\n"
                 "self.logger.info('plugin done')" % (marks, marks))
        body = "\n".join("    " + line for line in sense.strip().splitlines())
        with open(os.path.join(path, "etc", "plugin", "marker.py"), "w") as handle:
            handle.write(PLUGIN % {"path": [upstream_site_packages()], "extra": {},
                                   "periodicity": 1, "sense": body})
        env = processes.clean_environment(path)
        results = yield promises.run_promises(reactor, path, 20, env, concurrency=2)
        self.assertEqual(sorted((r.name, r.failed) for r in results),
                         [("exe0", False), ("exe1", False), ("exe2", False),
                          ("marker.py", False)])
        self.assertEqual([r.message for r in results if r.name == "marker.py"], ["plugin done"])
        with open(marks) as handle:
            pairs = [line.split() for line in handle]
        # at equal times an end counts before a start
        events = sorted(((float(stamp), kind) for kind, stamp in pairs),
                        key=lambda event: (event[0], event[1] != "end"))
        running, most = 0, 0
        for _, kind in events:
            running += 1 if kind == "start" else -1
            most = max(most, running)
        self.assertEqual(most, 2)
        self.assertEqual(len(events), 8)
        self.assertEqual(sorted(os.listdir(os.path.join(path, ".slapgrid", "promise", "result"))),
                         ["exe0.status.json", "exe1.status.json", "exe2.status.json",
                          "marker.status.json"])
