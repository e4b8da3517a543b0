"""What the node side says about the instances it runs: states, errors, connection parameters,
bangs, renames and destruction.

Each call names the partition (computer + partition reference) and, for a shared instance hosted
there, its reference as ``slave_reference``. A computer agent may speak for any of its partitions;
a partition agent only for itself.
"""

from sqlalchemy import select

from slap_core import errors
from slap_core.access import check_instance_owner, deployed_partition, get_instance
from slap_core.clock import now
from slap_core.declarations import ADDRESS_PAIRS
from slap_core.instance_views import instance_view, root_state
from slap_core.instances import check_mapping, check_title
from slap_core.lifecycle import bump, bump_tree, free_partition, request_destroy
from slap_core.models import Partition, PartitionAddress, SoftwareInstance
from slap_core.operations import operation
from slap_core.partition_views import effective_state
from slap_core.views import DestroyOutcome, InstanceView

MAX_STATUS = 64 * 1024
NODE_CALLERS = "the computer running it, the partition itself"


def _absent(slave_reference):
    # The upstream client sends None as the literal string "None".
    return slave_reference in (None, "", "None", "none")


def deployed_instance(session, principal, computer, partition, slave_reference=None):
    """The instance on a partition, or the shared instance it hosts named by ``slave_reference``."""
    row = deployed_partition(session, principal, computer, partition)
    if row.instance is None:
        raise errors.NotFound("partition %r of %r holds no instance" % (partition, computer))
    if _absent(slave_reference):
        return row.instance
    shared = session.scalar(
        select(SoftwareInstance).where(
            SoftwareInstance.reference == slave_reference,
            SoftwareInstance.host_instance_id == row.instance.id,
            SoftwareInstance.archived.is_(False),
        )
    )
    if shared is None:
        raise errors.NotFound("partition %r hosts no shared instance %r" % (partition, slave_reference))
    return shared


def set_news(instance, text):
    """Record an instance's latest status ("news"): ``#access ...``, ``#error ...``."""
    instance.status_text = text[-MAX_STATUS:]
    instance.status_at = now()
    # A bang asks for the instance to be processed again: it says nothing of its health.
    if text.startswith("#error"):
        if instance.error_since is None:
            instance.error_since = instance.status_at
    elif not text.startswith("#access bang"):
        instance.error_since = None


@operation("instance.report_started", writes=True, callers=NODE_CALLERS,
           returns=None, raises=(errors.NotFound,))
def report_started(session, principal, *, computer, partition, slave_reference=None):
    """The node deployed and started the partition and its promises passed.

    A report about a shared instance it hosts is accepted and changes nothing: a shared instance
    runs no process of its own.
    """
    if not _absent(slave_reference):
        deployed_instance(session, principal, computer, partition, slave_reference)
        return None
    instance = deployed_instance(session, principal, computer, partition)
    set_news(instance, "#access Instance correctly started")
    return None


@operation("instance.report_stopped", writes=True, callers=NODE_CALLERS,
           returns=None, raises=(errors.NotFound,))
def report_stopped(session, principal, *, computer, partition, slave_reference=None):
    """The node stopped the partition's processes.

    A report about a shared instance it hosts is accepted and changes nothing.
    """
    if not _absent(slave_reference):
        deployed_instance(session, principal, computer, partition, slave_reference)
        return None
    instance = deployed_instance(session, principal, computer, partition)
    set_news(instance, "#access Instance correctly stopped")
    return None


@operation("instance.report_error", writes=True, callers=NODE_CALLERS,
           returns=None, raises=(errors.NotFound,))
def report_error(session, principal, *, computer, partition, message, slave_reference=None):
    """The node failed to deploy the partition (or a shared instance on it); keeps the text."""
    instance = deployed_instance(session, principal, computer, partition, slave_reference)
    set_news(instance, "#error " + str(message or ""))
    return None


@operation("instance.report_destroyed", writes=True, callers=NODE_CALLERS,
           returns=DestroyOutcome, raises=(errors.NotFound,
                                           (errors.Conflict, "not to be destroyed")))
