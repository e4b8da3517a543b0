"""``slapgate node``: its slapos.cfg reading, its command line (one cycle, bad configuration) and
``slapgate master --node`` (the local node ``make run`` attaches)."""

import os
import sys

from twisted.internet import defer, reactor, threads
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from gateway.server import local_admin
from node_twisted import cli as node_cli
from node_twisted import config as node_config
from node_twisted import local
from tests.fixtures import start_test_master
from tests.node_agent_fixtures import COMPUTER, AgentNode
from tests.node_harness import CollectOutput, stop_tree
from tests.waiting import until

MINIMAL = """\
[slapos]
computer_id = COMP-9
master_url = http://127.0.0.1:1/
software_root = /srv/soft
instance_root = /srv/inst
"""


class ConfigTests(unittest.TestCase):
    """Upstream's keys are read; bad values give a clear ConfigError."""

    def test_upstream_keys_are_read_and_unknown_ones_ignored(self):
        config = node_config.parse(MINIMAL + """\
promise_timeout = 7
partition_timeout =
maximum_periodicity = 3600
pidfile_software = /ignored
[slapformat]
partition_amount = 4
alter_user = False
ipv4_local_network = 10.0.0.0/16
[networkcache]
download-cache-url = http://example.invalid/
""")
        self.assertEqual((config.computer_id, config.promise_timeout, config.partition_timeout,
                          config.maximum_periodicity), ("COMP-9", 7, None, 3600))
        self.assertEqual((config.format.partition_amount, config.format.alter_user,
                          config.format.ipv4_local_network), (4, False, "10.0.0.0/16"))
        self.assertEqual(config.supervisord_socket, "/srv/inst/sv.sock")

    def test_bad_configurations_are_refused_with_a_message(self):
        cases = {
            "[slapos]\ncomputer_id = C\n": "master_url is required",
            MINIMAL + "promise_timeout = soon\n": "promise_timeout must be an integer",
            MINIMAL + "key_file = /k\n": "key_file and cert_file go together",
            MINIMAL + "[slapformat]\nalter_user = yes\n": "alter_user must be true or false",
            MINIMAL + "[slapformat]\nipv4_local_network = 10.0.0/99\n": "ipv4_local_network",
            MINIMAL + "software_build_concurrency = 0\n": "at least 1",
            "not an ini file": "no section headers",
        }
        for text, message in cases.items():
            with self.assertRaises(node_config.ConfigError) as caught:
                node_config.parse(text)
            self.assertIn(message, str(caught.exception))
        with self.assertRaises(node_config.ConfigError) as caught:
            node_config.load("/nonexistent/slapos.cfg")
        self.assertIn("cannot read", str(caught.exception))


