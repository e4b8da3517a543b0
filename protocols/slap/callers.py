"""Who is calling a SLAP endpoint.

With ``--insecure-loopback`` (a master listening on loopback addresses only, as slapproxy), the
request is believed: node calls act as the computer they name, the ``X-SlapPartition``
Authorization header (or the form's partition fields) names the requesting partition, and user
calls act as the master's built-in local admin. Without it, and until client certificates decide
(the authentication issue), every SLAP call is refused as unauthenticated.
"""

import re

from slap_core import errors
from slap_core.principals import ComputerAgent, PartitionAgent

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

    def _refuse(self, *args):
        raise errors.Unauthenticated(
            "SLAP needs client certificates, or a master started with --insecure-loopback")

    node = partition = user = registering_computer = _refuse
