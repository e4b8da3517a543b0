"""The gateway process: /health in-process and as the real ``slapgate master`` command, the
configuration file, and the admin CLI."""

import contextlib
import io
import json
import os
import re
import signal
import sys

from twisted.internet import defer, error, protocol, reactor
from twisted.trial import unittest

from gateway import cli
from gateway.config import ConfigError, load, parse_listen
from gateway.core_calls import CoreCalls
from gateway.site import build_site
from slap_core.master import Master
from slap_core.principals import User
from tests.fixtures import http_client, start_test_master
from tests.waiting import until

ADMIN = User("admin", {"admin"})


class HealthInProcessTests(unittest.TestCase):
    """A master started in this process on 127.0.0.1:0."""

    def start(self):
        directory = os.path.abspath(self.mktemp())
        return start_test_master(self, state_dir=os.path.join(directory, "state")), directory

    @defer.inlineCallbacks
    def test_health_answers_ok_with_the_database_reachable(self):
        running, _ = self.start()
        response = yield http_client(self).get(running.urls()[0] + "health")
        self.assertEqual(response.code, 200)
        body = yield response.json()
        self.assertEqual(body["status"], "ok")
        self.assertEqual(body["database"], "ok")

    @defer.inlineCallbacks
    def test_index_lists_health_and_unknown_paths_are_404(self):
        running, _ = self.start()
        body = yield (yield http_client(self).get(running.urls()[0])).json()
        self.assertIn("/health", body["services"])
        response = yield http_client(self).get(running.urls()[0] + "no/such/thing")
        self.assertEqual(response.code, 404)
        yield response.content()

    @defer.inlineCallbacks
    def test_first_start_creates_an_admin_whose_password_works(self):
        running, directory = self.start()
        login, password = running.credentials
        self.assertEqual(login, "admin")
        with open(os.path.join(directory, "state", "admin-password")) as handle:
            self.assertEqual(handle.read().strip(), password)
        self.assertEqual(os.stat(os.path.join(directory, "state", "admin-password")).st_mode
                         & 0o777, 0o600)
        view = yield CoreCalls(running.master, reactor).call(
            "person.check_password", ADMIN, login="admin", password=password)
        self.assertEqual(view.roles, ("admin",))

    @defer.inlineCallbacks
    def test_health_is_503_when_the_database_cannot_be_reached(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        # A PostgreSQL URL whose unix socket directory holds no server.
        master = Master("postgresql+psycopg://nobody@/nothing?host=%s&port=1&connect_timeout=2"
                        % directory)
        self.addCleanup(master.close)
        port = reactor.listenTCP(0, build_site(CoreCalls(master, reactor)),
                                 interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        response = yield http_client(self).get("http://127.0.0.1:%d/health" % port.getHost().port)
        self.assertEqual(response.code, 503)
        body = yield response.json()
        self.assertEqual(body["status"], "unavailable")


class MasterProcess(protocol.ProcessProtocol):
    """Runs ``slapgate master`` and fires ``ready`` with its URL once it prints it."""

    def __init__(self):
        self.output = b""
        self.ready = defer.Deferred()
        self.ended = defer.Deferred()

    def outReceived(self, data):
        self.output += data
        match = re.search(rb"slapgate master: (http://\S+/) ", self.output)
        if match and not self.ready.called:
            self.ready.callback(match.group(1).decode())

    errReceived = outReceived

    def processEnded(self, reason):
        if not self.ready.called:
            self.ready.errback(RuntimeError("master exited early:\n" + self.output.decode()))
        self.ended.callback(reason.value)


class MasterCommandTests(unittest.TestCase):
    """The real ``slapgate master`` command, as the README starts it."""

    def spawn(self, *arguments):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        process = MasterProcess()
        transport = reactor.spawnProcess(
            process, sys.executable,
            [sys.executable, "-m", "gateway.cli", "master", *arguments],
            env=dict(os.environ), path=directory)

        def cleanup():
            if not process.ended.called:
                transport.signalProcess("KILL")
                return process.ended

        self.addCleanup(cleanup)
        return process, transport, directory

    @defer.inlineCallbacks
    def test_master_serves_health_and_stops_cleanly_on_sigterm(self):
        process, transport, directory = self.spawn("--listen", "127.0.0.1:0")
        url = yield _with_deadline(process.ready, 30)
        response = yield http_client(self).get(url + "health")
        self.assertEqual(response.code, 200)
        yield response.content()
        self.assertTrue(os.path.exists(os.path.join(directory, "var", "slapgate.sqlite")))
        transport.signalProcess(signal.SIGTERM)
        ended = yield _with_deadline(process.ended, 30)
        self.assertIsInstance(ended, error.ProcessDone)
        self.assertIn(b"slapgate master stopping", process.output)
        self.assertIn(b"slapgate master stopped", process.output)
        self.assertIn(b"admin login 'admin', password '", process.output)
        self.assertNotIn(b"Traceback", process.output)

    @defer.inlineCallbacks
    def test_master_with_listen_tls_creates_its_ca_and_serves_https(self):
        import requests
        from twisted.internet import threads

        process, transport, directory = self.spawn("--listen", "127.0.0.1:0",
                                                   "--listen-tls", "127.0.0.1:0")
        yield _with_deadline(process.ready, 30)
        yield until(lambda: b"CA certificate" in process.output, 30,
                    lambda: "no CA certificate line: %r" % process.output)
        https = re.search(rb"slapgate master: (https://\S+/) ", process.output).group(1).decode()
        ca_key = os.path.join(directory, "var", "ca", "ca.key")
        self.assertEqual(os.stat(ca_key).st_mode & 0o777, 0o600)
        response = yield threads.deferToThread(
            requests.get, https + "health", timeout=30,
            verify=os.path.join(directory, "var", "ca", "ca.crt"))
        self.assertEqual(response.status_code, 200)
        transport.signalProcess(signal.SIGTERM)
        yield _with_deadline(process.ended, 30)
        self.assertNotIn(b"Traceback", process.output)

    @defer.inlineCallbacks
    def test_master_refuses_a_bad_listen_address_with_a_clear_message(self):
        process, _, _ = self.spawn("--listen", "nowhere")
        self.assertFailure(process.ready, RuntimeError)
        yield process.ready.addErrback(lambda failure: None)
        ended = yield process.ended
        self.assertEqual(ended.exitCode, 2)
        self.assertIn(b"listen address 'nowhere' is not HOST:PORT", process.output)
        self.assertNotIn(b"Traceback", process.output)


def _with_deadline(deferred, seconds):
    """Fail ``deferred`` with a timeout after ``seconds``."""
    return deferred.addTimeout(seconds, reactor)


class ConfigTests(unittest.TestCase):
    """The [master] section of the configuration file and its overrides."""

    def test_file_values_are_read_and_flags_override_them(self):
        path = self.mktemp()
        with open(path, "w") as handle:
            handle.write("[master]\nlisten = 127.0.0.1:9001 [::1]:9002\ndatabase = /tmp/x.db\n"
                         "thread_pool_size = 4\n")
        config = load(path)
        self.assertEqual(config.listen, ["127.0.0.1:9001", "[::1]:9002"])
        self.assertEqual(config.thread_pool_size, 4)
        self.assertEqual(load(path, database="postgresql+psycopg://x/y").database,
                         "postgresql+psycopg://x/y")

    def test_listen_addresses_are_parsed_or_refused(self):
        self.assertEqual(parse_listen("[::1]:80"), ("::1", 80))
        self.assertEqual(parse_listen("127.0.0.1:8080"), ("127.0.0.1", 8080))
        for bad in ("8080", "host:80", "127.0.0.1:http", "127.0.0.1:70000"):
            self.assertRaises(ConfigError, parse_listen, bad)

    def test_missing_configuration_file_is_an_error(self):
        self.assertRaises(ConfigError, load, "/nonexistent/slapgate.cfg")

    def test_tls_settings_are_read_and_checked(self):
        path = self.mktemp()
        with open(path, "w") as handle:
            handle.write("[master]\nlisten_tls = 0.0.0.0:8443 [::]:8443\ncertificate_days = 30\n"
                         "crl_refresh_interval = 2.5\n")
        config = load(path)
        self.assertEqual((config.listen_tls, config.certificate_days, config.crl_refresh_interval),
                         (["0.0.0.0:8443", "[::]:8443"], 30, 2.5))
        self.assertEqual(load(None).crl_refresh_interval, 10.0)
        self.assertRaises(ConfigError, load, None, crl_refresh_interval=0)
        self.assertRaises(ConfigError, load, None, listen_tls=["nowhere"])
        self.assertRaises(ConfigError, load, None, certificate_days=0)
        self.assertRaises(ConfigError, load, None, insecure_loopback=True,
                          listen_tls=["0.0.0.0:8443"])
        with open(path, "w") as handle:
            handle.write("[master]\ncertificate_days = soon\n")
        self.assertRaises(ConfigError, load, path)
        with open(path, "w") as handle:
            handle.write("[master]\ncrl_refresh_interval = often\n")
        self.assertRaises(ConfigError, load, path)


class AdminCommandTests(unittest.TestCase):
    """``slapgate admin`` works on the database without any adaptor."""

    def setUp(self):
        self.database = os.path.join(os.path.abspath(self.mktemp()) + ".sqlite")

    def admin(self, *arguments):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["admin", "--db", self.database, *arguments])
        return code, out.getvalue(), err.getvalue()

    def test_admin_registers_user_computer_release_and_supply(self):
        self.assertEqual(self.admin("user", "add", "carol", "--password", "pw",
                                    "--role", "operator")[0], 0)
        code, out, _ = self.admin("computer", "add", "COMP-7", "--attr", "region=eu")
        self.assertEqual(code, 0)
        self.assertEqual(json.loads(out)["attributes"], {"region": "eu"})
        self.assertEqual(self.admin("release", "add", "http://sr/a.cfg", "--product", "kvm",
                                    "--version", "1")[0], 0)
        code, out, _ = self.admin("supply", "http://sr/a.cfg", "COMP-7")
        self.assertEqual((code, json.loads(out)["desired_state"]), (0, "available"))
        master = Master(self.database)
        self.addCleanup(master.close)
        self.assertEqual(master.call("person.check_password", ADMIN, login="carol",
                                     password="pw").roles, ("operator",))
        self.assertEqual([s.url for s in master.call("supply.list", ADMIN, computer="COMP-7")],
                         ["http://sr/a.cfg"])
        code, out, _ = self.admin("db", "revision")
        self.assertEqual(json.loads(out)["revision"], master.storage.current_revision())

    def test_admin_errors_are_reported_without_traceback(self):
        code, _, err = self.admin("supply", "http://sr/a.cfg", "COMP-404")
        self.assertEqual(code, 1)
        self.assertEqual(err.strip(), "slapgate: not_found: no computer 'COMP-404'")
        self.admin("user", "add", "dave")
        code, _, err = self.admin("user", "add", "dave")
        self.assertEqual((code, err.split(":")[1].strip()), (1, "conflict"))


class AllocationLoopTests(unittest.TestCase):
    """The master places waiting instances every allocation_interval seconds."""

    def test_loop_places_a_waiting_instance_on_its_next_pass(self):
        from twisted.internet.task import Clock

        from gateway.server import allocate_pending
        from slap_core.principals import ComputerAgent
        from tests.fixtures import SR, format_configuration

        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        master = Master(os.path.join(directory, "m.sqlite"))
        master.upgrade()
        self.addCleanup(master.close)
        alice = User("alice")
        self.assertRaises(Exception, master.call, "instance.request", alice, title="w",
                          software_release=SR)
        master.call("computer.create", ADMIN, reference="COMP-0")
        master.call("computer.format", ComputerAgent("COMP-0"), reference="COMP-0",
                    configuration=format_configuration("COMP-0", 1))
        master.call("supply.supply", ADMIN, url=SR, computer="COMP-0")

        class Synchronous:
            def call(self, name, principal, **arguments):
                return defer.maybeDeferred(master.call, name, principal, **arguments)

        from twisted.internet.task import LoopingCall

        clock = Clock()
        loop = LoopingCall(allocate_pending, Synchronous(), ADMIN)
        loop.clock = clock
        loop.start(10, now=False)
        self.addCleanup(loop.stop)
        self.assertFalse(master.call("instance.list", alice)[0].allocated)
        clock.advance(10)
        self.assertTrue(master.call("instance.list", alice)[0].allocated)

    def test_interval_comes_from_the_configuration(self):
        path = self.mktemp()
        with open(path, "w") as handle:
            handle.write("[master]\nallocation_interval = 2.5\n")
        self.assertEqual(load(path).allocation_interval, 2.5)
        with open(path, "w") as handle:
            handle.write("[master]\nallocation_interval = soon\n")
        self.assertRaises(ConfigError, load, path)
