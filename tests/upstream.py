"""The upstream reference: slapos.core 1.26.1 in ``.venv-upstream``, run in a subprocess.

Tests describe sample values as Python expressions; the same text is evaluated here (with our
classes) and there (with ``slapos.slap.slap``'s), so outputs can be compared byte for byte.
``make test`` installs the reference; without it the comparisons skip, except under CI where a
missing reference is a failure.
"""

import base64
import functools
import json
import os
import subprocess

from twisted.trial import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = os.path.join(ROOT, ".venv-upstream", "bin", "python")

SCRIPT = r"""
import base64, json, sys
from slapos.util import dumps, loads, dict2xml, xml2dict
from slapos.slap.slap import Computer, ComputerPartition, SoftwareRelease, SoftwareInstance

def with_attributes(obj, **attributes):
    for name, value in attributes.items():
        setattr(obj, name, value)
    return obj

NAMESPACE = dict(Computer=Computer, ComputerPartition=ComputerPartition,
                 SoftwareRelease=SoftwareRelease, SoftwareInstance=SoftwareInstance,
                 with_attributes=with_attributes)

def attempt(function, argument, encode):
    try:
        return {"ok": encode(function(argument))}
    except Exception as error:
        return {"error": "%s: %s" % (type(error).__name__, error)}

request = json.load(sys.stdin)
evaluate = lambda expression: eval(expression, dict(NAMESPACE))
b64 = lambda data: base64.b64encode(data).decode()
json.dump({
    "dumps": [attempt(lambda e: dumps(evaluate(e)), e, b64) for e in request["dumps"]],
    "loads": [attempt(lambda d: loads(d.encode()), d, repr) for d in request["loads"]],
    "dict2xml": [attempt(lambda e: dict2xml(evaluate(e)), e, str) for e in request["dict2xml"]],
    "xml2dict": [attempt(xml2dict, d, repr) for d in request["xml2dict"]],
}, sys.stdout)
"""


def with_attributes(obj, **attributes):
    """Our counterpart of the script's helper: add attributes to a SlapObject."""
    obj.attributes.update(attributes)
    return obj


@functools.lru_cache(maxsize=None)
def _run(payload):
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("PYTHON", "SLAPGRID"))}
    return subprocess.run([PYTHON, "-c", SCRIPT], input=payload, capture_output=True, text=True,
                          timeout=120, env=environment)


def upstream_python(testcase):
    """The upstream venv's interpreter; skips ``testcase`` when missing (fails it under CI)."""
    if not os.access(PYTHON, os.X_OK):
        message = ("upstream reference missing: %s (make .venv-upstream/.installed installs "
                   "slapos.core 1.26.1)" % PYTHON)
        if os.environ.get("CI"):
            testcase.fail(message)
        raise unittest.SkipTest(message)
    return PYTHON


def reference(testcase, dumps=(), loads=(), dict2xml=(), xml2dict=()):
    """What upstream answers for each sample, as ``{"ok": result}`` or ``{"error": text}``.

    ``dumps`` and ``dict2xml`` are expressions to evaluate and serialize (dumps results are bytes),
    ``loads`` and ``xml2dict`` are documents to parse (results are the repr of the value). One
    subprocess per distinct request, cached for the whole run.
    """
    upstream_python(testcase)
    payload = json.dumps({"dumps": list(dumps), "loads": list(loads),
                          "dict2xml": list(dict2xml), "xml2dict": list(xml2dict)})
    process = _run(payload)
    if process.returncode:
        testcase.fail("the upstream reference failed:\n" + process.stderr[-3000:])
    answer = json.loads(process.stdout)
    for result in answer["dumps"]:
        if "ok" in result:
            result["ok"] = base64.b64decode(result["ok"])
    return answer
