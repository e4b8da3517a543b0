"""Promises: a partition's checks that its service works (spec section 5.6).

Two kinds, as slapgrid has them, all run at once up to ``promise_concurrency`` at a time, each in
its own process as the partition's user and killed after ``promise_timeout``:

* executables of ``<partition>/etc/promise``: exit code 0 is success, the output is the message;
* Python plugins ``<partition>/etc/plugin/*.py``, each run by :mod:`node_twisted.plugin_runner`
  with the release's Python: the plugin's ``RunPromise`` (a subclass of upstream's
  ``GenericPromise``, imported from the eggs its ``sys.path`` header names) is tested when the
  partition is deployed, and asked for an anomaly on the checks of an unchanged partition, where
  its periodicity (minutes, from ``.slapgrid/promise/cache/<title>``) is honoured: a plugin not
  due yet is not run, its last result stands.

Results are written where slapgrid writes them (``.slapgrid/promise/result/<title>.status.json``).
"""

import dataclasses
import functools
import json
import os
import sys
import time

from twisted.internet import defer

from node_twisted import processes

RESULT_FOLDER = os.path.join(".slapgrid", "promise", "result")
CACHE_FOLDER = os.path.join(".slapgrid", "promise", "cache")
LOG_FOLDER = os.path.join(".slapgrid", "promise", "log")
RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugin_runner.py")
RUNNER_WRITTEN, RUNNER_SKIPPED = 0, 3
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S+0000"


@dataclasses.dataclass
class PromiseResult:
    """One promise's outcome; ``ran`` is false when a plugin's periodicity kept it from running
    (its last result is given)."""

    name: str
    failed: bool
    message: str
    execution_time: float
    ran: bool = True


@dataclasses.dataclass
class PluginContext:
    """What slapgrid tells plugins about their partition (``master-url``, ``partition-id``...)."""

    master_url: str | None = None
    computer_id: str | None = None
    partition_id: str | None = None
    partition_key: str | None = None
    partition_cert: str | None = None

    def arguments(self):
        """The runner's options for these values."""
        argv = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value:
                argv += ["--" + field.name.replace("_", "-"), str(value)]
        return argv


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


def plugin_paths(partition_path):
    """The plugins of ``etc/plugin`` (``*.py`` but ``__init__``), sorted."""
    directory = os.path.join(partition_path, "etc", "plugin")
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [os.path.join(directory, name) for name in names
            if name.endswith(".py") and not name.startswith("__init__")
            and os.path.isfile(os.path.join(directory, name))]


def release_python(partition_path):
    """The Python plugins run with: the interpreter of the release's ``bin/buildout`` (as
    slapgrid picks it), else the agent's own."""
    script = os.path.join(partition_path, "software_release", "bin", "buildout")
    try:
        with open(script) as handle:
            first = handle.readline()
            if first.startswith("#!"):
                executable = first[2:].split(None, 1)[0]
                if executable == "/bin/sh":  # a wrapper: "exec <python> ..." on the next line
                    words = handle.readline().split()
                    if len(words) >= 2 and words[0] == "exec":
                        executable = words[1]
                if os.access(executable, os.X_OK) and executable != "/bin/sh":
                    return executable
    except (OSError, UnicodeDecodeError):
        pass
    return sys.executable


@functools.lru_cache(maxsize=1)
def runner_source():
    """The runner's code, given to the interpreter with ``-c``: the partition's user may not be
    allowed to read this checkout (root mode), and ``-I`` keeps our modules off its path."""
    with open(RUNNER) as handle:
        return handle.read()


def _document(path, result, kind):
    return {
        "title": os.path.splitext(result.name)[0], "name": result.name, "path": path,
        "execution-time": result.execution_time,
        "result": {"type": kind, "failed": result.failed,
                   "date": time.strftime(DATE_FORMAT, time.gmtime()),
                   "message": result.message},
    }


def _write_json(path, document, owner):
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(document, handle)
    if os.getuid() == 0:
        os.chown(temporary, owner.st_uid, owner.st_gid)
    os.rename(temporary, path)


def _result_file(partition_path, name):
    return os.path.join(partition_path, RESULT_FOLDER,
                        "%s.status.json" % os.path.splitext(name)[0])


def _read_json(path):
    try:
        with open(path) as handle:
            document = json.load(handle)
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def last_result(partition_path, name):
    """The last result written for the promise ``name`` (its JSON document), or None."""
    document = _read_json(_result_file(partition_path, name))
    if document is None or not isinstance(document.get("result"), dict):
        return None
    return document


def _state_folders(partition_path, owner):
    """``.slapgrid/promise/{result,cache,log}``, owned by the partition's user (who runs the
    plugins and writes there)."""
    for relative in (".slapgrid", os.path.join(".slapgrid", "promise"), RESULT_FOLDER,
                     CACHE_FOLDER, LOG_FOLDER):
        path = os.path.join(partition_path, relative)
        if not os.path.isdir(path):
            os.makedirs(path, exist_ok=True)
            if os.getuid() == 0:
                os.chown(path, owner.st_uid, owner.st_gid)


