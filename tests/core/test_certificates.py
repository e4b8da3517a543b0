"""The master's CA and the certificate operations: issuing, revoking, who a certificate is.

The CA is a real one (``gateway.ca`` with the ``cryptography`` package): certificates are checked
for their chain to the CA and their subject, the CRL is parsed back.
"""

import os
import stat

from cryptography import x509
from cryptography.x509.oid import NameOID
from twisted.trial import unittest

from gateway.ca import CertificateAuthority, CertificateAuthorityError, identity_of
from slap_core import errors
from slap_core.master import Master
from slap_core.principals import ComputerAgent, PartitionAgent, User
from tests.fixtures import MasterMixin


def subject(pem):
    """{attribute short name: value} of a PEM certificate's subject."""
    certificate = x509.load_pem_x509_certificate(pem.encode())
    return {attribute.oid._name: attribute.value for attribute in certificate.subject}


class AuthorityTests(unittest.TestCase):
    """CertificateAuthority on disk."""

    def setUp(self):
        self.directory = os.path.join(os.path.abspath(self.mktemp()), "ca")

    def test_first_open_creates_a_private_key_and_reopening_reads_the_same_ca(self):
        authority = CertificateAuthority.open(self.directory)
        mode = stat.S_IMODE(os.stat(os.path.join(self.directory, "ca.key")).st_mode)
        self.assertEqual(mode, 0o600)
        again = CertificateAuthority.open(self.directory)
        self.assertEqual(again.certificate_pem, authority.certificate_pem)
        constraints = authority.certificate.extensions.get_extension_for_class(
            x509.BasicConstraints).value
        self.assertTrue(constraints.ca)

    def test_issued_certificates_chain_to_the_ca_and_name_their_principal(self):
        authority = CertificateAuthority.open(self.directory)
        issued = authority.issue("partition", "slappart3", computer="COMP-9")
        certificate = x509.load_pem_x509_certificate(issued.certificate.encode())
        certificate.verify_directly_issued_by(authority.certificate)
        self.assertEqual(subject(issued.certificate),
                         {"organizationName": "slapgate", "organizationalUnitName": "partition",
                          "userID": "COMP-9", "commonName": "slappart3"})
        self.assertEqual(identity_of(certificate), (issued.serial, "slappart3"))
        self.assertIn("PRIVATE KEY", issued.private_key)

    def test_a_key_that_does_not_match_the_certificate_is_refused(self):
        CertificateAuthority.open(self.directory)
        other = os.path.join(os.path.abspath(self.mktemp()), "ca")
        CertificateAuthority.open(other)
        os.replace(os.path.join(other, "ca.key"), os.path.join(self.directory, "ca.key"))
        self.assertRaises(CertificateAuthorityError, CertificateAuthority.open, self.directory)
        self.assertRaises(CertificateAuthorityError, CertificateAuthority.open,
                          os.path.join(other, "missing"), create=False)

    def test_server_certificate_names_the_hosts_and_is_reused(self):
        authority = CertificateAuthority.open(self.directory)
        key, certificate = authority.server_certificate(["127.0.0.1", "master.example"])
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.assertIn("master.example", names.get_values_for_type(x509.DNSName))
        _, again = authority.server_certificate(["127.0.0.1"])
        self.assertEqual(again.serial_number, certificate.serial_number)
        _, other = authority.server_certificate(["10.0.0.1"])
        self.assertNotEqual(other.serial_number, certificate.serial_number)


