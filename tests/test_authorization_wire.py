"""The authorization matrix through the wire: every operation x every caller x every adaptor.

The expected answer of each cell is the core's, as ``tests/test_authorization.py`` states it in
its CASES table (which that file checks against ``Master.call``): each adaptor must allow and
refuse exactly the same callers, in its own idiom (see ``tests/authorization_wire.py``). Callers
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

from slap_core.operations import load_all
from tests.authorization_scenario import PRINCIPALS, build_scenario
from tests.authorization_wire import NoWireCall, Rest, Slap, Soap, XmlRpc, client_options
from tests.test_authorization import CASES, core_outcome, resolve

ADAPTORS = (XmlRpc(), Soap(), Rest(), Slap())


def arguments_of(name):
    """The matrix's arguments of operation ``name`` with the scenario's values filled in."""
    if name not in CASES:
        raise AssertionError("operation %s has no line in CASES of tests/test_authorization.py: "
                             "add its arguments and who may call it" % name)
    return resolve(CASES[name][0], build_scenario())


def serves(adaptor, name):
    """True when ``adaptor`` claims operation ``name`` (every one does, but SLAP)."""
    return getattr(adaptor, "serves", lambda name: True)(name)


class WireAuthorizationMatrixTests(unittest.TestCase):
    """Each test checks one operation against every principal on every adaptor."""

    timeout = 300

    def test_every_registered_operation_has_a_line(self):
        missing = sorted(set(load_all()) - set(CASES))
        self.assertEqual(missing, [], "operations without a line in CASES of "
                                      "tests/test_authorization.py: %s" % missing)

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
            state_dir=scenario.state_dir, allocation_interval=0))
        stopped = []

        def stop():
            if not stopped:
                stopped.append(True)
                return running.stop()

        self.addCleanup(stop)
        return running.https_urls()[0], stop

    @defer.inlineCallbacks
    def check(self, name):
        """Call ``name`` as every principal on every adaptor; every cell must match the core."""
        scenario = build_scenario()
        arguments = arguments_of(name)
        allowed = CASES[name][1]
        writes = load_all()[name].writes
        mismatches = []
        shared = None
        for adaptor in ADAPTORS:
            if not serves(adaptor, name):
                continue
            core_arguments = getattr(adaptor, "core_arguments", None)
            for who in PRINCIPALS:
                expected = "allowed" if who in allowed else "refused"
                if core_arguments is not None:
                    # The endpoint passes other arguments than the table's: ask the core.
                    expected = core_outcome(os.path.abspath(self.mktemp()), name,
                                            PRINCIPALS[who], core_arguments(name, arguments))
                    if expected.startswith("invalid"):
                        mismatches.append("%s as %s: the core says %s"
                                          % (adaptor.name, who, expected))
                        continue
                    expected = expected.split()[0]
                fresh = writes and expected == "allowed"
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
                if not outcome.startswith(expected):
                    mismatches.append("%s as %s: expected %s, got %s"
                                      % (adaptor.name, who, expected, outcome))
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
