"""The slapgate node agent against a master on HTTPS, with certificates of the master's CA.

The node presents its computer certificate and checks the master's against ``master_ca_file``;
it fetches each partition's key and certificate into ``certificate_repository_path``, and the
test release's recipe (tests/node_sr) calls the master *as its partition* with them over HTTPS
(it requests a child and publishes its connection parameters). Real parts throughout: the master
in this process on 127.0.0.1, buildout, supervisord.
"""

import hashlib
import os
import shutil
import stat
import tempfile

import pytest
import requests
from twisted.internet import defer, threads
from twisted.logger import globalLogPublisher
from twisted.trial import unittest

from gateway.cli import write_credentials
from gateway.server import local_admin
from node_twisted import instance as node_instance
from protocols.slap_wire.marshal import dumps
from tests.fixtures import start_test_master
from tests.node_agent_fixtures import COMPUTER, PARTITIONS, AgentNode

ADMIN = local_admin()
OTHER = "COMP-OTHER"


class LogEvents:
    """Every log event emitted while it is installed (removed with the test)."""

    def __init__(self, testcase):
        self.events = []
        globalLogPublisher.addObserver(self.events.append)
        testcase.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def failures(self):
        """The events that carry a traceback."""
        return [event for event in self.events if "log_failure" in event]