class CertificateOperationTests(MasterMixin, unittest.TestCase):
    """certificate.* operations on a master with a CA."""

    def setUp(self):
        super().setUp()
        self.authority = CertificateAuthority.open(os.path.abspath(self.mktemp()))
        self.master.close()
        self.master = Master(self.master.storage.url, authority=self.authority)
        self.addCleanup(self.master.close)
        self.call("person.create", self.admin, login="alice", password="pw")
        self.make_computer("COMP-A", owner=self.alice)
        self.make_computer("COMP-B", subnet=1)

    def authenticate(self, view):
        return self.call("certificate.authenticate", User("gateway"), serial=view.serial,
                         common_name=view.common_name)

    def test_a_name_longer_than_x509_allows_is_invalid_not_a_fault(self):
        long_name = "C" * 65
        self.call("computer.create", self.admin, reference=long_name)
        error = self.assertRaises(errors.Invalid, self.call, "certificate.issue", self.admin,
                                  kind="computer", computer=long_name)
        self.assertIn("at most 64 characters", str(error))
        self.call("person.create", self.admin, login="L" * 65)
        self.assertRaises(errors.Invalid, self.call, "certificate.issue", self.admin,
                          kind="user", login="L" * 65)
        self.assertEqual(self.call("certificate.list", self.admin, computer=long_name), [])

    def test_a_computer_certificate_stands_for_its_computer_until_revoked(self):
        view = self.call("certificate.issue", ComputerAgent("COMP-A"), kind="computer",
                         computer="COMP-A")
        self.assertEqual(subject(view.certificate)["commonName"], "COMP-A")
        self.assertEqual((self.authenticate(view).kind, self.authenticate(view).computer),
                         ("computer", "COMP-A"))
        revoked = self.call("certificate.revoke", ComputerAgent("COMP-A"), computer="COMP-A")
        self.assertEqual([r.serial for r in revoked], [view.serial])
        self.assertRaises(errors.Unauthenticated, self.authenticate, view)
        self.assertEqual([r.serial for r in self.call("certificate.revoked_list", self.bob)],
                         [view.serial])

    def test_a_computer_cannot_get_or_revoke_another_computers_certificate(self):
        self.assertRaises(errors.Forbidden, self.call, "certificate.issue",
                          ComputerAgent("COMP-A"), kind="computer", computer="COMP-B")
        view = self.call("certificate.issue", self.admin, kind="computer", computer="COMP-B")
        self.assertRaises(errors.NotFound, self.call, "certificate.revoke",
                          ComputerAgent("COMP-A"), serial=view.serial)
        self.assertRaises(errors.Forbidden, self.call, "certificate.revoke",
                          ComputerAgent("COMP-A"), computer="COMP-B")
        self.assertEqual(self.authenticate(view).computer, "COMP-B")

    def test_an_unknown_serial_or_a_wrong_name_is_unauthenticated(self):
        view = self.call("certificate.issue", self.admin, kind="computer", computer="COMP-A")
        self.assertRaises(errors.Unauthenticated, self.call, "certificate.authenticate",
                          self.bob, serial="abc", common_name="COMP-A")
        self.assertRaises(errors.Unauthenticated, self.call, "certificate.authenticate",
                          self.bob, serial=view.serial, common_name="COMP-B")

    def test_a_partition_certificate_is_handed_out_again_while_its_instance_stays(self):
        root = self.request(self.alice, "root", sla={"computer_guid": "COMP-A"})
        agent = PartitionAgent("COMP-A", root.partition)
        first = self.call("certificate.issue", ComputerAgent("COMP-A"), kind="partition",
                          computer="COMP-A", partition=root.partition)
        again = self.call("certificate.issue", agent, kind="partition", computer="COMP-A",
                          partition=root.partition)
        self.assertEqual((again.serial, again.private_key), (first.serial, first.private_key))
        self.assertEqual(subject(first.certificate)["userID"], "COMP-A")
        identity = self.authenticate(first)
        self.assertEqual((identity.kind, identity.computer, identity.partition),
                         ("partition", "COMP-A", root.partition))
        self.assertRaises(errors.Forbidden, self.call, "certificate.issue",
                          ComputerAgent("COMP-B"), kind="partition", computer="COMP-A",
                          partition=root.partition)
        self.assertRaises(errors.NotFound, self.call, "certificate.issue",
                          ComputerAgent("COMP-A"), kind="partition", computer="COMP-A",
                          partition="slappart2")
        # Once the instance is gone and the partition freed, the certificate stands for nothing.
        self.call("instance.destroy", self.alice, reference=root.reference)
        self.call("instance.report_destroyed", ComputerAgent("COMP-A"), computer="COMP-A",
                  partition=root.partition)
        self.assertRaises(errors.Unauthenticated, self.authenticate, first)

    def test_user_certificates_carry_the_persons_roles(self):
        view = self.call("certificate.issue", User("alice"), kind="user")
        self.assertEqual(subject(view.certificate)["organizationalUnitName"], "user")
        identity = self.authenticate(view)
        self.assertEqual((identity.login, identity.roles), ("alice", ("user",)))
        self.assertRaises(errors.Forbidden, self.call, "certificate.issue", User("alice"),
                          kind="user", login="admin")
        self.assertRaises(errors.NotFound, self.call, "certificate.issue", self.admin,
                          kind="user", login="nobody")
        self.assertRaises(errors.Invalid, self.call, "certificate.issue", self.admin,
                          kind="robot")
        # alice sees her own certificates, bob none of them.
        self.assertEqual([c.serial for c in self.call("certificate.list", User("alice"))],
                         [view.serial])
        self.assertEqual(self.call("certificate.list", self.bob), [])
        self.call("certificate.revoke", User("alice"), serial=view.serial)
        self.assertEqual(self.call("certificate.list", self.admin), [])
        self.assertEqual(len(self.call("certificate.list", self.admin, include_revoked=True)), 1)

    def test_the_crl_lists_revoked_serials(self):
        view = self.call("certificate.issue", self.admin, kind="computer", computer="COMP-A")
        self.call("certificate.revoke", self.admin, serial=view.serial)
        crl = x509.load_pem_x509_crl(
            self.authority.crl(self.call("certificate.revoked_list", self.bob)))
        self.assertTrue(crl.is_signature_valid(self.authority.certificate.public_key()))
        self.assertIsNotNone(crl.get_revoked_certificate_by_serial_number(int(view.serial, 16)))
        self.assertEqual(crl.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value,
                         "slapgate master CA")

    def test_without_a_ca_issuing_is_a_conflict(self):
        plain = Master(self.master.storage.url)
        self.addCleanup(plain.close)
        self.assertRaises(errors.Conflict, plain.call, "certificate.issue", self.admin,
                          kind="computer", computer="COMP-A")


