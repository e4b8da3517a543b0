"""A throwaway PostgreSQL cluster for the tests: ``initdb`` + ``pg_ctl`` on a unix socket only.

``start_postgres(testcase)`` returns the SQLAlchemy URL of a fresh, empty database created for
that test and dropped by its cleanup. The cluster behind it is started on first use (``initdb
--no-sync``, then ``pg_ctl start`` with ``fsync`` off, listening on a socket in its temp directory
and on no TCP address) and shared by every test of the process; it is stopped (``pg_ctl -m
immediate stop``) and its directory removed when the process exits.

PostgreSQL refuses to run as root: as root, the cluster runs as the ``postgres`` user through
``runuser``. Where PostgreSQL is not installed the tests are skipped, except when the ``CI``
environment variable is set: there a missing PostgreSQL is a failure, since CI must run them.
"""

import atexit
import glob
import itertools
import os
import pwd
import random
import shutil
import subprocess
import tempfile
import unittest

from tests.needs import declared

SERVER_SETTINGS = (
    "-F",  # fsync off: a throwaway cluster never needs to survive a crash
    "-c", "max_connections=200",
    "-c", "full_page_writes=off",
    "-c", "synchronous_commit=off",
)

_cluster = None
_databases = itertools.count()


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be run on this machine (not installed, or no user to run it as)."""


def binaries():
    """The bin directory of the newest installed PostgreSQL, or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: _version_key(path.split("/")[-3]),
        reverse=True,
    )
    return os.path.dirname(found[0]) if found else None


def _version_key(version):
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def _unavailable(message):
    """Skip the test, or fail it under CI, where PostgreSQL must be there."""
    if os.environ.get("CI"):
        raise PostgresUnavailable(message + " (CI is set: the PostgreSQL tests must run)")
    raise unittest.SkipTest(message)


class Cluster:
    """One running PostgreSQL server in a temp directory, reachable on its unix socket only."""

    def __init__(self, bindir):
        self.bindir = bindir
        self.owner = None
        if os.geteuid() == 0:
            try:
                self.owner = pwd.getpwnam("postgres")
            except KeyError:
                _unavailable("running as root and there is no 'postgres' user to run PostgreSQL")
            if shutil.which("runuser") is None:
                _unavailable("running as root and 'runuser' is missing")
        # Socket paths are limited to about 107 bytes: stay in /tmp even under a long TMPDIR.
        parent = "/tmp" if os.path.isdir("/tmp") else None
        self.directory = tempfile.mkdtemp(prefix="slapgate-pg-", dir=parent)
        self.data = os.path.join(self.directory, "data")
        self.log = os.path.join(self.directory, "server.log")
        # Without TCP the port only names the socket file (and seeds shared memory keys).
        self.port = random.randint(20000, 59999)
        self.pid = os.getpid()
        self.running = False
        if self.owner is not None:
            os.chown(self.directory, self.owner.pw_uid, self.owner.pw_gid)
        os.chmod(self.directory, 0o700)

    def _command(self, *arguments):
        command = [os.path.join(self.bindir, arguments[0])] + list(arguments[1:])
        if self.owner is not None:
            command = ["runuser", "-u", self.owner.pw_name, "--"] + command
        return command

    def _run(self, *arguments):
        result = subprocess.run(self._command(*arguments), capture_output=True, text=True,
                                timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError("%s failed (exit %d):\n%s%s%s" % (
                arguments[0], result.returncode, result.stdout, result.stderr, self._log_tail()))
        return result

    def _log_tail(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as log:
                return "\nserver log:\n" + log.read()[-4000:]
        except OSError:
            return ""

    def start(self):
        """initdb, then start the server and wait until it accepts connections."""
        try:
            self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync",
                      "-E", "UTF8", "--locale=C")
            options = " ".join(("-k", self.directory, "-h", "''", "-p", str(self.port))
                               + SERVER_SETTINGS)
            self._run("pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "-t",
                      "60", "start")
        except BaseException:
            self.stop()
            raise
        self.running = True
        return self

    def stop(self):
        """Stop the server at once (its data is thrown away) and remove the directory."""
        if os.getpid() != self.pid:
            return  # a child process inherited this object; the parent owns the server
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run(self._command("pg_ctl", "-D", self.data, "-m", "immediate", "-w",
                                         "stop"), capture_output=True, timeout=60, check=False)
        self.running = False
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database):
        """The SQLAlchemy (psycopg 3) URL of ``database`` on this cluster."""
        return "postgresql+psycopg://postgres@/%s?host=%s&port=%d" % (
            database, self.directory, self.port)

    def _admin(self, statement):
        import psycopg

        with psycopg.connect(host=self.directory, port=self.port, user="postgres",
                             dbname="postgres", autocommit=True, connect_timeout=30) as conn:
            conn.execute(statement)

    def create_database(self, name):
        """Create an empty database."""
        self._admin('CREATE DATABASE "%s"' % name)

    def drop_database(self, name):
        """Drop a database, closing whatever connections are still open on it."""
        if self.running:
            self._admin('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)


def cluster():
    """The process's shared cluster, started on first use; skips (or fails under CI) without one."""
    global _cluster
    if _cluster is None or not _cluster.running:
        bindir = binaries()
        if bindir is None:
            _unavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")
        started = Cluster(bindir).start()
        atexit.register(started.stop)
        _cluster = started
    return _cluster


def start_postgres(testcase):
    """A fresh, empty database for ``testcase`` (dropped by its cleanup); returns its URL."""
    declared(testcase, "postgres")
    server = cluster()
    name = "slapgate_%d_%d" % (os.getpid(), next(_databases))
    server.create_database(name)
    testcase.addCleanup(server.drop_database, name)
    return server.url(name)
