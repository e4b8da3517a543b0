"""The authorization matrix through the wire: every operation x every caller x every adaptor.

The expected answer of each cell is the core's: ``Master.call`` on a fresh copy of the scenario
with the arguments the adaptor hands the core (those of the CASES table of
``tests/core/test_authorization.py``, whose allowed set must agree). Each adaptor must allow what
the core allows and refuse what it refuses with the same kind of refusal (unauthenticated,
forbidden, not found), in its own idiom (see ``tests/authorization_wire.py``). Callers
log in as a real client would over HTTPS: users with HTTP Basic, computers and partitions with
client certificates issued by the master's CA, anonymous with nothing (no insecure loopback).

Masters are started on copies of one template database (tests/authorization_scenario.py): a
read-only operation is called by every cell on one master; a writing operation's refused cells
share one master (a refused call changes nothing), and each of its allowed cells gets a fresh
one, so that no cell's effect changes another's answer.
"""

import os
import shutil

from twisted.internet import defer, threads
from twisted.trial import unittest

from slap_core.master import load_all
from tests.authorization_scenario import PRINCIPALS, build_scenario
from protocols.slap import json_api
from tests.authorization_wire import (JSON_CALLS, JSON_UNCHECKED, NoWireCall, Rest, Slap,
                                       SlapJson, Soap, XmlRpc, client_options)
from tests.core.test_authorization import CASES, core_outcome, resolve

ADAPTORS = (XmlRpc(), Soap(), Rest(), Slap(), SlapJson())


def arguments_of(name):
    """The matrix's arguments of operation ``name`` with the scenario's values filled in."""
    if name not in CASES:
        raise AssertionError("operation %s has no line in CASES of "
                             "tests/core/test_authorization.py: add its arguments and who may "
                             "call it" % name)
    return resolve(CASES[name][0], build_scenario())


def serves(adaptor, name):
    """True when ``adaptor`` claims operation ``name`` (all do but SLAP and its JSON API)."""
    return getattr(adaptor, "serves", lambda name: True)(name)


class WireAuthorizationMatrixTests(unittest.TestCase):
    """Each test checks one operation against every principal on every adaptor."""

    timeout = 300

    def test_every_registered_operation_has_a_line(self):
        missing = sorted(set(load_all()) - set(CASES))
        self.assertEqual(missing, [], "operations without a line in CASES of "
                                      "tests/core/test_authorization.py: %s" % missing)

    def test_every_adaptor_can_call_every_operation(self):
        problems = []
        for name in sorted(load_all()):
            for adaptor in ADAPTORS:
                if not serves(adaptor, name):
                    continue
                try:
                    adaptor.plan(name, arguments_of(name))
                except NoWireCall as error:
                    problems.append("%s on %s: %s" % (name, adaptor.name, error))
        self.assertEqual(problems, [], "\n".join(problems))

    def test_every_json_api_entry_is_checked_or_excused(self):
        checked = {call.entry for call in JSON_CALLS.values()}
        self.assertEqual(sorted(set(json_api.ENTRIES) - checked - set(JSON_UNCHECKED)), [])
        self.assertEqual(sorted((checked | set(JSON_UNCHECKED)) - set(json_api.ENTRIES)), [])

    @defer.inlineCallbacks
    def test_wrong_credentials_are_unauthenticated_for_every_operation(self):
        scenario = build_scenario()
        base, _ = self.start_master()
        wrong = {"auth": ("alice", "not-her-password")}
        mismatches = []
        for name in sorted(load_all()):
            for adaptor in ADAPTORS:
                if serves(adaptor, name):
                    outcome = yield threads.deferToThread(
                        adaptor.call, scenario, base, name, arguments_of(name), wrong)
                    if outcome.split()[0] != "refused:unauthenticated":
                        mismatches.append("%s on %s: %s" % (name, adaptor.name, outcome))
        self.assertEqual(mismatches, [], "\n".join(mismatches))

    def start_master(self):
        """A master serving HTTPS on a fresh copy of the template; (base URL, stop)."""
        from twisted.internet import reactor

        from gateway.config import load
        from gateway.server import start_master

        scenario = build_scenario()
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        database = os.path.join(directory, "m.sqlite")
        shutil.copyfile(scenario.path, database)
        running = start_master(reactor, load(
            None, listen=[], listen_tls=["127.0.0.1:0"], database=database,
            state_dir=scenario.state_dir, allocation_interval=0, invoice_interval=0))
        stopped = []

        def stop():
            if not stopped:
                stopped.append(True)
                return running.stop()

        self.addCleanup(stop)
        return running.https_urls()[0], stop

    def expectations(self, name, arguments):
        """The core's outcome (``allowed`` or ``refused:<code>``) for each principal."""
        expected, problems = {}, []
        for who, principal in PRINCIPALS.items():
            outcome = core_outcome(os.path.abspath(self.mktemp()), name, principal, arguments)
            if outcome.startswith("invalid"):
                problems.append("as %s the core says %s" % (who, outcome))
            expected[who] = outcome.split()[0]
        return expected, problems

    @defer.inlineCallbacks
    def check(self, name):
        """Call ``name`` as every principal on every adaptor; every cell must match the core.

        A cell matches when the adaptor allows what the core allows and refuses what it
        refuses, with the same kind of refusal (unauthenticated, forbidden, not found).
        """
        scenario = build_scenario()
        arguments = arguments_of(name)
        writes = load_all()[name].writes
        core, mismatches = self.expectations(name, arguments)
        allowed = {who for who, outcome in core.items() if outcome == "allowed"}
        if allowed != CASES[name][1]:
            mismatches.append("the core allows %s, CASES says %s" % (sorted(allowed),
                                                                     sorted(CASES[name][1])))
        shared = None
        for adaptor in ADAPTORS:
            if not serves(adaptor, name):
                continue
            expected = core
            core_arguments = getattr(adaptor, "core_arguments", lambda n, a: a)(name, arguments)
            if core_arguments != arguments:  # the endpoint passes other arguments to the core
                expected, problems = self.expectations(name, core_arguments)
                mismatches += ["%s: %s" % (adaptor.name, p) for p in problems]
            for who in PRINCIPALS:
                fresh = writes and expected[who] == "allowed"
                if fresh:
                    base, stop = self.start_master()
                else:
                    if shared is None:
                        shared = self.start_master()
                    base = shared[0]
                try:
                    outcome = yield threads.deferToThread(
                        adaptor.call, scenario, base, name, arguments,
                        client_options(scenario, who))
                except NoWireCall as error:
                    outcome = "cannot be called: %s" % error
                if fresh:
                    yield stop()
                aliases = getattr(adaptor, "aliases", {})
                if outcome.split()[0] != aliases.get(expected[who], expected[who]):
                    mismatches.append("%s as %s: the core says %s, the wire %s"
                                      % (adaptor.name, who, expected[who], outcome))
        self.assertEqual(mismatches, [], "%s:\n%s" % (name, "\n".join(mismatches)))


def _make_test(name):
    def test(self):
        return self.check(name)

    test.__name__ = "test_%s_on_the_wire" % name.replace(".", "_")
    test.__doc__ = "Who may call %s, through every adaptor." % name
    return test


for _name in sorted(load_all()):
    setattr(WireAuthorizationMatrixTests, "test_%s_on_the_wire" % _name.replace(".", "_"),
            _make_test(_name))
