"""State changes shared by several operations: timestamps, destruction, archiving, freeing."""

from sqlalchemy import select, update

from slap_core.clock import next_timestamp, now
from slap_core.models import Partition, PartitionTenancy, SoftwareInstance
from slap_core.subscriptions import close_subscription


def bump(instance):
    """Mark ``instance`` changed so its node processes it again.

    A shared instance is deployed by its host, whose list carries it: the host is bumped too, as
    the master's partition timestamp includes those of the shared instances it hosts.
    """
    instance.timestamp = next_timestamp(instance.timestamp)
    if instance.shared and instance.host is not None:
        instance.host.timestamp = next_timestamp(instance.host.timestamp)


def live_tree_instances(session, tree_id):
    """Every live (not archived) instance of a tree."""
    return list(
        session.scalars(
            select(SoftwareInstance)
            .where(SoftwareInstance.tree_id == tree_id, SoftwareInstance.archived.is_(False))
            .order_by(SoftwareInstance.id)
        )
    )


def bump_tree(session, tree_id):
    """Bump every live instance of a tree (a bang, or a root state change)."""
    for instance in live_tree_instances(session, tree_id):
        bump(instance)


def archive(instance):
    """Retire an instance for good: its title becomes free again; a root retires its tree."""
    instance.archived = True
    instance.pending = False
    instance.request_scope = None
    if instance.tree.root_instance_id == instance.id:
        instance.tree.archived = True


def request_destroy(session, instance):
    """Ask for an instance's destruction.

    A shared or never-allocated instance has nothing to clean up and is archived at once (a shared
    one leaves its host's list; bumping it bumps the host). An allocated one waits for its node to
    report it destroyed. Destroying a root destroys its whole tree and frees its title at once, as
    the master archives a destroyed instance tree.
    """
    if instance.requested_state != "destroyed":
        instance.requested_state = "destroyed"
        bump(instance)
    if instance.shared:
        archive(instance)
    elif instance.partition is None:
        archive(instance)
    if instance.tree.root_instance_id == instance.id:
        instance.request_scope = None
        instance.tree.archived = True
        close_subscription(session, instance.tree_id)
        for other in live_tree_instances(session, instance.tree_id):
            if other.id != instance.id and other.requested_state != "destroyed":
                request_destroy(session, other)


def free_partition(session, partition, instance):
    """Release ``partition`` from ``instance`` (its tenancy ends) and archive it; its shared
    guests wait for a new host."""
    partition.instance_id = None
    partition.slap_state = "free"
    session.flush()
    session.execute(update(PartitionTenancy).where(
        PartitionTenancy.partition_id == partition.id,
        PartitionTenancy.instance_id == instance.id, PartitionTenancy.stop_at.is_(None))
        .values(stop_at=now()).execution_options(synchronize_session=False))
    session.expire(instance, ["partition"])
    archive(instance)
    for guest in session.scalars(
        select(SoftwareInstance).where(
            SoftwareInstance.host_instance_id == instance.id,
            SoftwareInstance.archived.is_(False),
        )
    ):
        guest.host_instance_id = None
        guest.pending = True
        bump(guest)


def partition_row(session, instance):
    """The partition row an instance occupies (fresh from the database), or None."""
    return session.scalar(select(Partition).where(Partition.instance_id == instance.id))
