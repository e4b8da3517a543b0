"""A slapgate node agent (``node_twisted``) set up for one test: files, configuration, cleanup.

The node runs rootless in a short temporary directory (supervisord's unix socket path is short),
with the test software release of ``tests/node_sr/`` copied there (``tests/node_harness.copy_release``),
as tests/e2e/test_slap_node_upstream.py does. Buildout is the upstream venv's (``make upstream``:
zc.buildout 6 with slapos.core 1.26.1, whose ``slapos.slap`` the release's recipe imports);
supervisord is this venv's. The cleanup stops supervisord and every process left in the tree.
"""

import os
import shutil
import tempfile

from twisted.internet import defer, reactor

from node_twisted import config as node_config
from node_twisted.agent import NodeAgent
from tests.needs import declared
from tests.node_harness import copy_release, processes_in_tree, stop_tree, supervisord_pid
from tests.upstream import ROOT, upstream_python

NODE_SR = os.path.join(ROOT, "tests", "node_sr")
COMPUTER = "COMP-0"
PARTITIONS = 3


class AgentNode:
    """One node's directory, configuration and agent."""

    def __init__(self, testcase, master_url, extra_slapos="", definition=True, extra_format="",
                 buildout=None, users=None, release=NODE_SR, clock=None):
        upstream_python(testcase)  # skips (fails under CI) without the upstream venv
        self.testcase = testcase
        self.base = tempfile.mkdtemp(prefix="sg-agent-")
        testcase.addCleanup(shutil.rmtree, self.base, ignore_errors=True)
        testcase.addCleanup(self.stop_everything)
        self.software_root = os.path.join(self.base, "soft")
        self.instance_root = os.path.join(self.base, "inst")
        self.sr_dir = os.path.join(self.base, "sr")
        self.sr = os.path.join(self.sr_dir, "software.cfg")
        self.copy_release(self.sr_dir, release)
        lines = [
            "[slapos]",
            "computer_id = %s" % COMPUTER,
            "master_url = %s" % master_url,
            "software_root = %s" % self.software_root,
            "instance_root = %s" % self.instance_root,
            "buildout = %s" % (buildout or os.path.join(ROOT, ".venv-upstream", "bin", "buildout")),
            "promise_timeout = 5",
            "root_check = False",
            extra_slapos,
            "",
            "[slapformat]",
            "partition_amount = %d" % PARTITIONS,
            "computer_xml = %s" % os.path.join(self.base, "computer.xml"),
            "alter_user = false",
            "alter_network = false",
            "create_tap = false",
            extra_format,
        ]
        if definition:
            path = os.path.join(self.base, "definition.cfg")
            lines.append("input_definition_file = %s" % path)
            with open(path, "w") as handle:
                handle.write("[computer]\naddress = 127.0.0.1/255.255.255.255\n")
                for i in range(PARTITIONS):
                    handle.write("\n[partition_%d]\naddress = 127.0.1.%d/255.255.255.255\n"
                                 "pathname = slappart%d\nnetwork_interface =\n" % (i, i + 1, i))
                    if users:
                        handle.write("user = %s\n" % users[i])
        self.config_path = os.path.join(self.base, "slapos.cfg")
        with open(self.config_path, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        self.config = node_config.load(self.config_path)
        self.clock = clock
        self.agent = NodeAgent(reactor, self.config, clock=clock)

    def copy_release(self, directory, source=NODE_SR):
        """A copy of the release in ``source`` (tests/node_sr) in ``directory``; its profile."""
        return copy_release(source, directory)

    def partition(self, i):
        """The directory of partition ``slappart<i>``."""
        return os.path.join(self.instance_root, "slappart%d" % i)

    @defer.inlineCallbacks
    def cycle(self, expect=None):
        """Run one agent cycle; fails the test on an unexpected exit code."""
        result = yield self.agent.run_cycle()
        if expect is not None and result.exit_code != expect:
            self.testcase.fail("cycle exited %s (expected %s): %r" % (result.exit_code, expect,
                                                                      result))
        return result

    def wait_out_failures(self):
        """Let the waits of failed releases and partitions end (a node made with a task.Clock)."""
        self.clock.advance(self.agent.pause())

    def supervisord_pid(self):
        """supervisord's pid from its pid file, or None."""
        return supervisord_pid(self.instance_root)

    def stop_everything(self):
        """Stop supervisord (and its programs), then any process still working in our tree.

        A test whose node built a release must be marked ``node``.
        """
        built = os.path.isdir(self.software_root) and os.listdir(self.software_root)
        stopped = defer.maybeDeferred(stop_tree, self.base, self.instance_root)
        if built:
            stopped.addCallback(lambda _: declared(self.testcase, "node"))
        return stopped

    def processes_in_tree(self):
        """Processes whose working directory is inside this node's directory."""
        return processes_in_tree(self.base)
