"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl on a unix socket in a temp dir.

One cluster serves the whole test process (started on first use, stopped at exit); every test
gets a database of its own. The server listens on no TCP address at all. PostgreSQL refuses to run
as root, so as root the cluster runs as the ``postgres`` user. Where PostgreSQL is not installed the
tests are skipped, except under CI (``CI`` set), where that is a failure.
"""

import atexit
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import unittest

_cluster = {}
_counter = itertools.count()


def _binaries():
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return os.path.dirname(candidates[0]) if candidates else None


def _as_owner(command):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + command
    return command


def _run(command, **kwargs):
    result = subprocess.run(_as_owner(command), capture_output=True, text=True, timeout=60,
                            **kwargs)
    if result.returncode != 0:
        raise RuntimeError("%s failed: %s%s" % (command[0], result.stdout, result.stderr))
    return result


def _start():
    bindir = _binaries()
    if bindir is None:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get("CI"):
            raise RuntimeError(message)
        raise unittest.SkipTest(message)
    directory = tempfile.mkdtemp(prefix="slapgate-pg-")
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
    os.chmod(directory, 0o700)
    data = os.path.join(directory, "data")
    _run([os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres",
          "--no-sync", "-E", "UTF8"])
    port = "5432"
    options = "-k %s -h '' -F -p %s -c max_connections=200" % (directory, port)
    _run([os.path.join(bindir, "pg_ctl"), "-D", data, "-o", options, "-w", "-t", "60",
          "-l", os.path.join(directory, "server.log"), "start"])

    def stop():
        subprocess.run(_as_owner([os.path.join(bindir, "pg_ctl"), "-D", data, "-m",
                                  "immediate", "-w", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(directory, ignore_errors=True)

    atexit.register(stop)
    _cluster.update(bindir=bindir, directory=directory, port=port)
    return _cluster


def postgres_url(testcase):
    """A fresh, empty database on the shared cluster; dropped when ``testcase`` ends."""
    cluster = _cluster or _start()
    name = "slapgate_%d_%d" % (os.getpid(), next(_counter))
    psql = [os.path.join(cluster["bindir"], "psql"), "-h", cluster["directory"], "-p",
            cluster["port"], "-U", "postgres", "-d", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]
    _run(psql + ["-c", "CREATE DATABASE %s" % name])
    testcase.addCleanup(_run, psql + ["-c", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name])
    return "postgresql+psycopg://postgres@/%s?host=%s&port=%s" % (
        name, cluster["directory"], cluster["port"])
