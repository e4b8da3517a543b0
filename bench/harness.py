"""What every benchmark of bench/ shares: server subprocesses, wrk runs and their figures.

Servers run in their own session with their output in a log file and are stopped with their whole
process group. ``run_wrk`` runs wrk (one thread, a fixed number of connections, a fixed duration)
from a separate process on 127.0.0.1 with a Lua script that prints one machine-readable line
(bench/report.lua, or bench/scenario.lua for POST bodies, rotating URLs and unique titles).
"""

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
UPSTREAM = ROOT / ".venv-upstream" / "bin"
HOST = "127.0.0.1"


class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def upstream_env():
    """The environment upstream's venv runs in: PATH and HOME only."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}


class Server:
    """A server subprocess in its own session, its output in a log file."""

    def __init__(self, name, argv, log_path, cwd, env=None):
        self.name, self.argv, self.log_path, self.cwd, self.env = name, argv, log_path, cwd, env
        self.process = None

    def start(self):
        log = open(self.log_path, "wb")
        try:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=self.cwd,
                                            env=self.env, start_new_session=True)
        finally:
            log.close()
        return self

    def log_tail(self, size=3000):
        try:
            return Path(self.log_path).read_bytes()[-size:].decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_ready(self, url, deadline=60):
        """Poll ``url`` until it answers 200; BenchError if the process ends or time runs out."""
        give_up = time.monotonic() + deadline
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                raise BenchError("%s exited (%s) before answering:\n%s"
                                 % (self.name, self.process.returncode, self.log_tail()))
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                pass
            time.sleep(0.2)
        raise BenchError("%s did not answer %s within %d s:\n%s"
                         % (self.name, url, deadline, self.log_tail()))

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        for signum, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                return
            try:
                self.process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        try:  # anything its children left in the group
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def fetch(url, data=None, headers=None):
    """(status, content type, body) of a GET, or of a POST of ``data`` (bytes)."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read()


def run_wrk(url, connections, seconds, log, script=None, script_args=()):
    """Run wrk once; returns the figures of the report line (latencies in ms).

    ``script`` is a Lua script of bench/ (default report.lua), ``script_args`` what follows ``--``.
    """
    argv = ["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--timeout", "30s",
            "--latency", "-s", str(BENCH / (script or "report.lua")), url]
    if script_args:
        argv += ["--"] + [str(a) for a in script_args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    log.write("$ %s\n%s%s\n" % (shlex.join(argv), done.stdout, done.stderr))
    log.flush()
    if done.returncode != 0:
        raise BenchError("wrk failed (%d): %s" % (done.returncode, done.stderr or done.stdout))
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")]
    if not line:
        raise BenchError("wrk printed no figures:\n" + done.stdout)
    raw = json.loads(line[-1][len("WRKJSON "):])
    seconds_measured = raw["duration_us"] / 1e6
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / seconds_measured if seconds_measured else 0.0,
        # answered with a 2xx/3xx status: what a request that must succeed is measured by
        "ok_rps": (raw["requests"] - raw["status"]) / seconds_measured if seconds_measured
        else 0.0,
        "p50": raw["p50_us"] / 1000.0,
        "p99": raw["p99_us"] / 1000.0,
        "max": raw["max_us"] / 1000.0,
        "mb_s": raw["bytes"] / seconds_measured / 1e6 if seconds_measured else 0.0,
        "errors": errors,
        "error_detail": {k: raw[k] for k in ("connect", "read", "write", "status", "timeout")
                         if raw[k]},
    }


def lua_string(text):
    """``text`` (str or bytes) as a Lua string literal."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else "\\%03d" % b
                         for b in text) + '"'


def write_requests(path, requests):
    """Write the requests bench/scenario.lua sends in turn, as a Lua file returning a table.

    Each request is a dict: ``method``, ``path``, ``headers`` (dict), ``body`` (bytes or str);
    ``__TITLE__`` in a body becomes a title no other request of the run has.
    """
    lines = ["return {"]
    for request in requests:
        headers = ", ".join("[%s] = %s" % (lua_string(k), lua_string(v))
                            for k, v in request.get("headers", {}).items())
        lines.append("  {method = %s, path = %s, headers = {%s}, body = %s}," % (
            lua_string(request.get("method", "GET")), lua_string(request["path"]), headers,
            lua_string(request.get("body", b"")) if request.get("body") else "nil"))
    lines.append("}")
    Path(path).write_text("\n".join(lines) + "\n")
    return path


class Run:
    """One ``make bench`` invocation: its working directory, servers, wrk log and notes."""

    def __init__(self, work, duration, warmup):
        self.work, self.duration, self.warmup = Path(work), duration, warmup
        self.servers, self.notes = [], []
        self.log = open(self.work / "wrk.log", "a")

    def start(self, server):
        """Start ``server`` and stop it with the others at the end."""
        self.servers.append(server.start())
        return server

    def stop(self, server):
        """Stop ``server`` now (a fleet's master once its figures are taken)."""
        server.stop()
        if server in self.servers:
            self.servers.remove(server)

    def close(self):
        """Stop every server still running, last started first."""
        for server in reversed(self.servers):
            server.stop()
        self.servers = []
        self.log.close()

    def measure(self, label, url, connections, script=None, script_args=(), warm_args=None):
        """wrk after a warm-up at the same concurrency; prints and returns the figures.

        ``warm_args`` replaces ``script_args`` for the warm-up (unique titles of its own).
        """
        if self.warmup:
            run_wrk(url, connections, self.warmup, self.log, script,
                    script_args if warm_args is None else warm_args)
        result = run_wrk(url, connections, self.duration, self.log, script, script_args)
        print("bench: %-34s %3d concurrent: %8.1f req/s  p50 %7.1f ms  p99 %7.1f ms  errors %d"
              % (label, connections, result["rps"], result["p50"], result["p99"],
                 result["errors"]), flush=True)
        if result["errors"]:
            self.notes.append("wrk counted %d errors on %s at %d concurrent: %s"
                              % (result["errors"], label, connections, result["error_detail"]))
        if result["requests"] == 0:
            self.notes.append("%s answered no request at %d concurrent" % (label, connections))
        return result


def slapgate_master(run, name, database, environment=None):
    """Start ``slapgate master --insecure-loopback`` on ``database``; (server, base URL).

    Its poll limit is off: the benchmarks poll one computer as fast as they can on purpose."""
    port = free_port()
    slapgate = Path(sys.executable).parent / "slapgate"
    env = dict(os.environ, **(environment or {}))
    slug = "".join(c if c.isalnum() else "-" for c in name)
    server = Server(name, [str(slapgate), "master", "--db", str(database),
                           "--state-dir", str(run.work / ("state-" + slug)),
                           "--listen", "%s:%d" % (HOST, port), "--insecure-loopback",
                           "--max-polls-per-minute", "0"],
                    run.work / ("%s.log" % slug), ROOT, env=env)
    run.start(server)
    url = "http://%s:%d/" % (HOST, port)
    server.wait_ready(url + "health", deadline=120)
    return server, url


def result_row(label, result):
    """One markdown table row: label, requests, req/s, p50, p99, max, errors."""
    errors = str(result["errors"]) + (" %s" % result["error_detail"] if result["errors"] else "")
    return "| %s | %d | %.1f | %.1f | %.1f | %.1f | %s |" % (
        label, result["requests"], result["rps"], result["p50"], result["p99"], result["max"],
        errors)


RESULT_HEADER = ["| %s | requests | requests/s | p50 ms | p99 ms | max ms | errors |",
                 "|---|---:|---:|---:|---:|---:|---:|"]
