"""The master's certificate authority: its key pair on disk, issuing, the TLS server side, CRLs.

The CA lives in ``<state_dir>/ca/``: ``ca.key`` (mode 0600) and ``ca.crt``, made on first start,
plus ``server.key``/``server.crt``, the master's own TLS certificate. Issued certificates carry
their principal in the subject: ``O=slapgate, OU=<kind>, CN=<name>`` with ``kind`` one of
``computer`` (CN = the computer reference), ``partition`` (CN = the partition reference, UID = its
computer) and ``user`` (CN = the login). Keys are ECDSA P-256. slap_core records every serial, so
the database says whether a certificate is still good (see ``slap_core.certificates``).
"""

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from zope.interface import implementer

from slap_core.certificates import KINDS, ICertificateAuthority, IssuedCertificate

ORGANIZATION = "slapgate"
CA_YEARS = 20
DEFAULT_DAYS = 365
SERVER_DAYS = 825
CLOCK_SKEW = datetime.timedelta(hours=1)


class CertificateAuthorityError(Exception):
    """The CA's files are unreadable or do not belong together."""


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_private(path, data):
    """Write ``data`` to a new file readable by its owner only (fails if the file exists)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def subject_of(kind, common_name, computer=None):
    """The X.509 subject of a certificate of ``kind`` naming ``common_name``."""
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                  x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, kind)]
    if computer is not None:
        attributes.append(x509.NameAttribute(NameOID.USER_ID, computer))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def identity_of(certificate):
    """(serial as lower-case hex, common name) of a ``cryptography`` certificate."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = names[0].value if names else ""
    return format(certificate.serial_number, "x"), common_name


@implementer(ICertificateAuthority)
class CertificateAuthority:
    """A CA key pair kept in a directory; signs client and server certificates and CRLs."""

    def __init__(self, directory, key, certificate, days=DEFAULT_DAYS):
        self.directory = Path(directory)
        self.key = key
        self.certificate = certificate
        self.days = days

    @classmethod
    def open(cls, directory, days=DEFAULT_DAYS, create=True):
        """The CA in ``directory``, created (key mode 0600) when absent and ``create`` is true."""
        directory = Path(directory)
        key_path, cert_path = directory / "ca.key", directory / "ca.crt"
        if not key_path.exists():
            if not create:
                raise CertificateAuthorityError("no CA in %s" % directory)
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
            key, certificate = cls._new_ca()
            try:
                _write_private(key_path, _pem_key(key))
            except FileExistsError:
                pass  # another process made it first: read theirs
            else:
                cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        except (OSError, ValueError) as error:
            raise CertificateAuthorityError("cannot read the CA in %s: %s"
                                            % (directory, error)) from None
        if key.public_key().public_numbers() != certificate.public_key().public_numbers():
            raise CertificateAuthorityError("%s and %s do not belong together"
                                            % (key_path, cert_path))
        return cls(directory, key, certificate, days)

    @staticmethod
    def _new_ca():
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                          x509.NameAttribute(NameOID.COMMON_NAME, "slapgate master CA")])
        start = _now() - CLOCK_SKEW
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=365 * CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256())
        )
        return key, certificate

    @property
    def certificate_pem(self):
        """The CA certificate as PEM bytes (what clients may pin)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def certificate_path(self):
        """Where the CA certificate is on disk."""
        return self.directory / "ca.crt"

    def _sign(self, subject, public_key, days, usage, alternative_names=()):
        start = _now() - CLOCK_SKEW
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + CLOCK_SKEW + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.key.public_key()), critical=False)
        )
        if alternative_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(alternative_names)),
                                            critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def issue(self, kind, common_name, computer=None):
        """A new client key and certificate (see the module docstring for the subject)."""
        if kind not in KINDS:
            raise ValueError("unknown certificate kind %r" % (kind,))
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = self._sign(subject_of(kind, common_name, computer), key.public_key(),
                                 self.days, ExtendedKeyUsageOID.CLIENT_AUTH)
        return IssuedCertificate(
            serial=format(certificate.serial_number, "x"),
            certificate=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            private_key=_pem_key(key).decode("ascii"),
            not_after=certificate.not_valid_after_utc.timestamp(),
        )

    def server_certificate(self, hosts):
        """(key, certificate) of the master's TLS side for ``hosts``, reused while still good.

        The pair is kept in ``server.key``/``server.crt`` and made again when a host is missing
        from it or it has less than 30 days left.
        """
        names = _alternative_names(set(hosts) | {"localhost", "127.0.0.1", "::1"})
        key_path, cert_path = self.directory / "server.key", self.directory / "server.crt"
        if key_path.exists() and cert_path.exists():
            try:
                key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
                certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
                present = set(certificate.extensions.get_extension_for_class(
                    x509.SubjectAlternativeName).value)
                fresh = certificate.not_valid_after_utc - _now() > datetime.timedelta(days=30)
                if set(names) <= present and fresh and certificate.issuer == \
                        self.certificate.subject:
                    return key, certificate
            except (ValueError, x509.ExtensionNotFound):
                pass
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                             x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "master"),
                             x509.NameAttribute(NameOID.COMMON_NAME, "slapgate master")])
        certificate = self._sign(subject, key.public_key(), SERVER_DAYS,
                                 ExtendedKeyUsageOID.SERVER_AUTH, names)
        for path in (key_path, cert_path):
            if path.exists():
                path.unlink()
        _write_private(key_path, _pem_key(key))
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return key, certificate

    def tls_options(self, hosts):
        """Twisted TLS options: our server certificate; client certificates asked, not required.

        A client certificate, when sent, must chain to this CA or the handshake fails; once the
        options are given a CRL (``gateway.tls_revocation``) a revoked one fails it too. Whether
        it still stands for someone is also decided per request (``certificate.authenticate``).
        """
        from OpenSSL import crypto
        from twisted.internet import ssl

        from gateway.tls_revocation import CrlCheckingOptions

        key, certificate = self.server_certificate(hosts)
        return CrlCheckingOptions(
            privateKey=crypto.PKey.from_cryptography_key(key),
            certificate=crypto.X509.from_cryptography(certificate),
            verify=True,
            caCerts=[crypto.X509.from_cryptography(self.certificate)],
            requireCertificate=False,
            raiseMinimumTo=ssl.TLSVersion.TLSv1_2,
        )

    def crl(self, revoked, days=7):
        """A CRL (PEM bytes) listing ``revoked`` (RevokedCertificate views), valid ``days``."""
        start = _now()
        builder = (x509.CertificateRevocationListBuilder()
                   .issuer_name(self.certificate.subject)
                   .last_update(start - CLOCK_SKEW)
                   .next_update(start + datetime.timedelta(days=days)))
        for entry in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(int(entry.serial, 16))
                .revocation_date(datetime.datetime.fromtimestamp(entry.revoked_at,
                                                                 datetime.timezone.utc))
                .build())
        return builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _alternative_names(hosts):
    names = []
    for host in sorted(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names
