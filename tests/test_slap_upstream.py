"""The upstream slap library (slapos.core 1.26.1, in its own venv) against a slapgate master.

The master runs in this process with ``--insecure-loopback`` on 127.0.0.1; the library runs as a
subprocess (so the reactor keeps serving) through tests/upstream_slap_scenario.py and reports what
it saw as JSON.
"""

import json
import os

from twisted.internet import defer, reactor
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from gateway.config import load
from gateway.server import local_admin, start_master
from tests.upstream import upstream_python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SR = "http://sr.example.invalid/software.cfg"


def start(testcase, **settings):
    """A master on 127.0.0.1:0 with a fresh database; stopped when the test ends."""
    directory = os.path.abspath(testcase.mktemp())
    config = load(None, listen=["127.0.0.1:0"], database=os.path.join(directory, "m.sqlite"),
                  state_dir=os.path.join(directory, "state"), **settings)
    running = start_master(reactor, config)
    testcase.addCleanup(running.stop)
    return running


@defer.inlineCallbacks
def run_upstream(testcase, script, *arguments):
    """Run a script under the upstream venv; returns its JSON output or fails with its stderr."""
    out, err, code = yield getProcessOutputAndValue(
        upstream_python(testcase), [os.path.join(ROOT, "tests", script), *arguments],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")})
    if code != 0:
        raise AssertionError("upstream script failed (%d):\n%s" % (code, err.decode()))
    return json.loads(out.decode())


class UpstreamLibraryTests(unittest.TestCase):
    """The slap library's whole scenario, one run, many observations."""

    timeout = 120

    @defer.inlineCallbacks
    def test_upstream_library_scenario(self):
        running = start(self, insecure_loopback=True)
        seen = yield run_upstream(self, "upstream_slap_scenario.py", running.urls()[0] + "slap/", SR)
        self.assertEqual(seen["software"], [[SR, "available"]])
        self.assertEqual(seen["root_id"], "slappart0")
        self.assertTrue(seen["root_guid"].startswith("SOFTINST-"))
        self.assertEqual(seen["root_state"], "started")
        self.assertEqual(seen["root_parameters"], {"name": "alice", "n": "1"})
        self.assertEqual(seen["poll_partitions"], ["slappart%d" % i for i in range(4)])
        self.assertEqual((seen["poll_state"], seen["poll_type"], seen["poll_release"]),
                         ("started", "default", SR))
        poll = seen["poll_parameters"]
        self.assertEqual((poll["name"], poll["instance_title"], poll["slap_computer_id"]),
                         ("alice", "root", "COMP-0"))
        self.assertEqual(poll["ip_list"], [["slappart0", "127.0.1.1"]])
        self.assertEqual(seen["me_parameters"]["slap_computer_partition_id"], "slappart0")
        self.assertEqual((seen["free_state"], seen["free_release"]),
                         ("destroyed", "NotFoundError"))
        self.assertEqual(seen["child_id"], "slappart1")
        self.assertEqual(seen["child_parameters"]["k"], "v")
        self.assertEqual(seen["child_parameters"]["root_instance_title"], "root")
        self.assertEqual(seen["child_parameters"]["slap_software_type"], "child-type")
        self.assertEqual(seen["child_again_id"], "slappart1")
        self.assertEqual(seen["child_connection_seen_by_requester"], {"db": "mysql://child"})
        self.assertEqual(seen["root_connection"],
                         {"url": "http://root.example", "secret": "x<y&z"})
        self.assertEqual(seen["shared_host_partition"], "slappart0")
        self.assertEqual(seen["slave_list_title"], "site")
        self.assertEqual(seen["shared_connection"], {"site_url": "https://a.example"})
        self.assertEqual(seen["renamed_title"], "primary")
        self.assertEqual(seen["unknown_partition"], "NotFoundError")
        self.assertEqual(seen["unknown_computer"], "NotFoundError")
        self.assertEqual(seen["pending_id"], "ResourceNotReady")
        self.assertEqual(seen["bad_usage"], "HTTPError")
        self.assertEqual(seen["root_state_after_destroy"], "destroyed")
        self.assertEqual(seen["partitions_after_destroy"], [])
        self.assertEqual(seen["software_after_remove"], [[SR, "destroyed"]])
        usage = yield running.site.resource.children[b"slap"].calls.call(
            "usage.list", local_admin(), computer="COMP-0")
        self.assertEqual([(u.partition, u.quantity) for u in usage], [("slappart0", 1.5)])