class CommandLineTests(unittest.TestCase):
    """``slapgate node --cfg FILE --once`` as a subprocess."""

    timeout = 120

    def slapgate(self, *arguments):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        return getProcessOutputAndValue(sys.executable, ["-m", "gateway.cli", *arguments],
                                        env=env, path=os.getcwd(), reactor=reactor)

    @defer.inlineCallbacks
    def test_once_formats_the_computer_and_exits_zero(self):
        running = start_test_master(self, insecure_loopback=True)
        node = AgentNode(self, running.urls()[0] + "slap/")
        out, err, code = yield self.slapgate("node", "--cfg", node.config_path, "--once")
        self.assertEqual(code, 0, (out + err).decode())
        information = running.master.call("computer.information",
                                          local_admin(),
                                          reference=COMPUTER)
        self.assertEqual(len(information.partitions), 3)
        self.assertIn(b"node cycle: exit 0", out)
        yield node.stop_everything()

    @defer.inlineCallbacks
    def test_once_without_a_master_exits_three_offline(self):
        node = AgentNode(self, "http://127.0.0.1:9/")  # discard port: connection refused
        out, err, code = yield self.slapgate("node", "--cfg", node.config_path, "--once")
        self.assertEqual(code, 3, (out + err).decode())
        self.assertIn(b"master unreachable", out)

    @defer.inlineCallbacks
    def test_a_master_refusing_the_node_exits_one_without_a_traceback(self):
        running = start_test_master(self)  # no insecure_loopback: SLAP callers are refused
        node = AgentNode(self, running.urls()[0] + "slap/")
        out, err, code = yield self.slapgate("node", "--cfg", node.config_path, "--once")
        self.assertEqual(code, 1, (out + err).decode())
        self.assertIn(b"the master refused: HTTP 401", out)
        self.assertNotIn(b"Traceback", out + err)

    @defer.inlineCallbacks
    def test_bad_configuration_exits_two_with_a_message(self):
        path = self.mktemp()
        with open(path, "w") as handle:
            handle.write("[slapos]\ncomputer_id = C\n")
        out, err, code = yield self.slapgate("node", "--cfg", path, "--once")
        self.assertEqual(code, 2)
        self.assertIn(b"configuration error", err)
        self.assertIn(b"master_url is required", err)
        self.assertNotIn(b"Traceback", err)

    @defer.inlineCallbacks
    def test_a_node_missing_what_it_needs_refuses_to_start_and_says_what(self):
        running = start_test_master(self, insecure_loopback=True)
        node = AgentNode(self, running.urls()[0] + "slap/")
        blocker = os.path.join(node.base, "a-file")
        with open(blocker, "w") as handle:
            handle.write("not a directory\n")
        with open(node.config_path) as handle:
            text = handle.read()
        with open(node.config_path, "w") as handle:
            handle.write(text.replace("[slapos]\n", "[slapos]\nsupervisord = %s\n"
                                      "certificate_repository_path = %s\n"
                                      % (os.path.join(node.base, "no-supervisord"),
                                         os.path.join(blocker, "certs")))
                         .replace("buildout = ", "buildout = slapgate-no-such-buildout\n#"))
        out, err, code = yield self.slapgate("node", "--cfg", node.config_path, "--once")
        self.assertEqual(code, 2, (out + err).decode())
        lines = err.decode().splitlines()
        self.assertEqual(lines[0], "slapgate node: cannot start:")
        self.assertIn("[slapos] buildout: 'slapgate-no-such-buildout' is neither beside this "
                      "Python", lines[1])
        self.assertEqual(lines[2], "  [slapos] supervisord = %s: no such file"
                         % os.path.join(node.base, "no-supervisord"))
        self.assertEqual(lines[3], "  [slapos] certificate_repository_path = %s: cannot be "
                         "created, %s is not a directory" % (os.path.join(blocker, "certs"),
                                                             blocker))
        self.assertEqual(len(lines), 4)
        self.assertNotIn(b"Traceback", out + err)
        # nothing was done: the master has not heard of the computer, no partition was laid out
        self.assertFalse(os.path.exists(node.instance_root))
        self.assertEqual(running.master.call("computer.list", local_admin()), [])

    @defer.inlineCallbacks
    def test_a_directory_its_user_cannot_write_is_named_with_its_owner(self):
        import shutil
        import tempfile

        base = tempfile.mkdtemp(prefix="sg-preflight-")  # reachable by nobody, unlike mktemp()
        self.addCleanup(shutil.rmtree, base, ignore_errors=True)
        os.chmod(base, 0o755)  # the test's user's: not writable by nobody
        config = MINIMAL.replace("/srv/soft", base + "/soft").replace("/srv/inst", base)
        # As root (CI) the check runs as nobody, its modules imported before dropping to it.
        script = ("import os, sys\nfrom node_twisted import config, preflight\n"
                  "if os.getuid() == 0:\n    os.setgid(65534)\n    os.setuid(65534)\n"
                  "print('\\n'.join(preflight.problems(config.parse(sys.argv[1]))))\n")
        out, err, code = yield getProcessOutputAndValue(
            sys.executable, ["-c", script, config], path=os.getcwd(), reactor=reactor,
            env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")})
        self.assertEqual(code, 0, err.decode())
        uid = 65534 if os.getuid() == 0 else os.getuid()
        found = [line for line in out.decode().splitlines() if "_root" in line]
        self.assertEqual(found, [
            "[slapos] software_root = %s/soft: cannot be created: %s is not writable by uid %d "
            "(owner uid %d, mode 0755)" % (base, base, uid, os.getuid()),
            "[slapos] instance_root = %s: is not writable by uid %d (owner uid %d, mode 0755)"
            % (base, uid, os.getuid())])


class LocalNodeTests(unittest.TestCase):
    """``slapgate master --node`` (what ``make run`` starts): a master with its node attached."""

    timeout = 180

    @defer.inlineCallbacks
    def test_master_with_a_local_node_formats_it_and_stops_on_sigterm(self):
        import shutil
        import tempfile

        from protocols.slap_wire import marshal as slap_marshal
        from tests.fixtures import http_client
        from tests.upstream import _free_port, upstream_python

        upstream_python(self)
        base = tempfile.mkdtemp(prefix="sg-local-")
        self.addCleanup(shutil.rmtree, base, ignore_errors=True)
        port = _free_port()
        url = "http://127.0.0.1:%d/slap/" % port
        # A configuration left by a run on another port: it follows this master, edits kept.
        stale = "http://127.0.0.1:9/slap/"
        cfg, was = local.write_or_follow(os.path.join(base, "node"), stale,
                                         "/nonexistent/buildout")
        self.assertIsNone(was)
        with open(cfg, "a") as handle:
            handle.write("# kept\n")
        self.assertEqual(local.write_or_follow(os.path.join(base, "node"), url, "/x"),
                         (cfg, stale))
        self.assertEqual(local.write_or_follow(os.path.join(base, "node"), url, "/x"),
                         (cfg, None))
        with open(cfg) as handle:
            text = handle.read()
        self.assertIn("\nmaster_url = %s\n" % url, text)
        self.assertNotIn(stale, text)
        self.assertTrue(text.endswith("# kept\n"))
        self.assertIn("buildout = /nonexistent/buildout\n", text)
        # The demo: a filled copy of tests/memcached, and the upstream CLI's configuration.
        demo = local.demo_release(os.path.join(base, "node"))
        self.assertEqual(demo, os.path.join(base, "node", "demo", "memcached", "software.cfg"))
        with open(demo) as handle:
            profile = handle.read()
        self.assertNotIn("@RELEASE_DIR@", profile)
        self.assertIn(os.path.dirname(demo), profile)
        self.assertEqual(local.demo_release(os.path.join(base, "node")), demo)
        client_cfg = local.client_configuration(os.path.join(base, "node"), url)
        with open(client_cfg) as handle:
            self.assertEqual(handle.read(), "[slapos]\nmaster_url = %s\n" % url)
        ended = defer.Deferred()
        process = reactor.spawnProcess(
            CollectOutput(ended), sys.executable,
            [sys.executable, "-m", "gateway.cli", "master", "--listen", "127.0.0.1:%d" % port,
             "--db", os.path.join(base, "m.sqlite"), "--state-dir", os.path.join(base, "state"),
             "--insecure-loopback", "--node", cfg, "--demo-release", demo],
            env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
            path=os.getcwd())
        self.addCleanup(stop_tree, base, os.path.join(base, "node", "inst"))
        self.addCleanup(lambda: ended.called or process.signalProcess("KILL"))
        client = http_client(self)

        @defer.inlineCallbacks
        def formatted():
            try:
                response = yield client.get(url + "getFullComputerInformation?computer_id="
                                            + local.COMPUTER)
                body = yield response.content()
            except Exception:
                return False
            if response.code != 200:
                return False
            computer = slap_marshal.loads(body)
            return len(computer.attributes["_computer_partition_list"]) == local.PARTITIONS

        yield until(formatted, 60, "the local node was not formatted", step=0.2)
        # the demo product is in the catalogue, as the upstream CLI finds a product's release
        response = yield client.get(url + "getSoftwareReleaseListFromSoftwareProduct?"
                                    "software_product_reference=" + local.DEMO_PRODUCT)
        body = yield response.content()
        self.assertEqual(slap_marshal.loads(body), [demo])
        process.signalProcess("TERM")
        output, code = yield ended
        self.assertEqual(code, 0, output)
        self.assertIn("node agent attached", output)
        self.assertNotIn("WARNING", output)
        # supervisord outlives the master on purpose; `make stop`'s helper stops it
        from tests.node_harness import supervisord_pid

        pid = supervisord_pid(os.path.join(base, "node", "inst"))
        self.assertIsNotNone(pid)
        self.assertTrue(local.running(pid))
        stopped = yield threads.deferToThread(local.stop, os.path.join(base, "node"))
        self.assertEqual(stopped, pid)
        self.assertFalse(local.running(pid))
        self.assertIsNone((yield threads.deferToThread(local.stop, os.path.join(base, "node"))))
        self.assertIn("slapgate master: try it: slapos supply product.memcached-demo COMP-0 "
                      "--cfg %s && slapos request mycache product.memcached-demo --cfg %s\n"
                      % (os.path.relpath(client_cfg), os.path.relpath(client_cfg)), output)

    def test_a_node_polling_another_master_is_said_once_at_start(self):
        served = ["http://127.0.0.1:8098/", "https://127.0.0.1:8443/"]
        self.assertIsNone(node_cli.foreign_master("http://localhost:8098/slap", served))
        self.assertIsNone(node_cli.foreign_master("https://127.0.0.1:8443/slap/", served))
        said = node_cli.foreign_master("http://127.0.0.1:8099/slap/", served)
        self.assertEqual(said, "the node polls master_url = http://127.0.0.1:8099/slap/, not "
                               "this master, whose SLAP is at http://127.0.0.1:8098/slap/, "
                               "https://127.0.0.1:8443/slap/: its cycles go to another master "
                               "(or none); set master_url to one of these")
