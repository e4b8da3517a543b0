"""Every face under 2,000 seeded hostile requests each (bench/hostile.py's generators, as
``make fuzz`` sends them in bulk): no server error but SOAP Faults, no XML-RPC internal fault,
no SyncML 511, no Python exception text in any answer, nothing logged (trial fails a test on a
logged error), and the master healthy afterwards. ``make fuzz`` sends more and reports memory.
"""

import base64

import pytest
from twisted.internet import defer, threads
from twisted.trial import unittest

from bench import hostile
from bench.fuzz import EXCEPTION_TEXT, FACES, Target, wrong_answer
from tests.fixtures import start_test_master

BODIES = 2000


def send_all(face, target, auth, seed):
    """Send the face's hostile requests; the problems found, as (path, status, answer)."""
    problems = []
    for path, body, headers in hostile.requests(face, seed, BODIES, target, auth):
        status, answer = target.post(path, body, headers)
        if wrong_answer(face, status, answer) or EXCEPTION_TEXT.search(answer):
            problems.append((path, status, answer[:300]))
    return problems


@pytest.mark.slow
class HostileFacesTests(unittest.TestCase):
    """A master on loopback (SLAP callers act as its admin, as make fuzz's does)."""

    timeout = 300

    def setUp(self):
        self.running = start_test_master(self, insecure_loopback=True)
        login, password = self.running.credentials
        port = int(self.running.urls()[0].rsplit(":", 1)[1].strip("/"))
        self.target = Target(port, password)
        self.auth = "Basic " + base64.b64encode(("%s:%s" % (login, password)).encode()).decode()

    @defer.inlineCallbacks
    def check(self, face):
        problems = yield threads.deferToThread(send_all, face, self.target, self.auth, 7)
        self.assertEqual(problems, [])
        status, _ = yield threads.deferToThread(self.target.post, "/health", None, {})
        self.assertEqual(status, 200)


def _make_test(face):
    def test(self):
        return self.check(face)

    test.__name__ = "test_%s" % face
    test.__doc__ = "%d hostile requests to the %s face." % (BODIES, face)
    return test


for _face in FACES:
    setattr(HostileFacesTests, "test_%s" % _face, _make_test(_face))
