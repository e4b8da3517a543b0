"""Certificates: issuing them through the master's CA, revoking them, and who a TLS caller is.

slap_core records every certificate the CA signs (its serial, whom it names) and decides who may
issue or revoke which; the signing itself is done by an :class:`ICertificateAuthority` the master
was given (``gateway.ca``). A certificate stands for a principal only while its row says so: not
revoked, not expired and, for a partition, while the partition still holds the instance it was
issued for.
"""

from dataclasses import dataclass

from sqlalchemy import select
from zope.interface import Interface

from slap_core import errors
from slap_core.access import (
    deployed_partition,
    get_computer,
    is_computer_owner,
    require_authenticated,
    require_user,
)
from slap_core.clock import now
from slap_core.models import Certificate, Person
from slap_core.operations import operation
from slap_core.principals import ComputerAgent, PartitionAgent, User
from slap_core.views import CertificateIdentity, CertificateView, RevokedCertificate

KINDS = ("computer", "partition", "user")
# A partition certificate is handed out again until it has less than this left to live.
REUSE_MARGIN = 7 * 86400.0
# X.509 names (the common name, the organisational unit) are at most this many characters.
MAX_NAME = 64


class ICertificateAuthority(Interface):
    """Signs new key pairs for the certificates slap_core records."""

    def issue(kind, common_name, computer=None):
        """A new key and certificate naming ``common_name`` (and ``computer`` for a partition).

        Returns an :class:`IssuedCertificate`.
        """


@dataclass(frozen=True)
class IssuedCertificate:
    """What an authority signed: the serial as lower-case hex, PEM texts, the expiry time."""

    serial: str
    certificate: str
    private_key: str
    not_after: float


def certificate_view(row, with_key=False, private_key=None):
    """The CertificateView of a Certificate row."""
    return CertificateView(
        serial=row.serial,
        kind=row.kind,
        common_name=row.common_name,
        computer=row.computer.reference if row.computer is not None else None,
        partition=row.partition.reference if row.partition is not None else None,
        login=row.person.login if row.person is not None else None,
        not_after=row.not_after,
        issued_at=row.issued_at,
        revoked_at=row.revoked_at,
        certificate=row.certificate,
        private_key=(private_key or row.private_key) if with_key else None,
    )


def _authority(session):
    authority = session.info.get("authority")
    if authority is None:
        raise errors.Conflict("this master has no certificate authority")
    return authority


def _record(session, issued, kind, common_name, keep_key=False, **links):
    row = Certificate(serial=issued.serial, kind=kind, common_name=common_name,
                      certificate=issued.certificate, not_after=issued.not_after,
                      private_key=issued.private_key if keep_key else None, **links)
    session.add(row)
    session.flush()
    return row


def _check_computer_certificate_issuer(session, principal, computer):
    if isinstance(principal, ComputerAgent) and principal.computer == computer.reference:
        return
    if isinstance(principal, PartitionAgent):
        raise errors.Forbidden("a partition may not get its computer's certificate")
    user = require_user(principal)
    if user.manages_fleet or is_computer_owner(session, user, computer):
        return
    raise errors.Forbidden("%s may not get certificates of computer %r"
                           % (user.login, computer.reference))


def _person(session, login):
    person = session.scalar(select(Person).where(Person.login == login))
    if person is None:
        raise errors.NotFound("no person %r" % (login,))
    return person


@operation("certificate.issue", writes=True,
           callers="computer: the computer itself, its owner, admin, operator; partition: its "
                   "computer, the partition itself, admin; user: the user themselves, admin",
           returns=CertificateView, raises=(errors.Invalid,
                                            errors.NotFound,
                                            (errors.Conflict, "no CA")))
def issue(session, principal, *, kind, computer=None, partition=None, login=None):
    """Issue a key and certificate for a computer, a deployed partition or a person."""
    require_authenticated(principal)
    if kind == "computer":
        row = get_computer(session, computer)
        _check_computer_certificate_issuer(session, principal, row)
        _nameable(row.reference)
        issued = _authority(session).issue("computer", row.reference)
        record = _record(session, issued, "computer", row.reference, computer=row)
    elif kind == "partition":
        if not partition:
            raise errors.Invalid("a partition reference is required")
        slot = deployed_partition(session, principal, computer, partition)
        if slot.instance_id is None:
            raise errors.NotFound("partition %r of %r holds no instance" % (partition, computer))
        reusable = session.scalar(
            select(Certificate).where(
                Certificate.partition_id == slot.id,
                Certificate.instance_id == slot.instance_id,
                Certificate.revoked_at.is_(None),
                Certificate.private_key.is_not(None),
                Certificate.not_after > now() + REUSE_MARGIN,
            ).order_by(Certificate.id.desc()).limit(1))
        if reusable is not None:
            return certificate_view(reusable, with_key=True)
        _nameable(slot.reference)
        _nameable(slot.computer.reference)
        issued = _authority(session).issue("partition", slot.reference,
                                           computer=slot.computer.reference)
        record = _record(session, issued, "partition", slot.reference, keep_key=True,
                         computer=slot.computer, partition=slot, instance_id=slot.instance_id)
    elif kind == "user":
        user = require_user(principal)
        login = login or user.login
        if login != user.login and not user.is_admin:
            raise errors.Forbidden("only an admin may get certificates for someone else")
        person = _person(session, login)
        _nameable(person.login)
        issued = _authority(session).issue("user", person.login)
        record = _record(session, issued, "user", person.login, person=person)
    else:
        raise errors.Invalid("kind is one of %s" % ", ".join(KINDS))
    return certificate_view(record, with_key=True, private_key=issued.private_key)


