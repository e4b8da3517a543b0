"""HTTPS with client certificates of the master's CA, end to end on a real master.

A master is started in this process with ``listen_tls`` on 127.0.0.1; clients are ``requests``
(run in a thread, so the reactor keeps serving), the upstream slap library and the upstream
``slapos`` client (subprocesses from ``.venv-upstream``). Every client checks the master's
certificate against the CA file the master wrote.
"""

import os
import xmlrpc.client

import requests
from twisted.internet import defer, threads
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from gateway.ca import CertificateAuthority
from gateway.cli import write_credentials
from gateway.server import local_admin
from protocols.slap_wire.marshal import loads
from slap_core.principals import ComputerAgent, User
from tests.fixtures import SR, format_configuration, start_test_master
from tests.upstream import run_upstream, upstream_env, upstream_python
from tests.waiting import until

ADMIN = local_admin()

UPSTREAM_NODE = r"""
import json, sys
from slapos import slap
url, key, cert, partition = sys.argv[1:5]
connection = slap.slap()
connection.initializeConnection(url, key_file=key, cert_file=cert)
seen = {}
computer = connection.registerComputer("COMP-A")
seen["partitions"] = sorted(p.getId() for p in computer.getComputerPartitionList())
seen["certificate"] = connection.registerComputerPartition("COMP-A", partition).getCertificate()
try:
    connection.registerComputer("COMP-B").getComputerPartitionList()
except Exception as error:
    seen["other_computer"] = "%s %s" % (type(error).__name__,
                                        getattr(getattr(error, "response", None), "status_code", ""))
seen["generated"] = sorted(computer.generateCertificate())
json.dump(seen, sys.stdout)
"""


