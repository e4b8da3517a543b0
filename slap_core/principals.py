"""Who is calling: the principal every slap_core operation takes first.

The gateway authenticates (certificates, LDAP, SSO, local passwords) and builds one of these; slap_core
trusts it as established and decides what it may do.
"""

from dataclasses import dataclass, field

from slap_core import errors

ROLES = ("admin", "operator", "accountant", "support", "user")


@dataclass(frozen=True)
class Anonymous:
    """A caller nobody vouched for; ``address``: where it called from, when the gateway says
    (what throttles sign-ups per address)."""

    address: str | None = None
    kind = "anonymous"


@dataclass(frozen=True)
class User:
    """A person, identified by login, with the roles the authenticator derived from their groups.

    ``admin`` may do everything; ``operator`` manages the fleet (catalogue, computers, supplies)
    without seeing other people's instances; ``accountant`` reads everyone's accounts (subscriptions,
    consumption); ``support`` sees and answers everyone's tickets; ``user`` owns instance trees and their own computers.
    """

    login: str
    roles: frozenset = field(default_factory=lambda: frozenset({"user"}))
    groups: frozenset = frozenset()
    kind = "user"

    def __post_init__(self):
        object.__setattr__(self, "roles", frozenset(self.roles))
        object.__setattr__(self, "groups", frozenset(self.groups))

    @property
    def is_admin(self):
        """True for the ``admin`` role."""
        return "admin" in self.roles

    @property
    def reads_accounts(self):
        """True for roles that read everyone's subscriptions, consumption and invoices."""
        return bool(self.roles & {"admin", "accountant"})

    @property
    def handles_support(self):
        """True for roles that see, answer and close everyone's support tickets."""
        return bool(self.roles & {"admin", "support"})

    @property
    def manages_fleet(self):
        """True for roles that manage computers, supplies and the catalogue."""
        return bool(self.roles & {"admin", "operator"})


@dataclass(frozen=True)
class ComputerAgent:
    """A node, proved by its computer certificate (or trusted on a loopback-only master)."""

    computer: str
    kind = "computer"

    def acting_for(self, computer, partition):
        """The PartitionAgent of one of this computer's partitions it acts for (a node running
        a partition's requests); Forbidden for a partition of another computer."""
        if computer != self.computer:
            raise errors.Forbidden("computer %r may not act for a partition of %r"
                                   % (self.computer, computer))
        return PartitionAgent(computer, partition)


@dataclass(frozen=True)
class PartitionAgent:
    """One partition of a node, acting for the instance deployed on it (requests, publishing)."""

    computer: str
    partition: str
    kind = "partition"
