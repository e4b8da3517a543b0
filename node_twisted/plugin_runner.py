"""Run one promise plugin (``etc/plugin/<name>.py``) the way slapgrid's promise launcher does.

The node agent runs this file's code (``python -I -c SOURCE ARGS``) in its own process, with the release's Python (the
interpreter of the release's ``bin/buildout``, as slapgrid picks it), as the partition's user, in
the partition's directory, and kills it when the promise timeout passes. It uses nothing but the
standard library: the plugin itself brings upstream's ``slapos.grid.promise.generic`` onto
``sys.path`` with its ``sys.path[0:0] = [...]`` header (written by slapos.cookbook's
``promise.plugin`` recipe), and its ``RunPromise`` class is checked and run as slapgrid's
``PromiseProcess`` does: the ``test`` method when a partition is deployed, ``anomaly`` (with
``--check-anomaly``) on the checks of unchanged partitions.

Like slapgrid it writes ``.slapgrid/promise/cache/<title>`` (periodicity, next run) before
running the plugin and ``.slapgrid/promise/result/<title>.status.json`` after. Exit codes: 0 a
result was written, 3 the plugin is test-less (or anomaly-less) in this mode and gave no result,
64 bad arguments. A plugin that cannot be loaded (syntax error, no ``RunPromise``...) gets a
failed result whose message says why, so the agent reports it like any failed promise.
"""

import argparse
import datetime
import importlib
import inspect
import json
import os
import queue
import re
import sys
import time
import traceback

# None when run with -c (the agent's way): nothing of ours is then on the path.
HERE = os.path.dirname(os.path.abspath(__file__)) if "__file__" in globals() else None
RESULT_FOLDER = os.path.join(".slapgrid", "promise", "result")
CACHE_FOLDER = os.path.join(".slapgrid", "promise", "cache")
LOG_FOLDER = os.path.join(".slapgrid", "promise", "log")
PARAMETER_NAME = "extra_config_dict"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S+0000"
EXIT_WRITTEN, EXIT_SKIPPED, EXIT_USAGE = 0, 3, 64


class PluginError(Exception):
    """The plugin file cannot be used; the message says why."""


def parse_arguments(argv):
    """The command line: the plugin, its partition and the values slapgrid gives plugins."""
    parser = argparse.ArgumentParser(prog="plugin_runner")
    parser.add_argument("--promise-path", required=True)
    parser.add_argument("--partition-folder", required=True)
    parser.add_argument("--log-folder")
    parser.add_argument("--promise-timeout", type=float, default=20)
    parser.add_argument("--check-anomaly", action="store_true")
    parser.add_argument("--debug", action="store_true")
    for name in ("master-url", "partition-cert", "partition-key", "partition-id",
                 "computer-id"):
        parser.add_argument("--" + name)
    return parser.parse_args(argv)


def result_document(path, name, failed, message, kind, execution_time, date=None):
    """The result JSON as slapgrid's ``PromiseQueueResult.serialize`` writes it."""
    if message is not None and len(message) > 5000:  # upstream's BaseResult limit
        message = "...%s" % message[-5000:]
    date = date or datetime.datetime.now(datetime.timezone.utc)
    return {
        "title": os.path.splitext(name)[0], "name": name, "path": path,
        "execution-time": execution_time,
        "result": {"type": kind, "failed": bool(failed), "date": date.strftime(DATE_FORMAT),
                   "message": message},
    }


def write_json(path, document):
    """Write ``document`` to ``path`` through a temporary file and a rename."""
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(document, handle)
    os.rename(temporary, path)


def load_plugin(promise_path):
    """Import the plugin module; its ``RunPromise`` class, checked as slapgrid checks it."""
    folder, name = os.path.split(promise_path)
    title = os.path.splitext(name)[0]
    if re.match(r"[a-zA-Z_]", name) is None:
        raise PluginError("Promise plugin name %r is not valid" % name)
    init_file = os.path.join(folder, "__init__.py")
    if not os.path.exists(init_file):
        with open(init_file, "w"):
            pass
        os.chmod(init_file, 0o644)
    if sys.path[0] != folder:
        sys.path[0:0] = [folder]
    try:
        module = importlib.import_module(title)
    except Exception as error:  # whatever the plugin file raises: its own bug, reported
        raise PluginError("cannot load promise plugin %s: %s" % (
            name, "".join(traceback.format_exception_only(type(error), error)).strip()))
    run_promise = getattr(module, "RunPromise", None)
    if run_promise is None:
        raise PluginError("Class RunPromise not found in promise %s" % name)
    generic = sys.modules.get("slapos.grid.promise.generic")
    interface = sys.modules.get("slapos.grid.promise.interface")
    if generic is None or not inspect.isclass(run_promise) or not issubclass(
            run_promise, generic.GenericPromise):
        raise PluginError("RunPromise class in %s is not a subclass of GenericPromise class."
                          % name)
    if interface is not None and not interface.IPromise.implementedBy(run_promise):
        raise PluginError("RunPromise class in %s must implement 'IPromise' interface. "
                          "@implementer(interface.IPromise) is missing ?" % name)
    return module, run_promise


