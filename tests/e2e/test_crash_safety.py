"""Crash safety (issue 16): a ``slapgate master`` process is killed (SIGKILL) five times at
random moments while clients request instances over REST, restarted each time on the same
database, and every request it acknowledged (2xx) is found afterwards; stopped with SIGTERM it
finishes cleanly and loses nothing either. On SQLite (WAL) and on PostgreSQL.

The master is a real subprocess (the installed ``slapgate`` command); the clients are threads
with ``http.client``; the whole scenario runs in a thread so the reactor stays free.
"""

import base64
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from twisted.internet import threads
from twisted.trial import unittest

from slap_core.master import Master
from slap_core.principals import User
from tests.fixtures import SR
from tests.upstream import _free_port as free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLAPGATE = os.path.join(os.path.dirname(sys.executable), "slapgate")
WRITERS = 4
ROUNDS = 5


class MasterProcess:
    """``slapgate master`` on ``database``, its state in ``state``, listening on a new port."""

    def __init__(self, database, state, log):
        self.port = free_port()
        self.process = subprocess.Popen(
            [SLAPGATE, "master", "--listen", "127.0.0.1:%d" % self.port, "--db", database,
             "--state-dir", state], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.get("/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError("the master did not start")
            time.sleep(0.1)
        with open(os.path.join(state, "admin-password")) as handle:
            secret = "admin:" + handle.read().strip()
        self.auth = "Basic " + base64.b64encode(secret.encode()).decode()

    def get(self, path):
        """(status, body) of a GET."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def request_instance(self, title):
        """The status of ``POST /api/instances`` for ``title`` (an OSError when the master is
        gone)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("POST", "/api/instances", json.dumps(
                {"title": title, "software_release": SR}),
                {"Content-Type": "application/json", "Authorization": self.auth})
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()


def load(master, prefix, acknowledged, failures, stop):
    """Request instances until ``stop`` is set or the master goes; note the acknowledged."""
    number = 0
    while not stop.is_set():
        title = "%s-%d" % (prefix, number)
        number += 1
        try:
            status = master.request_instance(title)
        except (OSError, http.client.HTTPException):
            return  # the master was killed: this one was never acknowledged
        if 200 <= status < 300:
            acknowledged.append(title)
        else:
            failures.append((title, status))


def crash_scenario(database, work, stop_signal, rounds, seed):
    """Run ``rounds`` rounds of load ended by ``stop_signal``; (acknowledged titles, failures,
    exit codes)."""
    chance = random.Random(seed)
    state = os.path.join(work, "state")
    acknowledged, failures, codes = [], [], []
    with open(os.path.join(work, "master.log"), "ab") as log:
        for round_ in range(rounds):
            master = MasterProcess(database, state, log)
            stop = threading.Event()
            writers = [threading.Thread(target=load, args=(
                master, "r%d-w%d" % (round_, n), acknowledged, failures, stop))
                for n in range(WRITERS)]
            for writer in writers:
                writer.start()
            time.sleep(chance.uniform(0.5, 2.0))
            master.process.send_signal(stop_signal)
            codes.append(master.process.wait(60))
            stop.set()
            for writer in writers:
                writer.join(60)
    return acknowledged, failures, codes


def stored_titles(database):
    """The titles of the root instances the database holds."""
    master = Master(database)
    try:
        return {view.title for view in master.call("instance.list", User("admin", {"admin"}))}
    finally:
        master.close()


class CrashSafetyCases:
    """The scenarios, on the database ``self.database()`` gives."""

    timeout = 600

    def run_scenario(self, stop_signal, rounds):
        work = tempfile.mkdtemp(prefix="slapgate-crash-")
        self.addCleanup(subprocess.run, ["rm", "-rf", work])
        database = self.database(work)
        return threads.deferToThread(crash_scenario, database, work, stop_signal, rounds,
                                     seed=int(time.time())).addCallback(
            lambda result: (database,) + result)

    def test_acknowledged_requests_survive_sigkill(self):
        def check(result):
            database, acknowledged, failures, codes = result
            self.assertEqual(failures, [])
            self.assertEqual(codes, [-signal.SIGKILL] * ROUNDS)
            self.assertGreater(len(acknowledged), ROUNDS * WRITERS)  # there was load
            missing = set(acknowledged) - stored_titles(database)
            self.assertEqual(missing, set(), "acknowledged but lost")
        return self.run_scenario(signal.SIGKILL, ROUNDS).addCallback(check)

    def test_sigterm_stops_cleanly_and_loses_nothing(self):
        def check(result):
            database, acknowledged, failures, codes = result
            self.assertEqual(failures, [])
            self.assertEqual(codes, [0, 0])
            self.assertEqual(set(acknowledged) - stored_titles(database), set())
        return self.run_scenario(signal.SIGTERM, 2).addCallback(check)


@pytest.mark.slow
class SqliteCrashSafetyTests(CrashSafetyCases, unittest.TestCase):
    """On an SQLite file (WAL journal)."""

    def database(self, work):
        return os.path.join(work, "master.sqlite")


@pytest.mark.postgres
class PostgresCrashSafetyTests(CrashSafetyCases, unittest.TestCase):
    """On a PostgreSQL database of the tests' throwaway cluster."""

    def database(self, work):
        from tests.postgres import start_postgres

        return start_postgres(self)