def _nameable(name):
    if len(name) > MAX_NAME:
        raise errors.Invalid("a certificate cannot name %r: X.509 names are at most %d "
                             "characters" % (name[:80], MAX_NAME))


def _may_revoke(session, principal, row):
    if isinstance(principal, ComputerAgent):
        return row.computer is not None and row.computer.reference == principal.computer
    if not isinstance(principal, User):
        return False
    if principal.is_admin:
        return True
    if row.person is not None:
        return row.person.login == principal.login
    return row.computer is not None and is_computer_owner(session, principal, row.computer)


@operation("certificate.revoke", writes=True,
           callers="admin, the certificate's person or computer owner, the computer itself",
           returns=[CertificateView], raises=(errors.Invalid, errors.NotFound))
def revoke(session, principal, *, serial=None, computer=None):
    """Revoke one certificate by serial, or every computer certificate of a computer."""
    require_authenticated(principal)
    if bool(serial) == bool(computer):
        raise errors.Invalid("name either a serial or a computer")
    if serial:
        row = session.scalar(select(Certificate).where(Certificate.serial == serial.lower()))
        if row is None or not _may_revoke(session, principal, row):
            raise errors.NotFound("no certificate %r" % (serial,))
        rows = [row]
    else:
        target = get_computer(session, computer)
        if isinstance(principal, PartitionAgent):
            raise errors.Forbidden("a partition may not revoke its computer's certificates")
        if not isinstance(principal, ComputerAgent) or principal.computer != target.reference:
            user = require_user(principal)
            if not (user.is_admin or is_computer_owner(session, user, target)):
                raise errors.Forbidden("%s may not revoke certificates of computer %r"
                                       % (user.login, target.reference))
        rows = list(session.scalars(select(Certificate).where(
            Certificate.computer_id == target.id, Certificate.kind == "computer",
            Certificate.revoked_at.is_(None))))
    moment = now()
    for row in rows:
        if row.revoked_at is None:
            row.revoked_at = moment
            row.private_key = None
    return [certificate_view(row) for row in rows]


@operation("certificate.list", writes=False,
           callers="admin, operator (all); users (theirs and their computers'); computers (theirs)",
           returns=[CertificateView], raises=(errors.NotFound,))
def list_certificates(session, principal, *, computer=None, login=None, include_revoked=False):
    """List issued certificates, newest first, optionally of one computer or one person."""
    require_authenticated(principal)
    query = select(Certificate).order_by(Certificate.id.desc())
    if not include_revoked:
        query = query.where(Certificate.revoked_at.is_(None))
    if computer:
        query = query.where(Certificate.computer_id == get_computer(session, computer).id)
    if login:
        query = query.where(Certificate.person_id == _person(session, login).id)
    if isinstance(principal, PartitionAgent):
        raise errors.Forbidden("partitions may not list certificates")
    rows = session.scalars(query)
    if isinstance(principal, ComputerAgent):
        return [certificate_view(r) for r in rows
                if r.computer is not None and r.computer.reference == principal.computer]
    user = require_user(principal)
    if user.manages_fleet:
        return [certificate_view(r) for r in rows]
    return [certificate_view(r) for r in rows if _may_revoke(session, user, r)]


@operation("certificate.authenticate", writes=False,
           callers="anyone (used by the gateway for TLS callers)",
           returns=CertificateIdentity,
           raises=((errors.Unauthenticated, "unknown, revoked, expired, instance gone"),))
def authenticate(session, principal, *, serial, common_name):
    """Who a CA-verified client certificate stands for; Unauthenticated when it no longer does."""
    row = session.scalar(select(Certificate).where(Certificate.serial == str(serial).lower()))
    if row is None or row.common_name != common_name:
        raise errors.Unauthenticated("unknown certificate")
    if row.revoked_at is not None:
        raise errors.Unauthenticated("certificate %s was revoked" % row.serial)
    if row.not_after < now():
        raise errors.Unauthenticated("certificate %s expired" % row.serial)
    if row.kind == "computer":
        return CertificateIdentity("computer", computer=row.computer.reference)
    if row.kind == "partition":
        if row.partition.instance_id != row.instance_id:
            raise errors.Unauthenticated("certificate %s was for an instance that left the "
                                         "partition" % row.serial)
        return CertificateIdentity("partition", computer=row.computer.reference,
                                   partition=row.partition.reference)
    if row.person.disabled:
        raise errors.Unauthenticated("certificate %s is a disabled person's" % row.serial)
    return CertificateIdentity("user", login=row.person.login,
                               roles=tuple(row.person.roles or ("user",)))


@operation("certificate.revoked_list", writes=False, callers="anyone (a CRL is public)",
           returns=[RevokedCertificate])
def revoked_list(session, principal):
    """Every revoked certificate still unexpired, as a CRL lists them."""
    rows = session.execute(
        select(Certificate.serial, Certificate.revoked_at)
        .where(Certificate.revoked_at.is_not(None), Certificate.not_after > now())
        .order_by(Certificate.revoked_at))
    return [RevokedCertificate(serial, revoked_at) for serial, revoked_at in rows]