class TlsMasterTests(unittest.TestCase):
    """A master serving HTTPS; COMP-A and COMP-B registered, alice a local user."""

    timeout = 120

    def setUp(self):
        self.running = start_test_master(self, listen_tls=["127.0.0.1:0"],
                                         allocation_interval=0)
        self.master = self.running.master
        self.url = self.running.https_urls()[0]
        self.directory = os.path.abspath(self.mktemp())
        self.ca_file = str(self.master.authority.certificate_path)
        self.master.call("person.create", ADMIN, login="alice", password="alice-pw")
        for reference, subnet in (("COMP-A", 0), ("COMP-B", 1)):
            self.master.call("computer.create", ADMIN, reference=reference)
            self.master.call("computer.format", ComputerAgent(reference), reference=reference,
                             configuration=format_configuration(reference, 2, subnet=subnet))
            self.master.call("supply.supply", ADMIN, url=SR, computer=reference)

    def credentials(self, kind, name, **arguments):
        """Issue a certificate and write it; returns (cert_file, key_file)."""
        view = self.master.call("certificate.issue", ADMIN, kind=kind, **arguments)
        written = write_credentials(self.directory, name, view)
        self.serial = view.serial
        return written["cert_file"], written["key_file"]

    def get(self, path, **options):
        """GET over HTTPS in a thread, verifying the master against its CA."""
        options.setdefault("verify", self.ca_file)
        return threads.deferToThread(requests.get, self.url + path, timeout=30, **options)

    def post(self, path, **options):
        """POST over HTTPS in a thread, verifying the master against its CA."""
        options.setdefault("verify", self.ca_file)
        return threads.deferToThread(requests.post, self.url + path, timeout=30, **options)

    @defer.inlineCallbacks
    def test_a_computer_certificate_reads_its_own_computer_and_not_another(self):
        cert = self.credentials("computer", "COMP-A", computer="COMP-A")
        mine = yield self.get("slap/getFullComputerInformation?computer_id=COMP-A", cert=cert)
        self.assertEqual(mine.status_code, 200)
        self.assertEqual(loads(mine.text).attributes["_computer_id"], "COMP-A")
        other = yield self.get("slap/getFullComputerInformation?computer_id=COMP-B", cert=cert)
        self.assertEqual(other.status_code, 403)
        # Nor may it act for a partition of B through the partition header.
        header = {"Authorization": "X-SlapPartition computer_id=COMP-B, "
                                   "computer_partition_id=slappart0"}
        posted = yield self.post("slap/startedComputerPartition", cert=cert, headers=header,
                                 data={"computer_id": "COMP-B",
                                       "computer_partition_id": "slappart0"})
        self.assertEqual(posted.status_code, 403)

    def kept_alive(self, cert):
        """A requests Session with ``cert`` whose connection stays open between requests (closed
        with the test); its get/post run in a thread."""
        session = requests.Session()
        session.cert, session.verify = cert, self.ca_file
        session.trust_env = False
        self.addCleanup(self.settle)
        self.addCleanup(session.close)

        def call(method, path, **options):
            return threads.deferToThread(session.request, method, self.url + path, timeout=30,
                                         **options)

        return call

    def settle(self):
        """Let the master see the connections the test closed before the reactor is checked.

        A refused request's socket is held by its exception's traceback (a reference cycle)
        and closes only when collected: collect first, or whether the master sees it closed
        depends on when the garbage collector last ran (on the tests run before this one).
        """
        import gc

        from twisted.internet import reactor
        from twisted.internet.task import deferLater

        gc.collect()
        return deferLater(reactor, 0.2, lambda: None)

    def revoke_elsewhere(self, serial, running=None):
        """Revoke as ``slapgate admin cert revoke`` does: on the database, through another
        Master. Without ``running`` (a master), the test master's periodic read of the list is
        stopped so that the test decides when the handshake learns of it."""
        from slap_core.master import Master

        if running is None:
            running = self.running
            refresh = running.revocations[1]
            if refresh.running:
                refresh.stop()
        other = Master(running.master.storage.url)
        try:
            other.call("certificate.revoke", ADMIN, serial=serial)
        finally:
            other.close()

    def handshake(self, cert, tls12=False, url=None, ca_file=None):
        """Open a TLS connection with ``cert`` and read from it without sending anything: None
        when the master keeps it open, else the error (the master's alert). Over TLS 1.3 the
        master judges the client certificate after the client's side of the handshake is done,
        so its alert comes with the first read; over TLS 1.2 within the handshake. Sending a
        request first would race the alert with a connection reset. Deferred, in a thread."""
        import socket
        import ssl

        def connect():
            context = ssl.create_default_context(cafile=ca_file or self.ca_file)
            context.load_cert_chain(*cert)
            if tls12:
                context.maximum_version = ssl.TLSVersion.TLSv1_2
            host, port = (url or self.url).split("/")[2].rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=10) as raw:
                try:
                    with context.wrap_socket(raw, server_hostname=host) as tls:
                        tls.settimeout(0.5)
                        try:
                            tls.recv(1)
                        except (socket.timeout, TimeoutError):
                            return None  # the master waits for a request: accepted
                except ssl.SSLError as error:
                    return str(error)
            return "closed"

        return threads.deferToThread(connect)

    @defer.inlineCallbacks
    def assertHandshakeRevoked(self, cert):
        """A new connection with ``cert`` fails with the master's "certificate revoked" alert,
        over TLS 1.3 and 1.2."""
        for tls12 in (False, True):
            error = yield self.handshake(cert, tls12)
            self.assertIsNotNone(error, "the handshake succeeded (tls12=%s)" % tls12)
            self.assertIn("CERTIFICATE_REVOKED", error)

    @defer.inlineCallbacks
    def test_a_revoked_certificate_fails_the_handshake_and_is_refused_on_open_connections(self):
        cert = self.credentials("computer", "COMP-A", computer="COMP-A")
        serial = self.serial
        valid = self.credentials("computer", "COMP-B", computer="COMP-B")
        session = self.kept_alive(cert)
        before = yield session("GET", "slap/getComputerStatus?computer_id=COMP-A")
        self.assertEqual(before.status_code, 200)
        revoked = yield session("POST", "slap/revokeComputerCertificate",
                                data={"computer_id": "COMP-A"})
        self.assertEqual(revoked.status_code, 200)
        # A new connection fails at the handshake: the CRL was renewed before the answer.
        yield self.assertHandshakeRevoked(cert)
        with self.assertRaises(requests.exceptions.SSLError):
            yield self.get("slap/getComputerStatus?computer_id=COMP-A", cert=cert)
        # The connection opened before still stands, but each request is looked up (second line).
        after = yield session("GET", "slap/getComputerStatus?computer_id=COMP-A")
        self.assertEqual(after.status_code, 401)
        self.assertIn("revoked", after.text)
        # Another certificate of the CA still works.
        accepted = yield self.handshake(valid)
        self.assertIsNone(accepted)
        other = yield self.get("slap/getComputerStatus?computer_id=COMP-B", cert=valid)
        self.assertEqual(other.status_code, 200)
        crl = yield self.get("ca/crl.pem")
        from cryptography import x509
        listed = x509.load_pem_x509_crl(crl.content)
        self.assertIsNotNone(listed.get_revoked_certificate_by_serial_number(int(serial, 16)))

    @defer.inlineCallbacks
    def test_a_revocation_by_another_process_reaches_the_handshake_at_the_next_refresh(self):
        cert = self.credentials("computer", "COMP-A", computer="COMP-A")
        before = yield self.get("slap/getComputerStatus?computer_id=COMP-A", cert=cert)
        self.assertEqual(before.status_code, 200)
        self.revoke_elsewhere(self.serial)
        answer = yield self.get("slap/getComputerStatus?computer_id=COMP-A", cert=cert)
        self.assertEqual(answer.status_code, 401)  # the database lookup, until the refresh
        revocations, _ = self.running.revocations
        changed = yield threads.deferToThread(revocations.refresh)
        self.assertTrue(changed)
        yield self.assertHandshakeRevoked(cert)
        unchanged = yield threads.deferToThread(revocations.refresh)
        self.assertFalse(unchanged)

    @defer.inlineCallbacks
    def test_the_master_reads_the_revocation_list_every_crl_refresh_interval(self):
        from twisted.internet import reactor
        from twisted.internet.task import deferLater

        running = start_test_master(self, listen_tls=["127.0.0.1:0"], allocation_interval=0,
                                    crl_refresh_interval=0.2)
        url, ca_file = running.https_urls()[0], str(running.master.authority.certificate_path)
        running.master.call("computer.create", ADMIN, reference="COMP-C")
        view = running.master.call("certificate.issue", ADMIN, kind="computer",
                                   computer="COMP-C")
        written = write_credentials(self.directory, "COMP-C", view)
        cert = (written["cert_file"], written["key_file"])
        accepted = yield self.handshake(cert, url=url, ca_file=ca_file)
        self.assertIsNone(accepted)
        self.revoke_elsewhere(view.serial, running)
        refused = yield until(lambda: self.handshake(cert, tls12=True, url=url, ca_file=ca_file),
                              5, "the revoked certificate was still accepted", step=0.1)
        self.assertIn("CERTIFICATE_REVOKED", refused)

    @defer.inlineCallbacks
    def test_no_certificate_and_no_password_is_401_with_a_challenge(self):
        answer = yield self.get("slap/getFullComputerInformation?computer_id=COMP-A")
        self.assertEqual(answer.status_code, 401)
        self.assertTrue(answer.headers["WWW-Authenticate"].startswith("Basic"))
        # Basic still works over HTTPS.
        body = xmlrpc.client.dumps((), "person.me")
        answer = yield self.post("xmlrpc", data=body, auth=("alice", "alice-pw"),
                                 headers={"Content-Type": "text/xml"})
        self.assertEqual(xmlrpc.client.loads(answer.content)[0][0]["login"], "alice")

    @defer.inlineCallbacks
    def test_a_certificate_of_another_ca_fails_the_handshake(self):
        stranger = CertificateAuthority.open(os.path.abspath(self.mktemp()))
        issued = stranger.issue("computer", "COMP-A")
        cert_file = os.path.join(self.directory, "stranger.crt")
        key_file = os.path.join(self.directory, "stranger.key")
        os.makedirs(self.directory, exist_ok=True)
        with open(cert_file, "w") as handle:
            handle.write(issued.certificate)
        with open(key_file, "w") as handle:
            handle.write(issued.private_key)
        with self.assertRaises(requests.exceptions.SSLError):
            yield self.get("slap/getComputerStatus?computer_id=COMP-A",
                           cert=(cert_file, key_file))

    @defer.inlineCallbacks
    def test_a_user_certificate_is_that_user_on_xmlrpc(self):
        cert = self.credentials("user", "alice", login="alice")
        body = xmlrpc.client.dumps((), "person.me")
        answer = yield self.post("xmlrpc", data=body, cert=cert,
                                 headers={"Content-Type": "text/xml"})
        self.assertEqual(xmlrpc.client.loads(answer.content)[0][0]["login"], "alice")
        # A user certificate is not a node: the poll is refused.
        poll = yield self.get("slap/getFullComputerInformation?computer_id=COMP-A", cert=cert)
        self.assertEqual(poll.status_code, 403)

    @defer.inlineCallbacks
    def test_the_ca_certificate_is_served(self):
        answer = yield self.get("ca/ca.crt")
        self.assertEqual(answer.content, self.master.authority.certificate_pem)

    @defer.inlineCallbacks
    def test_upstream_slap_library_authenticates_as_a_computer(self):
        root = self.master.call("instance.request", User("alice"), title="root",
                                software_release=SR, sla={"computer_guid": "COMP-A"})
        cert, key = self.credentials("computer", "COMP-A", computer="COMP-A")
        seen = yield run_upstream(self, "-c", UPSTREAM_NODE, self.url + "slap/", key, cert,
                                  root.partition)
        self.assertEqual(seen["partitions"], ["slappart0", "slappart1"])
        self.assertEqual(seen["other_computer"], "HTTPError 403")
        self.assertEqual(sorted(seen["certificate"]), ["certificate", "key"])
        self.assertIn("BEGIN CERTIFICATE", seen["certificate"]["certificate"])
        self.assertEqual(seen["generated"], ["certificate", "key"])
        # The partition certificate it fetched stands for that partition.
        partition_cert = os.path.join(self.directory, "part.crt")
        partition_key = os.path.join(self.directory, "part.key")
        with open(partition_cert, "w") as handle:
            handle.write(seen["certificate"]["certificate"])
        with open(partition_key, "w") as handle:
            handle.write(seen["certificate"]["key"])
        answer = yield self.get(
            "slap/registerComputerPartition?computer_reference=COMP-A"
            "&computer_partition_reference=%s" % root.partition,
            cert=(partition_cert, partition_key))
        self.assertEqual(answer.status_code, 200)
        other = yield self.get("slap/getFullComputerInformation?computer_id=COMP-A",
                               cert=(partition_cert, partition_key))
        self.assertEqual(other.status_code, 403)

    @defer.inlineCallbacks
    def test_upstream_slapos_client_requests_with_a_user_certificate(self):
        slapos = os.path.join(os.path.dirname(upstream_python(self)), "slapos")
        cert, key = self.credentials("user", "alice", login="alice")
        config = os.path.join(self.directory, "slapos-client.cfg")
        with open(config, "w") as handle:
            handle.write("[slapos]\nmaster_url = %sslap/\n\n[slapconsole]\ncert_file = %s\n"
                         "key_file = %s\n" % (self.url, cert, key))
        out, err, code = yield getProcessOutputAndValue(
            slapos, ["request", "mysite", SR, "--node", "computer_guid=COMP-B", "--cfg", config],
            env=dict(upstream_env(), HOME=self.directory))
        self.assertEqual(code, 0, (out + err).decode(errors="replace"))
        instances = self.master.call("instance.list", ADMIN)
        self.assertEqual([(i.title, i.computer) for i in instances], [("mysite", "COMP-B")])
        self.assertEqual(self.master.call("tree.list", User("alice"))[0].title, "mysite")

    def zeep_call(self, cert, operation, **arguments):
        """Call a SOAP operation with zeep over HTTPS with ``cert`` (blocking: run in a thread)."""
        import zeep
        from zeep.transports import Transport

        session = requests.Session()
        session.cert, session.verify = cert, self.ca_file
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override session.verify
        session.headers["Connection"] = "close"
        client = zeep.Client(self.url + "soap?wsdl", transport=Transport(session=session))
        return getattr(client.service, operation)(**arguments)

    @defer.inlineCallbacks
    def test_soap_takes_the_client_certificate_and_refuses_it_once_revoked(self):
        import zeep.exceptions

        cert = self.credentials("computer", "COMP-A", computer="COMP-A")
        status = yield threads.deferToThread(self.zeep_call, cert, "computerStatus",
                                             reference="COMP-A")
        self.assertTrue(status.text)
        with self.assertRaises(zeep.exceptions.Fault) as refused:
            yield threads.deferToThread(self.zeep_call, cert, "computerInformation",
                                        reference="COMP-B")
        self.assertIn("forbidden", refused.exception.detail[0][0].text)
        # Revoked by another process, before the handshake knows: the per-request lookup
        # answers with a fault.
        self.revoke_elsewhere(self.serial)
        with self.assertRaises(zeep.exceptions.Fault) as revoked:
            yield threads.deferToThread(self.zeep_call, cert, "computerStatus",
                                        reference="COMP-A")
        self.assertIn("revoked", revoked.exception.message)
        # Once the list is read again, a new connection fails at the handshake.
        yield threads.deferToThread(self.running.revocations[0].refresh)
        yield self.assertHandshakeRevoked(cert)

    @defer.inlineCallbacks
    def test_json_api_certificate_entry_points(self):
        root = self.master.call("instance.request", User("alice"), title="root",
                                software_release=SR, sla={"computer_guid": "COMP-A"})
        cert = self.credentials("computer", "COMP-A", computer="COMP-A")

        session = self.kept_alive(cert)

        def post(entry, body):
            return session("POST", "slap/" + entry, json=body)

        mine = yield post("slapos.get.v0.software_instance_certificate",
                          {"instance_guid": root.reference})
        self.assertEqual(mine.status_code, 200, mine.text)
        again = self.master.call("certificate.issue", ComputerAgent("COMP-A"), kind="partition",
                                 computer="COMP-A", partition=root.partition)
        self.assertEqual(mine.json()["certificate"], again.certificate)
        other = yield post("slapos.post.v0.compute_node_certificate", {"computer_guid": "COMP-B"})
        self.assertEqual(other.status_code, 403)
        fresh = yield post("slapos.post.v0.compute_node_certificate", {"computer_guid": "COMP-A"})
        self.assertIn("BEGIN CERTIFICATE", fresh.json()["certificate"])
        removed = yield post("slapos.remove.v0.compute_node_certificate",
                             {"computer_guid": "COMP-A"})
        self.assertEqual(removed.json()["type"], "success")
        refused = yield post("slapos.get.v0.compute_node_status", {"computer_guid": "COMP-A"})
        self.assertEqual((refused.status_code, refused.json()["status"]), (401, 401))
        yield self.assertHandshakeRevoked(cert)
