"""Who may see and touch what: the authorization rules, next to the lookups they guard.

Rules (each operation states which applies):
- a computer agent sees its own computer, its partitions and what is deployed on them, nothing else;
- a partition agent sees its own instance, the instances it requested, and the shared instances
  hosted on it;
- a user sees their own instance trees and the computers they own; ``operator`` manages every
  computer, supply and the catalogue; ``admin`` may do everything.
"""

from sqlalchemy import bindparam, select

from slap_core import errors
from slap_core.models import Computer, Partition, Person, SoftwareInstance
from slap_core.principals import Anonymous, ComputerAgent, PartitionAgent, User


def require_user(principal):
    """The caller must be a person; returns it."""
    if isinstance(principal, User):
        return principal
    if isinstance(principal, Anonymous):
        raise errors.Unauthenticated("this operation needs a logged-in user")
    raise errors.Forbidden("this operation is for users, not for %s agents" % principal.kind)


def require_fleet_manager(principal):
    """The caller must be an admin or an operator."""
    user = require_user(principal)
    if not user.manages_fleet:
        raise errors.Forbidden("only an admin or an operator may do this")
    return user


def require_admin(principal):
    """The caller must be an admin."""
    user = require_user(principal)
    if not user.is_admin:
        raise errors.Forbidden("only an admin may do this")
    return user


def require_authenticated(principal):
    """Anyone but an anonymous caller."""
    if isinstance(principal, Anonymous):
        raise errors.Unauthenticated("this operation needs an authenticated caller")
    return principal


_PERSON = select(Person).where(Person.login == bindparam("login"))  # built once


def person_for(session, user):
    """The Person row of a user principal, created on first use (people come from LDAP/SSO)."""
    person = session.scalar(_PERSON, {"login": user.login})
    if person is None:
        person = Person(login=user.login, roles=sorted(user.roles))
        session.add(person)
        session.flush()
    return person


def accounts_read(session, principal, login, what):
    """Whose ``what`` (subscriptions, invoices...) a read by ``principal`` covers: a person id,
    or None for everyone's (an admin or an accountant naming no one). Another person's needs an
    admin or an accountant (Forbidden), and an existing ``login`` (NotFound)."""
    user = require_user(principal)
    if login is not None and login != user.login:
        if not user.reads_accounts:
            raise errors.Forbidden("only an admin or an accountant may read another person's "
                                   "%s" % what)
        found = session.scalar(select(Person.id).where(Person.login == login))
        if found is None:
            raise errors.NotFound("no person %r" % (login,))
        return found
    if login is not None or not user.reads_accounts:
        return person_id(session, user)
    return None


def person_id(session, user):
    """The id of a user's Person row for filtering reads; -1 (matches nothing) if they have none.

    Read-only operations use this instead of :func:`person_for`, so they never write.
    """
    found = session.scalar(select(Person.id).where(Person.login == user.login))
    return -1 if found is None else found


def get_computer(session, reference):
    """The computer with this reference, or NotFound."""
    if not reference:
        raise errors.Invalid("a computer reference is required")
    computer = session.scalar(select(Computer).where(Computer.reference == reference))
    if computer is None:
        raise errors.NotFound("no computer %r" % (reference,))
    return computer


def get_partition(session, computer, reference):
    """The partition ``reference`` of ``computer``, or NotFound."""
    partition = session.scalar(
        select(Partition).where(
            Partition.computer_id == computer.id, Partition.reference == reference
        )
    )
    if partition is None:
        raise errors.NotFound("no partition %r on computer %r" % (reference, computer.reference))
    return partition


def get_instance(session, reference, archived=False):
    """The instance with this reference (instance_guid), or NotFound."""
    query = select(SoftwareInstance).where(SoftwareInstance.reference == reference)
    if not archived:
        query = query.where(SoftwareInstance.archived.is_(False))
    instance = session.scalar(query)
    if instance is None:
        raise errors.NotFound("no instance %r" % (reference,))
    return instance


def is_computer_owner(session, user, computer):
    """True when ``user`` owns ``computer``."""
    return computer.owner is not None and computer.owner.login == user.login


def check_computer_read(session, principal, computer):
    """Agents of this computer, its owner and fleet managers may read a computer."""
    if isinstance(principal, (ComputerAgent, PartitionAgent)):
        if principal.computer == computer.reference:
            return
        raise errors.Forbidden("computer %r may not see computer %r"
                               % (principal.computer, computer.reference))
    user = require_user(principal)
    if user.manages_fleet or is_computer_owner(session, user, computer):
        return
    raise errors.Forbidden("%s may not see computer %r" % (user.login, computer.reference))


def check_computer_agent(principal, computer):
    """Only the computer itself (or an admin) may act as the node: poll, report, format."""
    if isinstance(principal, ComputerAgent) and principal.computer == computer.reference:
        return
    if isinstance(principal, User) and principal.is_admin:
        return
    if isinstance(principal, Anonymous):
        raise errors.Unauthenticated("node calls need the computer's credentials")
    raise errors.Forbidden("only computer %r may do this" % (computer.reference,))


def check_computer_manage(session, principal, computer):
    """Fleet managers and the computer's owner may change its settings and supplies."""
    user = require_user(principal)
    if user.manages_fleet or is_computer_owner(session, user, computer):
        return user
    raise errors.Forbidden("%s may not manage computer %r" % (user.login, computer.reference))


def partition_of(instance):
    """The partition an instance runs on: its own, or its host's for a shared instance."""
    if instance.shared:
        return instance.host.partition if instance.host is not None else None
    return instance.partition


def agent_instance(session, principal):
    """The live instance deployed on a partition agent's partition, or Forbidden."""
    computer = get_computer(session, principal.computer)
    partition = get_partition(session, computer, principal.partition)
    if partition.instance is None:
        raise errors.Forbidden(
            "partition %r of %r holds no instance" % (principal.partition, principal.computer)
        )
    return partition.instance


def can_read_instance(session, principal, instance):
    """The rule for reading an instance (its parameters, connection, state)."""
    if isinstance(principal, User):
        return principal.is_admin or instance.tree.owner.login == principal.login
    if isinstance(principal, ComputerAgent):
        partition = partition_of(instance)
        return partition is not None and partition.computer.reference == principal.computer
    if isinstance(principal, PartitionAgent):
        own = agent_instance(session, principal)
        return (
            instance.id == own.id
            or instance.requester_instance_id == own.id
            or instance.host_instance_id == own.id
        )
    return False


def check_instance_read(session, principal, instance):
    """Raise unless the principal may read the instance (NotFound hides others' instances)."""
    require_authenticated(principal)
    if not can_read_instance(session, principal, instance):
        raise errors.NotFound("no instance %r" % (instance.reference,))


def check_instance_owner(session, principal, instance):
    """The owner of the tree (or an admin) may change the instance as its requester."""
    user = require_user(principal)
    if user.is_admin or instance.tree.owner.login == user.login:
        return user
    raise errors.NotFound("no instance %r" % (instance.reference,))


def deployed_partition(session, principal, computer_reference, partition_reference):
    """The partition a node-side call names, after checking the caller is that node or partition.

    Computer agents may act for any of their partitions; partition agents only for their own.
    """
    require_authenticated(principal)
    if isinstance(principal, PartitionAgent):
        if (principal.computer, principal.partition) != (computer_reference, partition_reference):
            raise errors.Forbidden("partition %r of %r may only act for itself"
                                   % (principal.partition, principal.computer))
    computer = get_computer(session, computer_reference)
    if not isinstance(principal, PartitionAgent):
        check_computer_agent(principal, computer)
    return get_partition(session, computer, partition_reference)
