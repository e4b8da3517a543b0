"""Who is calling a SLAP endpoint.

Every callers object answers ``for_request(request)`` with a Deferred of the callers of that one
request, whose ``node``/``partition``/``user``/``registering_computer`` give the principal each
endpoint passes to slap_core.

With ``--insecure-loopback`` (a master listening on loopback addresses only, as slapproxy), the
request is believed: node calls act as the computer they name, the ``X-SlapPartition``
Authorization header (or the form's partition fields) names the requesting partition, and user
calls act as the master's built-in local admin. Otherwise the gateway's authenticator decides
(a client certificate issued by the master's CA, or HTTP Basic): see :class:`AuthenticatedCallers`.
"""

import re

from twisted.internet import defer

from slap_core import errors
from slap_core.principals import Anonymous, ComputerAgent, PartitionAgent

_HEADER = re.compile(
    r"^X-SlapPartition\s+computer_id=(?P<computer>[^,\s]+),\s*"
    r"computer_partition_id=(?P<partition>[^,\s]+)\s*$"
)


def partition_header(request):
    """(computer, partition) from ``Authorization: X-SlapPartition ...``, None when absent.

    A header that starts with X-SlapPartition but is malformed is Invalid (HTTP 400, as slapproxy).
    """
    value = request.getHeader(b"authorization")
    if value is None:
        return None
    value = value.decode("latin-1").strip()
    if not value.startswith("X-SlapPartition"):
        return None
    match = _HEADER.match(value)
    if match is None:
        raise errors.Invalid("malformed X-SlapPartition authorization header")
    return match.group("computer"), match.group("partition")


class LoopbackCallers:
    """Believes the request, for a master reachable from this machine only."""

    def __init__(self, local_user):
        self.local_user = local_user

    def for_request(self, request):
        """These callers serve every request."""
        return defer.succeed(self)

    def node(self, request, computer):
        """The caller of a node call naming ``computer``."""
        if not computer:
            raise errors.Invalid("computer_id is required")
        return ComputerAgent(computer)

    def partition(self, request, computer=None, partition=None):
        """The requesting partition: the header's, else the form's; None for a user's request."""
        named = partition_header(request)
        if named is not None:
            return PartitionAgent(*named)
        if computer and partition:
            return PartitionAgent(computer, partition)
        return None

    def user(self, request):
        """The person behind a user call (supply, request, requestComputer)."""
        return self.local_user

    def registering_computer(self, request, computer):
        """Who posts a computer's format: on loopback any computer may register itself."""
        return self.local_user


class RefusingCallers:
    """No way to authenticate SLAP callers is configured: every call is refused (HTTP 401)."""

    def for_request(self, request):
        """These callers serve every request."""
        return defer.succeed(self)

    def _refuse(self, *args):
        raise errors.Unauthenticated(
            "SLAP needs client certificates, or a master started with --insecure-loopback")

    node = partition = user = registering_computer = _refuse


class AuthenticatedCallers:
    """The gateway's authenticator names one principal per request (certificate or Basic)."""

    def __init__(self, authenticator):
        self.authenticator = authenticator

    def for_request(self, request):
        """Deferred PrincipalCallers of ``request``; Unauthenticated for refused credentials."""
        return self.authenticator.principal(request).addCallback(PrincipalCallers)


class PrincipalCallers:
    """The callers of one request whose principal the gateway established.

    slap_core decides what the principal may do. The one translation made here: a computer acting
    for one of its own partitions (the ``X-SlapPartition`` header, or the form's partition fields
    of a partition-scoped call) acts as that partition, as the node does for its instances.
    """

    def __init__(self, principal):
        self.principal = principal

    def node(self, request, computer):
        """The caller of a node call naming ``computer``."""
        if not computer:
            raise errors.Invalid("computer_id is required")
        if isinstance(self.principal, Anonymous):
            raise errors.Unauthenticated("node calls need the computer's certificate")
        return self.principal

    def partition(self, request, computer=None, partition=None):
        """The requesting partition, or None when the caller acts as itself."""
        if isinstance(self.principal, PartitionAgent):
            return self.principal
        if not isinstance(self.principal, ComputerAgent):
            return None
        named = partition_header(request)
        if named is None and computer and partition:
            named = (computer, partition)
        if named is None:
            return None
        return self.principal.acting_for(*named)

    def user(self, request):
        """The caller of a user call, whoever it is (slap_core refuses agents where needed)."""
        return self.principal

    def registering_computer(self, request, computer):
        """Who posts a computer's format: the computer itself, or an admin."""
        return self.principal