@defer.inlineCallbacks
def _run_executable(reactor, partition_path, path, timeout, env, owner):
    started = reactor.seconds()
    result = yield processes.run(reactor, [path], partition_path, env, timeout=timeout,
                                 uid=owner.st_uid, gid=owner.st_gid)
    if result.timed_out:
        message = "Error: Promise timed out after %s seconds" % timeout
    else:
        message = result.output.strip()
    outcome = PromiseResult(os.path.basename(path), not result.ok, message,
                            round(reactor.seconds() - started, 3))
    _write_json(_result_file(partition_path, outcome.name),
                _document(path, outcome, "Test Result"), owner)
    return outcome


def _plugin_cache(partition_path, name):
    """slapgrid's cache entry of a plugin (written by the runner), None when absent or stale."""
    cache = _read_json(os.path.join(partition_path, CACHE_FOLDER, os.path.splitext(name)[0]))
    if cache is None or not os.path.exists(str(cache.get("module_file"))):
        return None
    return cache


def _previous_failure(partition_path, name):
    """Whether the last result failed or said ``error:`` (slapgrid's rule for an anomaly check
    that timed out or gave nothing)."""
    document = last_result(partition_path, name)
    if document is None:
        return False
    result = document["result"]
    return bool(result.get("failed")) or "error:" in str(result.get("message") or "").lower()


def _number(value):
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0  # a damaged cache entry: the plugin is due


@defer.inlineCallbacks
def _run_plugin(reactor, partition_path, path, timeout, env, owner, context, check_anomaly,
                force):
    name = os.path.basename(path)
    cache = _plugin_cache(partition_path, name)
    if cache is not None:
        if not cache.get("is_anomaly_detected" if check_anomaly else "is_tested"):
            return None  # this plugin does not run in this mode
        if not force and time.time() < _number(cache.get("next_run_after")):
            document = last_result(partition_path, name)
            if document is None:
                return None
            result = document["result"]
            return PromiseResult(name, bool(result.get("failed")), result.get("message") or "",
                                 document.get("execution-time") or 0, ran=False)
    argv = [release_python(partition_path), "-I", "-c", runner_source(), "--promise-path", path,
            "--partition-folder", partition_path,
            "--log-folder", os.path.join(partition_path, LOG_FOLDER),
            "--promise-timeout", str(timeout)] + context.arguments()
    if check_anomaly:
        argv.append("--check-anomaly")
    started = reactor.seconds()
    run = yield processes.run(reactor, argv, partition_path, env, timeout=timeout,
                              uid=owner.st_uid, gid=owner.st_gid)
    elapsed = round(reactor.seconds() - started, 3)
    if run.exit_code == RUNNER_SKIPPED and not run.timed_out:
        return None
    if run.ok:
        document = last_result(partition_path, name)
        if document is not None:
            result = document["result"]
            return PromiseResult(name, bool(result.get("failed")), result.get("message") or "",
                                 elapsed)
        message = "Error: the promise plugin runner wrote no result"
    elif run.timed_out:
        message = "Error: Promise timed out after %s seconds" % timeout
    else:
        message = "Error: the promise plugin runner failed (exit code %s): %s" % (
            run.exit_code, run.tail(2000).strip())
    failed = _previous_failure(partition_path, name) if check_anomaly else True
    outcome = PromiseResult(name, failed, message, elapsed)
    _write_json(_result_file(partition_path, name),
                _document(path, outcome, "Anomaly Result" if check_anomaly else "Test Result"),
                owner)
    return outcome


@defer.inlineCallbacks
def run_promises(reactor, partition_path, timeout, env, context=None, check_anomaly=False,
                 force=True, concurrency=4):
    """Run the partition's promises as the partition's owner; the list of
    :class:`PromiseResult` (plugins that gave no result in this mode are left out).

    ``check_anomaly`` runs plugins' anomaly checks instead of their tests; ``force`` runs them
    whatever their periodicity (slapgrid: forced on deploy, not on anomaly checks).
    """
    executables = promise_paths(partition_path)
    plugins = plugin_paths(partition_path)
    if not executables and not plugins:
        return []
    owner = os.stat(partition_path)
    _state_folders(partition_path, owner)
    bound = defer.DeferredSemaphore(max(1, concurrency))
    calls = [bound.run(_run_executable, reactor, partition_path, path, timeout, env, owner)
             for path in executables]
    calls += [bound.run(_run_plugin, reactor, partition_path, path, timeout, env, owner,
                        context or PluginContext(), check_anomaly, force)
              for path in plugins]
    try:
        results = yield defer.gatherResults(calls, consumeErrors=True)
    except defer.FirstError as error:
        error.subFailure.raiseException()
    return [result for result in results if result is not None]


def check(results):
    """Raise :class:`PromiseFailed` for the first failed promise."""
    for result in results:
        if result.failed:
            raise PromiseFailed("Promise %r failed with output: %s" % (result.name,
                                                                          result.message))
