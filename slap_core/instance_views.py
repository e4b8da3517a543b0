"""How an instance reads: the one builder of :class:`slap_core.views.InstanceView`.

:func:`instance_view` reads an ORM row; a first request, which inserted its rows with Core
statements, passes the values it holds to :func:`build_view` instead of loading them back.
"""

from sqlalchemy import bindparam, select

from slap_core.access import partition_of
from slap_core.models import PartitionAddress
from slap_core.partition_views import effective_state, ip_lists
from slap_core.views import InstanceView

_ADDRESSES = (  # built once: every answer about an instance runs it
    select(PartitionAddress.network_interface, PartitionAddress.address,
           PartitionAddress.netmask, PartitionAddress.gateway, PartitionAddress.network)
    .where(PartitionAddress.partition_id == bindparam("partition"))
    .order_by(PartitionAddress.id)
)


def partition_addresses(session, partition_id, flushed=True):
    """The address rows of a partition (None: none), in the order :func:`build_view` lists them.

    ``flushed``: the caller flushed what it changed, and the statement goes straight to the
    connection; else it goes through the session, which flushes first.
    """
    if partition_id is None:
        return ()
    execute = session.connection().execute if flushed else session.execute
    return execute(_ADDRESSES, {"partition": partition_id}).all()


def root_state(instance):
    """The requested state of the instance's tree root (``started`` if it has none)."""
    root = instance.tree.root
    return root.requested_state if root is not None else "started"


def build_view(*, reference, title, tree, owner, software_release, software_type, parameters,
               sla, requested_state, root_requested_state, shared, computer, partition,
               addresses, host, requester, connection, timestamp, status_text, status_at,
               archived, created_at, created=False):
    """The InstanceView of these values: ``state`` is the effective one (a stopped or destroyed
    root imposes its state), ``addresses`` the rows of its partition (its host's for a shared
    instance) giving ``ip_list`` and ``full_ip_list``."""
    ip_list, full_ip_list = ip_lists(addresses)
    return InstanceView(
        reference=reference,
        title=title,
        tree=tree,
        owner=owner,
        software_release=software_release,
        software_type=software_type,
        parameters=dict(parameters or {}),
        sla=dict(sla or {}),
        requested_state=requested_state,
        state=effective_state(requested_state, root_requested_state),
        shared=shared,
        allocated=partition is not None,
        computer=computer,
        partition=partition,
        host=host,
        requester=requester,
        connection=dict(connection or {}),
        timestamp=timestamp,
        status_text=status_text,
        status_at=status_at,
        ip_list=ip_list,
        full_ip_list=full_ip_list,
        archived=archived,
        created_at=created_at,
        created=created,
    )


def instance_view(session, instance, created=False):
    """The InstanceView of an instance row (``created``: by the call answered)."""
    partition = partition_of(instance)
    addresses = partition_addresses(session, partition.id if partition is not None else None,
                                    flushed=False)
    return build_view(
        reference=instance.reference,
        title=instance.title,
        tree=instance.tree.title,
        owner=instance.tree.owner.login,
        software_release=instance.release.url,
        software_type=instance.software_type,
        parameters=instance.parameters,
        sla=instance.sla,
        requested_state=instance.requested_state,
        root_requested_state=root_state(instance),
        shared=instance.shared,
        computer=partition.computer.reference if partition is not None else None,
        partition=partition.reference if partition is not None else None,
        addresses=addresses,
        host=instance.host.reference if instance.host is not None else None,
        requester=instance.requester.reference if instance.requester is not None else None,
        connection=instance.connection,
        timestamp=instance.timestamp,
        status_text=instance.status_text,
        status_at=instance.status_at,
        archived=instance.archived,
        created_at=instance.created_at,
        created=created,
    )
