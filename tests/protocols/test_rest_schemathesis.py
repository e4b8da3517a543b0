"""Schemathesis over the served OpenAPI document: no server error, nothing the document forbids.

The master runs in this test's reactor; the schemathesis CLI runs as a subprocess against it
(it is synchronous) with every check schemathesis has and a bounded number of examples per
operation: every phase as the admin (who may call everything), a shorter fuzzing and stateful
pass as a plain user (whom the core refuses much). tests/schemathesis.toml lists the two operations where schema-valid JSON
may still be refused by the core (XML inside the body, unique partition references).
"""

import os
import sys

import pytest
from twisted.internet import defer, threads
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from slap_core.principals import User
from tests.fixtures import start_test_master

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.environ.get("SLAPGATE_SCHEMATHESIS_EXAMPLES", "6")
SEED = os.environ.get("SLAPGATE_SCHEMATHESIS_SEED", "20261130")


def summary(output):
    """The report without the (very long) reproduction commands."""
    lines = [line[:300] for line in output.splitlines() if not line.lstrip().startswith("curl ")]
    return "\n".join(lines[-150:])


@pytest.mark.slow
class SchemathesisTests(unittest.TestCase):
    """``st run`` against /api/openapi.json of a fresh master finds nothing, as admin or user."""

    timeout = 240

    def setUp(self):
        self.running = start_test_master(self)
        self.workdir = os.path.abspath(self.mktemp())  # schemathesis keeps its cache in the cwd
        os.makedirs(self.workdir)

    @defer.inlineCallbacks
    def schemathesis(self, credentials, *options):
        """Run ``st run`` over the served document as ``credentials``; fail on any finding."""
        arguments = [
            "-m", "schemathesis.cli", "--no-color",
            "--config-file", os.path.join(HERE, "schemathesis.toml"),
            "run", self.running.urls()[0] + "api/openapi.json",
            "--auth", "%s:%s" % credentials,
            "--checks", "all",
            # "all" on the command line overrides the file's use_after_free.enabled = false
            "--exclude-checks", "use_after_free",
            "--seed", SEED,
            "--workers", "1",  # CPython 3.11 ast.parse is not thread-safe (hypothesis uses it)
            "--no-shrink",
            "--request-timeout", "30",
        ] + list(options)
        env = dict(os.environ, SCHEMATHESIS_HOOKS="", NO_COLOR="1")
        out, err, code = yield getProcessOutputAndValue(sys.executable, arguments, env=env,
                                                        path=self.workdir)
        text = out.decode("utf-8", "replace") + err.decode("utf-8", "replace")
        self.assertEqual(code, 0, summary(text))
        from protocols.rest.routes import ROUTES

        served = len(ROUTES)  # every route (schemathesis leaves the document itself out)
        self.assertIn("%d selected / %d total" % (served, served), text)
        self.assertNotIn("Network Error", text)

    def test_every_operation_conforms_and_never_fails_for_an_admin(self):
        return self.schemathesis(self.running.credentials, "--max-examples", EXAMPLES)

    @defer.inlineCallbacks
    def test_every_operation_conforms_and_never_fails_for_a_user(self):
        admin = User(self.running.credentials[0], {"admin"})
        yield threads.deferToThread(self.running.master.call, "person.create", admin,
                                    login="alice", password="wonderland")
        yield self.schemathesis(("alice", "wonderland"), "--phases", "fuzzing,stateful",
                                "--max-examples", "4")
