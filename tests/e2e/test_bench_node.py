"""The node part of the benchmarks (bench/node_agents.py) at its smallest: no timing asserted.

One partition per node: both agents deploy a real memcached through their own slapgate master,
run a no-change cycle and act on one parameter change; the figures exist, the report holds its
three tables, and nothing the part started is left running.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from twisted.trial import unittest

from bench import node_agents
from bench.harness import Run
from tests.node_harness import processes_in_tree, require_node


@pytest.mark.node
@pytest.mark.upstream
class NodeBenchSmokeTests(unittest.TestCase):
    """``node_agents.measure`` with one partition per node, then its report."""

    timeout = 900

    def test_one_partition_each(self):
        require_node(self)
        if not os.access("/usr/bin/memcached", os.X_OK):
            self.fail("/usr/bin/memcached is missing: `make test` installs Debian's memcached")
        work = tempfile.mkdtemp(prefix="sg-benchnode-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        run = Run(work, 1, 0)
        self.addCleanup(run.close)
        lines, figures = node_agents.measure(run, partitions=1, upstream_partitions=1,
                                             repetitions=1, delays=1, command="smoke")
        for agent in node_agents.AGENTS:
            green = figures["green"][(agent, 1)]
            self.assertGreater(green["seconds"], 0)
            self.assertEqual(green["cycles"][-1][1], 0, green)
            self.assertEqual(len(figures["idle"][(agent, 1)]), 1)
            self.assertEqual(len(figures["delay"][(agent, 1)]), 1)
        text = "\n".join(lines)
        for heading in ("### Request to green", "### No-change cycle", "### Change to action"):
            self.assertIn(heading, text)
        self.assertIn("- command: `smoke`", text)
        self.assertEqual(len([ln for ln in lines if ln.startswith("- upstream / slapgate")]), 3)
        # the masters were stopped, the nodes' supervisord and memcached too
        self.assertEqual(run.servers, [])
        self.assertEqual(processes_in_tree(str(Path(work).resolve())), [])

    def test_report_sizes_apart(self):
        """slapgate alone at the larger size: rows for it, ratios only at the common size."""
        figures = {
            "green": {("slapgate", 2): {"seconds": 4.0, "cycles": [(4.0, 0)]},
                      ("upstream", 2): {"seconds": 6.0, "cycles": [(3.0, 1), (3.0, 0)]},
                      ("slapgate", 5): {"seconds": 10.0, "cycles": [(10.0, 0)]}},
            "idle": {("slapgate", 2): [1.0, 2.0, 3.0], ("upstream", 2): [4.0, 4.0, 5.0],
                     ("slapgate", 5): [2.0]},
            "delay": {("slapgate", 2): [1.0], ("upstream", 2): [2.0], ("slapgate", 5): [1.5]},
        }
        lines = node_agents.report(figures, 5, 2, 3, 1)
        self.assertIn("| upstream | 2 | 6.0 | 3000 | 3.0/1, 3.0/0 |", lines)
        self.assertIn("| slapgate | 5 | 2.00 | 2.00 | 2.00 | 400.0 |", lines)
        self.assertIn("- upstream / slapgate at 2 partitions: **1.50x** the time", lines)
        self.assertIn("- upstream / slapgate at 2 partitions: **2.00x** the time", lines)
        # upstream's delay: half the cron interval plus the run that acted
        self.assertIn("| upstream | 2 | 2.00 | 32.00 | 62.00 |", lines)
        self.assertIn("- upstream / slapgate at 2 partitions: **32.0x** the median delay", lines)
