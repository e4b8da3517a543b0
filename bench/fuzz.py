"""Hostile bodies against every face of a fresh master, counted: ``make fuzz`` (issue 16).

For each face a seeded generator (``bench/hostile.py``) writes mutated requests: nested odd
values, truncation, flipped bytes, a stray byte-order mark, deep nesting, wrong charsets and
namespaces, unknown commands. A ``slapgate master`` subprocess on a fresh SQLite database (and
``--insecure-loopback``, so SLAP calls act as its admin) answers them; the report gives per face
the bodies sent, the answers by status, the answers that are server errors of the wrong kind
(HTTP 5xx other than a SOAP Fault, XML-RPC internal faults, SyncML 511), Python exception text in
an answer, the tracebacks in the master's log and its resident memory before and after.

    python -m bench.fuzz [--bodies 2000] [--seed 1] [--faces xmlrpc,soap,slap,syncml,dashboard]
"""

import argparse
import base64
import collections
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

from bench import hostile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACES = ("xmlrpc", "soap", "slap", "syncml", "dashboard", "rest")
EXCEPTION_TEXT = re.compile(rb"Traceback|\b\w+(Error|Exception): ")


def _rss(pid):
    with open("/proc/%d/status" % pid) as handle:
        return int(re.search(r"VmRSS:\s+(\d+)", handle.read()).group(1)) // 1024


class Target:
    """A master reached over HTTP on 127.0.0.1:``port``, whose admin's password is
    ``password``: what the generators of bench.hostile send to."""

    def __init__(self, port, password):
        self.port, self.password = port, password

    def post(self, path, body, headers):
        """(status, answer) of one request (``body`` None: a GET; header X-Method: another
        method)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            headers = dict(headers)
            method = headers.pop("X-Method", "GET" if body is None else "POST")
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def dashboard_login(self):
        """Log in to the dashboard as the admin: (Cookie header value, the session's CSRF)."""
        def exchange(method, path, body=None, headers=None):
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                connection.request(method, path, body, headers or {})
                response = connection.getresponse()
                return response.getheader("Set-Cookie") or "", response.read()
            finally:
                connection.close()

        form_cookie, page = exchange("GET", "/login")
        form_cookie = form_cookie.split(";")[0]
        csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        body = urllib.parse.urlencode({"login": "admin", "password": self.password,
                                       "csrf": csrf})
        session, _ = exchange("POST", "/login", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": form_cookie})
        session = session.split(";")[0]
        _, page = exchange("GET", "/services", None, {"Cookie": session})
        return session, re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()


def wrong_answer(face, status, answer):
    """Whether an answer is the wrong kind of server error for ``face``."""
    fault = b"Fault>" in answer
    return (status >= 500 and not (face == "soap" and fault)) or \
        b"<int>-32603</int>" in answer or b"<Data>511</Data>" in answer


class Master(Target):
    """A ``slapgate master`` subprocess on a fresh database in a directory of its own."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="slapgate-fuzz-")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log_path = os.path.join(self.work, "master.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [os.path.join(ROOT, ".venv", "bin", "slapgate"), "master", "--listen",
             "127.0.0.1:%d" % self.port, "--db", os.path.join(self.work, "m.sqlite"),
             "--state-dir", os.path.join(self.work, "state"), "--insecure-loopback"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.work)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        with open(os.path.join(self.work, "state", "admin-password")) as handle:
            self.password = handle.read().strip()

    def stop(self):
        """Stop it; the number of tracebacks its log holds."""
        self.process.terminate()
        self.process.wait(30)
        self.log.close()
        with open(self.log_path) as handle:
            tracebacks = handle.read().count("Traceback")
        shutil.rmtree(self.work, ignore_errors=True)
        return tracebacks


def run_face(face, bodies, seed, good=0):
    """The figures of one face."""
    master = Master()
    auth = "Basic " + base64.b64encode(("admin:" + master.password).encode()).decode()
    statuses, wrong, leaked = collections.Counter(), 0, 0
    rss_before = _rss(master.process.pid)
    good_statuses = collections.Counter()
    try:
        if good:
            for path, body, headers in hostile.good_requests(face, good, auth):
                good_statuses[master.post(path, body, headers)[0]] += 1
            rss_before = _rss(master.process.pid)
        for path, body, headers in hostile.requests(face, seed, bodies, master, auth):
            status, answer = master.post(path, body, headers)
            statuses[status] += 1
            if wrong_answer(face, status, answer):
                wrong += 1
            if EXCEPTION_TEXT.search(answer):
                leaked += 1
        rss_after = _rss(master.process.pid)
    finally:
        tracebacks = master.stop()
    return dict(face=face, bodies=sum(statuses.values()), statuses=dict(sorted(statuses.items())),
                wrong=wrong, leaked=leaked, tracebacks=tracebacks, rss=(rss_before, rss_after),
                good=dict(sorted(good_statuses.items())))


def main(argv=None):
    """Run the faces asked for and print the report; exit 1 when a face misbehaved."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faces", default=",".join(FACES))
    parser.add_argument("--good", type=int, default=0,
                        help="first send this many good requests: RSS before is then the "
                             "size after good traffic")
    args = parser.parse_args(argv)
    print("| face | bodies | answers by status | wrong 5xx/internal | exception text | "
          "tracebacks in log | RSS MB before -> after |")
    print("|---|---:|---|---:|---:|---:|---|")
    bad = False
    for face in args.faces.split(","):
        figures = run_face(face, args.bodies, args.seed, args.good)
        if args.good:
            print("|   %s good requests | %d | %s | | | | |" % (
                face, sum(figures["good"].values()), figures["good"]), flush=True)
        bad = bad or figures["wrong"] or figures["leaked"] or figures["tracebacks"]
        print("| %(face)s | %(bodies)d | %(statuses)s | %(wrong)d | %(leaked)d | %(tracebacks)d "
              "| %(rss)s |" % figures, flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