def report_destroyed(session, principal, *, computer, partition, slave_reference=None):
    """The node wiped the partition: free it, unless instances it requested still live.

    Those are asked to be destroyed too and the partition is kept (``freed`` false) until they are
    gone; the node reports again on a later run. Reporting a free partition is harmless; a report
    about a shared instance the partition hosts changes nothing (``freed`` false).
    """
    if not _absent(slave_reference):
        deployed_instance(session, principal, computer, partition, slave_reference)
        return DestroyOutcome(False, (), "a shared instance has no partition of its own to free")
    row = deployed_partition(session, principal, computer, partition)
    instance = row.instance
    if instance is None:
        return DestroyOutcome(True, (), "partition %s is already free" % partition)
    if effective_state(instance.requested_state, root_state(instance)) != "destroyed":
        raise errors.Conflict("instance %r on %s is not to be destroyed" % (instance.title, partition))
    children = session.scalars(
        select(SoftwareInstance).where(
            SoftwareInstance.requester_instance_id == instance.id,
            SoftwareInstance.archived.is_(False),
        )
    ).all()
    for child in children:
        request_destroy(session, child)
    waiting = tuple(sorted(c.title for c in children if not c.archived))
    if waiting:
        return DestroyOutcome(
            False,
            waiting,
            "Not destroying yet because this partition has child partitions: %s"
            % ", ".join(waiting),
        )
    free_partition(session, row, instance)
    set_news(instance, "#access Instance destroyed")
    return DestroyOutcome(True, (), "partition %s freed" % partition)


@operation("instance.set_connection", writes=True, callers=NODE_CALLERS,
           returns=InstanceView, raises=(errors.NotFound, errors.Invalid))
def set_connection(session, principal, *, computer, partition, connection, slave_reference=None):
    """Publish connection parameters of the partition's instance, or of a shared instance it hosts.

    A change bumps the direct requester (one level up) so it can read them; for a shared instance
    the host is bumped too, since its list of shared instances carries them.
    """
    instance = deployed_instance(session, principal, computer, partition, slave_reference)
    connection = check_mapping(connection, "connection parameters") or {}
    if instance.connection != connection:
        instance.connection = connection
        if instance.requester is not None:
            bump(instance.requester)
        if instance.shared:
            bump(instance)  # the host's list carries a shared instance's connection
    return instance_view(session, instance)


@operation("instance.bang", writes=True, callers=NODE_CALLERS,
           returns=None, raises=(errors.NotFound, (errors.Forbidden, "a shared instance")))
def bang(session, principal, *, computer, partition, message="", slave_reference=None):
    """Ask for the whole tree of the partition's instance to be processed again.

    A shared instance it hosts cannot be banged (Forbidden).
    """
    if not _absent(slave_reference):
        deployed_instance(session, principal, computer, partition, slave_reference)
        raise errors.Forbidden("a shared instance cannot be banged")
    instance = deployed_instance(session, principal, computer, partition)
    bump_tree(session, instance.tree_id)
    set_news(instance, "#access bang: %s" % (message or "no message"))
    return None


@operation("instance.rename", writes=True, callers=NODE_CALLERS,
           returns=InstanceView, raises=(errors.NotFound, errors.Invalid, errors.Conflict))
def rename(session, principal, *, computer, partition, new_name, slave_reference=None):
    """Give the instance (or a shared instance it hosts) a new title, unique in its scope."""
    instance = deployed_instance(session, principal, computer, partition, slave_reference)
    new_name = check_title(new_name)
    if new_name == instance.title:
        return instance_view(session, instance)
    if instance.request_scope is not None and session.scalar(
        select(SoftwareInstance.id).where(
            SoftwareInstance.request_scope == instance.request_scope,
            SoftwareInstance.title == new_name,
        )
    ):
        raise errors.Conflict("an instance titled %r exists" % (new_name,))
    instance.title = new_name
    if instance.tree.root_instance_id == instance.id:
        instance.tree.title = new_name
        bump_tree(session, instance.tree_id)
    else:
        bump(instance)
    return instance_view(session, instance)


@operation("instance.hosting_ip_list", writes=False, callers=NODE_CALLERS,
           returns=ADDRESS_PAIRS, raises=(errors.NotFound,))
def hosting_ip_list(session, principal, *, computer, partition):
    """Every (interface, address) of every partition of the instance's tree."""
    instance = deployed_instance(session, principal, computer, partition)
    rows = session.execute(
        select(PartitionAddress.network_interface, PartitionAddress.address)
        .join(Partition, PartitionAddress.partition_id == Partition.id)
        .join(SoftwareInstance, Partition.instance_id == SoftwareInstance.id)
        .where(SoftwareInstance.tree_id == instance.tree_id)
        .order_by(Partition.id, PartitionAddress.id)
    )
    return [tuple(row) for row in rows]


@operation("instance.destroy", writes=True, callers="the tree's owner, admin",
           returns=InstanceView, raises=(errors.NotFound,))
def destroy(session, principal, *, reference):
    """Ask for an instance (and, for a root, its whole tree) to be destroyed, by reference."""
    instance = get_instance(session, reference)
    check_instance_owner(session, principal, instance)
    request_destroy(session, instance)
    return instance_view(session, instance)
