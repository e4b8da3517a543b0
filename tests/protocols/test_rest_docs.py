"""docs/rest.md: its curl examples run against a fresh master and answer what the page shows."""

import json
import os
import re
import shutil

from twisted.internet import defer
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from protocols.rest.routes import ROUTES
from tests.fixtures import start_test_master

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = os.path.join(ROOT, "docs", "rest.md")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)


def examples():
    """[(shell code, expected kind, expected text)] in page order: each sh block and the next."""
    with open(PAGE) as handle:
        blocks = [(m.group(1), m.group(2)) for m in FENCE.finditer(handle.read())]
    found = []
    for index, (kind, code) in enumerate(blocks):
        if kind == "sh":
            following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
            if following[0] not in ("json", "text"):
                raise AssertionError("the example %r is not followed by its output" % code)
            found.append((code, following[0], following[1]))
    return found


def contains(actual, expected):
    """True when ``expected`` is ``actual`` with some object members left out."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and contains(actual[key], value) for key, value in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            contains(a, e) for a, e in zip(actual, expected))
    return actual == expected


class RestPageTests(unittest.TestCase):
    """Every example of docs/rest.md, in order, against one master."""

    timeout = 120

    def test_page_has_examples_and_lists_every_route(self):
        self.assertGreater(len(examples()), 10)
        with open(PAGE) as handle:
            page = handle.read()
        for route in ROUTES:
            self.assertIn("| `%s /api%s` |" % (route.method, route.path), page)

    @defer.inlineCallbacks
    def test_curl_examples_answer_what_the_page_shows(self):
        if shutil.which("curl") is None:
            raise unittest.SkipTest("curl is not installed (make test installs it)")
        running = start_test_master(self)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "API": running.urls()[0] + "api",
               "AUTH": "%s:%s" % running.credentials}
        for code, kind, expected in examples():
            out, err, status = yield getProcessOutputAndValue(
                "bash", ["-eu", "-o", "pipefail", "-c", code], env=env)
            output = out.decode()
            self.assertEqual(status, 0, "%s\n%s" % (code, err.decode()))
            if kind == "text":
                self.assertEqual(output.strip(), expected.strip(), code)
            else:
                self.assertTrue(contains(json.loads(output), json.loads(expected)),
                                "%s\nanswered %s" % (code, output))