def plugin_config(args, module, results):
    """The configuration dict slapgrid's launcher gives a plugin, plus its extra parameters."""
    name = os.path.basename(args.promise_path)
    try:
        from slapos.version import version
    except ImportError:
        version = None
    config = {
        "path": args.promise_path, "name": name,
        "log-folder": args.log_folder, "partition-folder": args.partition_folder,
        "debug": args.debug, "promise-timeout": args.promise_timeout,
        "master-url": args.master_url, "partition-cert": args.partition_cert,
        "partition-key": args.partition_key, "partition-id": args.partition_id,
        "computer-id": args.computer_id, "queue": results, "slapgrid-version": version,
    }
    extra = getattr(module, PARAMETER_NAME, None)
    if extra is not None:
        if not isinstance(extra, dict):
            raise PluginError("Extra parameter is not a dict")
        for key in extra:
            if key in config:
                raise PluginError("Extra parameter name %r cannot be used.\n%s" % (key, extra))
            config[key] = extra[key]
    return config


def write_cache(args, run_promise, promise, started):
    """slapgrid's promise cache: what the next launch needs to honour the periodicity."""
    title = os.path.splitext(os.path.basename(args.promise_path))[0]
    folder = os.path.join(args.partition_folder, CACHE_FOLDER)
    os.makedirs(folder, exist_ok=True)
    module_file = "%s.py" % os.path.splitext(inspect.getfile(run_promise))[0]
    now = time.time()
    periodicity = promise.getPeriodicity()
    cache = {
        "is_tested": not hasattr(promise, "isTested") or promise.isTested(),
        "is_anomaly_detected": (not hasattr(promise, "isAnomalyDetected")
                                or promise.isAnomalyDetected()),
        "periodicity": periodicity,
        "next_run_after": now + periodicity * 60.0 if started else now,
        "timestamp": now,
        "module_file": module_file,
        "module_file_mtime": os.stat(module_file).st_mtime,
    }
    with open(os.path.join(folder, title), "w") as handle:
        handle.write(json.dumps(cache))


def run(args):
    """Load and run the plugin; the exit code."""
    name = os.path.basename(args.promise_path)
    kind = "Anomaly Result" if args.check_anomaly else "Test Result"
    result_folder = os.path.join(args.partition_folder, RESULT_FOLDER)
    os.makedirs(result_folder, exist_ok=True)
    result_file = os.path.join(result_folder, "%s.status.json" % os.path.splitext(name)[0])
    started = time.time()
    results = queue.Queue()
    try:
        module, run_promise = load_plugin(args.promise_path)
        promise = run_promise(plugin_config(args, module, results))
        will_run = (not hasattr(promise, "isAnomalyDetected") or not hasattr(promise, "isTested")
                    or (promise.isAnomalyDetected() and args.check_anomaly)
                    or (promise.isTested() and not args.check_anomaly))
        write_cache(args, run_promise, promise, will_run)
        promise.run(args.check_anomaly, args.check_anomaly)
    except PluginError as error:
        document = result_document(args.promise_path, name, True, "Error: %s" % error, kind,
                                   round(time.time() - started, 3))
        write_json(result_file, document)
        return EXIT_WRITTEN
    except Exception as error:  # the plugin's constructor or run raised
        message = "".join(traceback.format_exception_only(type(error), error)).strip()
        document = result_document(args.promise_path, name, True, "Error: %s" % message, kind,
                                   round(time.time() - started, 3))
        write_json(result_file, document)
        return EXIT_WRITTEN
    try:
        item = results.get_nowait()
    except queue.Empty:
        item = None
    elapsed = round(time.time() - started, 3)
    if item is None:
        document = result_document(args.promise_path, name, True,
                                   "Error: No output returned by the promise", kind, elapsed)
    elif item.item.type() == "Empty Result":
        return EXIT_SKIPPED
    else:
        document = result_document(item.path, item.name, item.item.hasFailed(),
                                   item.item.message, item.item.type(), elapsed,
                                   item.item.date)
        document["title"] = item.title
    write_json(result_file, document)
    return EXIT_WRITTEN


def main(argv=None):
    """Entry point: ``python -I plugin_runner.py --promise-path P --partition-folder D ...``
    (or the same code with ``-c``)."""
    if HERE and sys.path and os.path.abspath(sys.path[0] or ".") == HERE:
        del sys.path[0]  # our own modules must not shadow the plugin's imports
    try:
        args = parse_arguments(argv)
    except SystemExit:
        return EXIT_USAGE
    os.chdir(args.partition_folder)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