class AdminCommandTests(unittest.TestCase):
    """``slapgate admin``'s certificate commands write keys and certificates of the master's CA."""

    def setUp(self):
        self.directory = os.path.abspath(self.mktemp())
        self.database = os.path.join(self.directory, "m.sqlite")
        self.state = os.path.join(self.directory, "state")

    def admin(self, *arguments):
        import contextlib
        import io
        import json

        from gateway import cli

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["admin", "--db", self.database, "--state-dir", self.state,
                             *arguments])
        self.assertEqual(code, 0, err.getvalue())
        return json.loads(out.getvalue())

    def test_computer_add_user_cert_list_revoke_and_crl(self):
        keys = os.path.join(self.directory, "keys")
        added = self.admin("computer", "add", "COMP-7", "--cert-dir", keys)
        written = added["certificate"]
        self.assertEqual(stat.S_IMODE(os.stat(written["key_file"]).st_mode), 0o600)
        with open(written["cert_file"]) as handle:
            self.assertEqual(subject(handle.read())["commonName"], "COMP-7")
        authority = CertificateAuthority.open(os.path.join(self.state, "ca"), create=False)
        with open(written["cert_file"], "rb") as handle:
            x509.load_pem_x509_certificate(handle.read()).verify_directly_issued_by(
                authority.certificate)
        self.admin("user", "add", "carol")
        user = self.admin("user", "cert", "carol", "--out", keys)
        self.assertTrue(user["cert_file"].endswith("carol.crt"))
        listed = self.admin("cert", "list")
        self.assertEqual(sorted((c["kind"], c["common_name"]) for c in listed),
                         [("computer", "COMP-7"), ("user", "carol")])
        self.assertIsNone(listed[0]["private_key"])
        revoked = self.admin("cert", "revoke", user["serial"])
        self.assertEqual([r["serial"] for r in revoked], [user["serial"]])
        self.assertEqual(len(self.admin("cert", "list")), 1)
        crl = self.admin("cert", "crl", "--out", keys)
        self.assertEqual(crl["revoked"], 1)
        with open(crl["crl"], "rb") as handle:
            listed = x509.load_pem_x509_crl(handle.read())
        self.assertIsNotNone(listed.get_revoked_certificate_by_serial_number(
            int(user["serial"], 16)))
