"""The upstream slap library (slapos.core 1.26.1, in its own venv) against two masters.

The same scenario, tests/upstream_slap_scenario.py, runs under the upstream venv's python as a
subprocess (so the reactor keeps serving) and reports what the library saw as JSON. It runs once
against a slapgate master started in this process with ``--insecure-loopback`` on 127.0.0.1, and
once against upstream slapproxy (``slapos proxy start`` from the same venv; tests/upstream.py
starts and stops it). What both masters answer alike is checked by one shared method, so the
scenario tests the protocol and not our reading of it; where slapgate follows the real SlapOS
master and slapproxy does not (spec sections 1.3, 3.2, 4.4, 7), each side's answer is checked
separately.
"""

import os

from twisted.internet import defer
from twisted.trial import unittest

from gateway.server import local_admin
from tests.upstream import run_upstream, start_slapproxy
from tests.fixtures import start_test_master

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SR = "http://sr.example.invalid/software.cfg"
SCENARIO = os.path.join(ROOT, "tests", "upstream_slap_scenario.py")

# Reserved parameter keys each master names its own way (spec 1.3): compared per master.
VARIANT_KEYS = ("timestamp", "full_ip_list", "full_address_list", "root_instance_short_title")


def without(parameters, keys=VARIANT_KEYS):
    return {key: value for key, value in parameters.items() if key not in keys}


class UpstreamLibraryTests(unittest.TestCase):
    """The slap library's whole scenario, one run per master, many observations."""

    timeout = 120

    def assertBothMastersAgree(self, seen):
        """What slapgate and slapproxy both answer (and the real master too, per the spec)."""
        self.assertEqual(seen["software"], [[SR, "available"]])
        self.assertEqual(seen["root_id"], "slappart0")
        self.assertEqual(seen["root_state"], "started")
        self.assertEqual(without(seen["root_parameters"]), {"name": "alice", "n": "1"})
        self.assertEqual(seen["poll_partitions"], ["slappart%d" % i for i in range(4)])
        self.assertEqual((seen["poll_state"], seen["poll_type"], seen["poll_release"]),
                         ("started", "default", SR))
        root_parameters = {
            "name": "alice", "n": "1", "instance_title": "root", "root_instance_title": "root",
            "slap_computer_id": "COMP-0", "slap_computer_partition_id": "slappart0",
            "slap_software_release_url": SR, "slap_software_type": "default",
            "ip_list": [["slappart0", "127.0.1.1"]], "slave_instance_list": []}
        self.assertEqual(without(seen["poll_parameters"]), root_parameters)
        self.assertEqual(without(seen["me_parameters"]), root_parameters)
        self.assertEqual(seen["me_parameters"]["timestamp"], seen["poll_parameters"]["timestamp"])
        self.assertEqual((seen["free_state"], seen["free_release"]),
                         ("destroyed", "NotFoundError"))
        self.assertEqual(seen["child_id"], "slappart1")
        self.assertEqual(without(seen["child_parameters"]), {
            "k": "v", "instance_title": "child", "root_instance_title": "root",
            "slap_computer_id": "COMP-0", "slap_computer_partition_id": "slappart1",
            "slap_software_release_url": SR, "slap_software_type": "child-type",
            "ip_list": [["slappart1", "127.0.1.2"]], "slave_instance_list": []})
        self.assertEqual(seen["child_again_id"], "slappart1")
        self.assertEqual(seen["child_connection_seen_by_requester"], {"db": "mysql://child"})
        self.assertEqual(seen["root_connection"],
                         {"url": "http://root.example", "secret": "x<y&z"})
        self.assertEqual(seen["shared_host_partition"], "slappart0")
        self.assertEqual(seen["shared_connection"], {"site_url": "https://a.example"})
        self.assertEqual(seen["slave_list_after_shared_destroy"], [])
        self.assertEqual(seen["timestamp_changed"], {
            "requester_after_child_connection": True, "child_after_identical_request": False,
            "root_after_identical_request": False, "host_after_shared_request": True,
            "root_after_bang": True})
        self.assertEqual(seen["renamed_title"], "primary")
        self.assertEqual(seen["root_state_after_destroy"], "destroyed")
        self.assertEqual(seen["partitions_after_destroy"], [])
        self.assertEqual(seen["software_after_remove"], [[SR, "destroyed"]])
        self.assertEqual(seen["software_after_destroyed"], [])

    @defer.inlineCallbacks
    def test_upstream_library_scenario_against_slapgate(self):
        running = start_test_master(self, insecure_loopback=True)
        seen = yield run_upstream(self, SCENARIO, running.urls()[0] + "slap/", SR)
        self.assertBothMastersAgree(seen)
        # Where slapgate answers as the real master and slapproxy does not.
        self.assertRegex(seen["root_guid"], r"^SOFTINST-\d+$")
        self.assertEqual(seen["root_parameters"], {"name": "alice", "n": "1"})
        for name in ("poll_parameters", "child_parameters"):
            parameters = seen[name]
            self.assertIsInstance(parameters["timestamp"], int)
            self.assertEqual(parameters["full_ip_list"], [])
            self.assertEqual(parameters["root_instance_short_title"], "root")
            self.assertNotIn("full_address_list", parameters)
        self.assertEqual(seen["slave_list_title"], "site")
        self.assertEqual(seen["unknown_partition"], "NotFoundError")
        self.assertEqual(seen["unknown_computer"], "NotFoundError")
        self.assertEqual(seen["pending_request"], "no error")
        self.assertEqual(seen["pending_id"], "ResourceNotReady")
        self.assertEqual(seen["bad_usage"], "HTTPError")
        usage = yield running.site.resource.children[b"slap"].resource.calls.call(
            "usage.list", local_admin(), computer="COMP-0")
        self.assertEqual([(u.partition, u.quantity) for u in usage], [("slappart0", 1.5)])

    @defer.inlineCallbacks
    def test_upstream_library_scenario_against_slapproxy(self):
        url = yield start_slapproxy(self)
        seen = yield run_upstream(self, SCENARIO, url, SR)
        self.assertBothMastersAgree(seen)
        # slapproxy's own answers (spec 1.1, 1.3, 4.4, 7).
        self.assertEqual(seen["root_guid"], "COMP-0-slappart0")
        self.assertEqual(seen["root_parameters"]["timestamp"],
                         seen["poll_parameters"]["timestamp"])
        for name in ("poll_parameters", "child_parameters"):
            parameters = seen[name]
            self.assertIsInstance(parameters["timestamp"], str)
            float(parameters["timestamp"])
            self.assertEqual(parameters["full_address_list"], [])
            self.assertNotIn("full_ip_list", parameters)
            self.assertNotIn("root_instance_short_title", parameters)
        self.assertEqual(seen["slave_list_title"], "_site")
        self.assertEqual(seen["unknown_partition"], "ServerError")
        self.assertEqual(seen["unknown_computer"], "ServerError")
        self.assertEqual(seen["pending_request"], "NotFoundError")
        self.assertNotIn("pending_id", seen)
        self.assertEqual(seen["bad_usage"], "no error")