@pytest.mark.node
class NodeAgentOverHttpsTests(unittest.TestCase):
    """A node with a computer certificate, partition certificates and the master's CA."""

    timeout = 600

    def setUp(self):
        self.running = start_test_master(self, listen_tls=["127.0.0.1:0"], allocation_interval=0)
        self.master = self.running.master
        self.url = self.running.https_urls()[0] + "slap/"
        self.ca_file = str(self.master.authority.certificate_path)
        self.pki = os.path.abspath(self.mktemp())
        for reference in (COMPUTER, OTHER):
            self.master.call("computer.create", ADMIN, reference=reference)

    def call(self, name, **arguments):
        return self.master.call(name, ADMIN, **arguments)

    def credentials(self, computer):
        """Issue a certificate of ``computer`` into ``computer.key``/``.crt``; its serial."""
        view = self.call("certificate.issue", kind="computer", computer=computer)
        write_credentials(self.pki, "computer", view)
        return view.serial

    def node(self, **options):
        """An agent node configured for HTTPS with the files of :meth:`credentials`
        (``options`` go to AgentNode)."""
        extra = "\n".join([
            "key_file = %s" % os.path.join(self.pki, "computer.key"),
            "cert_file = %s" % os.path.join(self.pki, "computer.crt"),
            "master_ca_file = %s" % self.ca_file,
            "certificate_repository_path = %s" % os.path.join(self.pki, "partition_pki"),
        ])
        return AgentNode(self, self.url, extra_slapos=extra, **options)

    def https(self, method, path, cert, **options):
        """A request to the master in a thread (verifying it against its CA)."""
        return threads.deferToThread(requests.request, method, self.url + path, cert=cert,
                                     verify=self.ca_file, timeout=30, **options)

    @defer.inlineCallbacks
    def test_full_cycle_with_computer_and_partition_certificates(self):
        self.credentials(COMPUTER)
        node = self.node()
        yield node.cycle(expect=0)
        self.assertEqual([p.reference for p in self.call("computer.information",
                                                         reference=COMPUTER).partitions],
                         ["slappart%d" % i for i in range(PARTITIONS)])
        self.call("supply.supply", url=node.sr, computer=COMPUTER)
        self.call("instance.request", title="myinst", software_release=node.sr,
                  parameters={"name": "alice"}, sla={"computer_guid": COMPUTER})
        for _ in range(4):
            result = yield node.cycle()
            found = {view.title: view for view in self.call("instance.list")}
            if "child0" in found and found["myinst"].connection.get("child-greeting") == \
                    "hello child" and (found["child0"].status_text or "").startswith("#access"):
                break
        self.assertEqual(result.exit_code, 0, result)
        self.assertEqual(self.call("supply.list", computer=COMPUTER)[0].reported_state,
                         "available")
        # The recipe published through the slap library with its partition's certificate.
        self.assertEqual(found["myinst"].connection, {
            "greeting": "hello alice", "partition": "slappart0", "child-greeting": "hello child"})
        self.assertEqual(found["child0"].connection, {"greeting": "hello child",
                                                      "partition": "slappart1"})
        processes = yield node.agent.supervisor.processes()
        self.assertEqual(processes, {"slappart0:sleeper": "RUNNING",
                                     "slappart1:sleeper": "RUNNING"})

        # The repository holds each deployed partition's pair, named and moded as slapgrid's.
        repository = os.path.join(self.pki, "partition_pki")
        self.assertEqual(sorted(os.listdir(repository)), ["slappart0.crt", "slappart0.key",
                                                          "slappart1.crt", "slappart1.key"])
        modes = {name: stat.S_IMODE(os.stat(os.path.join(repository, name)).st_mode)
                 for name in os.listdir(repository)}
        self.assertEqual(modes, {"slappart0.crt": 0o644, "slappart0.key": 0o600,
                                 "slappart1.crt": 0o644, "slappart1.key": 0o600})
        issued = self.call("certificate.list", include_revoked=True)
        by_partition = {c.partition: c for c in issued if c.kind == "partition"}
        self.assertEqual(sorted(by_partition), ["slappart0", "slappart1"])
        with open(os.path.join(repository, "slappart0.crt")) as handle:
            self.assertEqual(handle.read(), by_partition["slappart0"].certificate)
        with open(os.path.join(node.partition(0), "buildout.cfg")) as handle:
            profile = handle.read()
        self.assertIn("server-url = %s\nsoftware-release-url = %s\nkey-file = %s\ncert-file = %s\n"
                      % (self.url, node.sr, os.path.join(repository, "slappart0.key"),
                         os.path.join(repository, "slappart0.crt")), profile)

        # The partition's certificate acts for that partition only.
        part0 = (os.path.join(repository, "slappart0.crt"),
                 os.path.join(repository, "slappart0.key"))
        own = yield self.https("POST", "setComputerPartitionConnectionXml", part0, data={
            "computer_id": COMPUTER, "computer_partition_id": "slappart0",
            "connection_xml": dumps({"greeting": "hello again"})})
        self.assertEqual(own.status_code, 200, own.text)
        other = yield self.https("POST", "setComputerPartitionConnectionXml", part0, data={
            "computer_id": COMPUTER, "computer_partition_id": "slappart1",
            "connection_xml": dumps({"greeting": "hijacked"})})
        self.assertEqual(other.status_code, 403, other.text)
        computer = yield self.https("GET", "getFullComputerInformation?computer_id=%s" % COMPUTER,
                                    part0)
        self.assertEqual(computer.status_code, 403)
        found = {view.title: view for view in self.call("instance.list")}
        self.assertEqual(found["myinst"].connection["greeting"], "hello again")
        self.assertEqual(found["child0"].connection["greeting"], "hello child")

        # Destroyed: the partitions are wiped and their pairs leave the repository.
        self.call("instance.destroy", reference=found["myinst"].reference)
        for _ in range(3):
            yield node.cycle()
            if all(p.instance is None for p in self.call("computer.information",
                                                         reference=COMPUTER).partitions):
                break
        self.assertEqual(os.listdir(repository), [])

    @defer.inlineCallbacks
    def test_another_computers_certificate_is_refused_clearly_then_fixed(self):
        self.credentials(OTHER)
        node = self.node()
        logged = LogEvents(self)
        result = yield node.cycle()
        self.assertEqual(result.exit_code, 1, result)
        self.assertFalse(result.offline)
        self.assertTrue(result.problems)
        for problem in result.problems:
            self.assertIn("HTTP 403", problem)
        self.assertIn(OTHER, result.problems[-1])
        self.assertEqual(logged.failures(), [])
        self.assertFalse(self.call("computer.information", reference=COMPUTER).partitions)
        # The right certificate in the same files: the running agent converges.
        self.credentials(COMPUTER)
        result = yield node.cycle(expect=0)
        self.assertEqual(result.formatted, "posted")
        self.assertEqual(len(self.call("computer.information", reference=COMPUTER).partitions),
                         PARTITIONS)

    @defer.inlineCallbacks
    def test_a_revoked_certificate_is_refused_on_the_next_call(self):
        serial = self.credentials(COMPUTER)
        node = self.node()
        yield node.cycle(expect=0)
        self.call("certificate.revoke", serial=serial)
        logged = LogEvents(self)
        result = yield node.cycle()
        self.assertEqual(result.exit_code, 1, result)
        self.assertIn("revoked", result.problems[-1])
        self.assertEqual(logged.failures(), [])
        self.credentials(COMPUTER)
        yield node.cycle(expect=0)

    @defer.inlineCallbacks
    def test_a_master_of_another_ca_is_not_trusted(self):
        self.credentials(COMPUTER)
        other_ca = os.path.join(self.pki, "other-ca.crt")
        from gateway.ca import CertificateAuthority

        with open(other_ca, "wb") as handle:
            handle.write(CertificateAuthority.open(os.path.abspath(self.mktemp()))
                         .certificate_pem)
        self.ca_file = other_ca
        node = self.node()
        result = yield node.cycle()
        self.assertEqual(result.exit_code, 1, result)
        self.assertIn("TLS handshake with the master failed", result.problems[-1])
        self.assertIn("certificate verify failed", result.problems[-1])
        self.assertFalse(self.call("computer.information", reference=COMPUTER).partitions)

    @defer.inlineCallbacks
    def test_root_mode_partition_certificates_belong_to_the_partition_user(self):
        import pwd

        from tests.node_harness import NODE, remove_system_users, require_node, share_sources

        if os.getuid() != 0:
            raise unittest.SkipTest("root mode needs root")
        require_node(self)  # its interpreter is outside /root, reachable by the users made here
        users = ("sgtlspart", "sgtlspart2", "sgtlssoft")

        remove_system_users(users)
        self.addCleanup(remove_system_users, users)
        # The repository must be reachable by the partition users: not under the trial tree.
        self.pki = tempfile.mkdtemp(prefix="sg-pki-")
        os.chmod(self.pki, 0o755)
        self.addCleanup(shutil.rmtree, self.pki, ignore_errors=True)
        self.credentials(COMPUTER)
        node = self.node(buildout=os.path.join(NODE, "bin", "buildout"),
                         extra_format="alter_user = true\nsoftware_user = sgtlssoft",
                         users=["sgtlspart", "sgtlspart", "sgtlspart2"])
        os.chmod(node.base, 0o755)
        yield node.cycle(expect=0)
        soft, part = pwd.getpwnam("sgtlssoft"), pwd.getpwnam("sgtlspart")

        share_sources(node.sr_dir, 0, soft.pw_gid)
        self.call("supply.supply", url=node.sr, computer=COMPUTER)
        result = yield node.cycle(expect=0)
        self.assertEqual(result.software, {node.sr: "available"})
        self.assertTrue(os.path.exists(os.path.join(
            node.software_root, hashlib.md5(node.sr.encode()).hexdigest(), ".completed")))
        share_sources(node.sr_dir, part.pw_uid, soft.pw_gid)
        self.call("instance.request", title="myinst", software_release=node.sr,
                  parameters={"name": "alice"}, sla={"computer_guid": COMPUTER})
        for _ in range(4):
            yield node.cycle()
            found = {view.title: view for view in self.call("instance.list")}
            if "child0" in found and found["myinst"].connection.get("child-greeting") == \
                    "hello child":
                break
        # The recipe, run as sgtlspart, read its partition's key and called the master with it.
        self.assertEqual(found["myinst"].connection, {
            "greeting": "hello alice", "partition": "slappart0", "child-greeting": "hello child"})
        repository = os.path.join(self.pki, "partition_pki")
        owners = {name: (pwd.getpwuid(info.st_uid).pw_name, stat.S_IMODE(info.st_mode))
                  for name, info in ((n, os.stat(os.path.join(repository, n)))
                                     for n in os.listdir(repository))}
        self.assertEqual(owners, {"slappart0.key": ("sgtlspart", 0o600),
                                  "slappart0.crt": ("sgtlspart", 0o644),
                                  "slappart1.key": ("sgtlspart", 0o600),
                                  "slappart1.crt": ("sgtlspart", 0o644)})


