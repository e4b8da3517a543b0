"""Promises: a partition's checks that its service works (spec section 5.6).

Every executable in ``<partition>/etc/promise`` runs in its own process, all at once, each with
the ``promise_timeout``; exit code 0 is success, the output is the message. Results are written
where slapgrid writes them (``.slapgrid/promise/result/<title>.status.json``).
Python promise plugins (``etc/plugin``) are not run by this agent.
"""

import dataclasses
import json
import os
import time

from twisted.internet import defer

from node_twisted import processes


@dataclasses.dataclass
class PromiseResult:
    """One promise's outcome."""

    name: str
    failed: bool
    message: str
    execution_time: float


class PromiseFailed(Exception):
    """A promise failed; the message names it and carries its output."""


def promise_paths(partition_path):
    """The executables of ``etc/promise``, sorted."""
    directory = os.path.join(partition_path, "etc", "promise")
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    found = []
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            found.append(path)
    return found


def _write_result(partition_path, path, result):
    directory = os.path.join(partition_path, ".slapgrid", "promise", "result")
    os.makedirs(directory, exist_ok=True)
    title = os.path.splitext(result.name)[0]
    document = {
        "title": title, "name": result.name, "path": path,
        "execution-time": result.execution_time,
        "result": {"type": "Test Result", "failed": result.failed,
                   "date": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime()),
                   "message": result.message},
    }
    with open(os.path.join(directory, title + ".status.json"), "w") as handle:
        json.dump(document, handle)


@defer.inlineCallbacks
def run_promises(reactor, partition_path, timeout, env):
    """Run the partition's promises as the partition's owner; the list of :class:`PromiseResult`."""
    paths = promise_paths(partition_path)
    owner = os.stat(partition_path)

    @defer.inlineCallbacks
    def one(path):
        started = reactor.seconds()
        result = yield processes.run(reactor, [path], partition_path, env, timeout=timeout,
                                     uid=owner.st_uid, gid=owner.st_gid)
        if result.timed_out:
            message = "Error: Promise timed out after %s seconds" % timeout
        else:
            message = result.output.strip()
        outcome = PromiseResult(os.path.basename(path), not result.ok, message,
                                round(reactor.seconds() - started, 3))
        _write_result(partition_path, path, outcome)
        return outcome

    results = yield defer.gatherResults([one(path) for path in paths], consumeErrors=True)
    return results


def check(results):
    """Raise :class:`PromiseFailed` for the first failed promise."""
    for result in results:
        if result.failed:
            raise PromiseFailed("Promise %r failed with output: %s" % (result.name,
                                                                          result.message))