class ProfileTailCertificateTests(unittest.TestCase):
    """Where the tail's key-file/cert-file point."""

    def test_tail_points_at_the_repository_files_named_as_slapgrid(self):
        self.assertEqual(node_instance.certificate_files(
            type("C", (), {"certificate_repository_path": "/srv/pki"})(), "slappart2"),
            ("/srv/pki/slappart2.key", "/srv/pki/slappart2.crt"))


class HttpsConfigurationTests(unittest.TestCase):
    """The HTTPS keys of ``[slapos]`` and their errors."""

    BASE = ("[slapos]\ncomputer_id = C\nsoftware_root = /s\ninstance_root = /i\n"
            "master_url = %s\n")

    def test_master_ca_file_is_read_for_an_https_master_only(self):
        from node_twisted import config as node_config

        settings = node_config.parse(self.BASE % "https://m:8443/slap/" + (
            "key_file = /k.key\ncert_file = /c.crt\nmaster_ca_file = /ca.crt\n"
            "certificate_repository_path = /pki\n"))
        self.assertEqual((settings.key_file, settings.cert_file, settings.master_ca_file,
                          settings.certificate_repository_path),
                         ("/k.key", "/c.crt", "/ca.crt", "/pki"))
        with self.assertRaises(node_config.ConfigError) as error:
            node_config.parse(self.BASE % "http://m:8080/slap/" + "master_ca_file = /ca.crt\n")
        self.assertIn("master_ca_file", str(error.exception))

    def test_unreadable_credentials_are_a_configuration_error(self):
        import argparse
        import contextlib
        import io

        from node_twisted import cli as node_cli

        path = os.path.abspath(self.mktemp())
        with open(path, "w") as handle:
            handle.write(self.BASE % "https://127.0.0.1:1/slap/" + (
                "key_file = /nonexistent/computer.key\ncert_file = /nonexistent/computer.crt\n"))
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors):
            code = node_cli.run(argparse.Namespace(cfg=path, once=True, action="run"))
        self.assertEqual(code, 2)
        self.assertIn("configuration error: cannot read the certificate "
                      "/nonexistent/computer.crt", errors.getvalue())
