"""What a node sees of its partitions: PartitionView built in a fixed number of queries.

``partition_views`` loads, for a list of partitions, their instances, trees, roots, addresses and
hosted shared instances with one query each, so the cost of a poll grows with the partitions of
that node only, never with the fleet.
"""

from collections import defaultdict

from sqlalchemy import select

from slap_core.models import (
    InstanceTree,
    PartitionAddress,
    SoftwareInstance,
    SoftwareRelease,
)
from slap_core.views import AddressView, PartitionView

NO_DATA = "#error no data found for %s"


def effective_state(own_state, root_state):
    """A stopped root stops the started instances of its tree; destroyed is cascaded on write."""
    if root_state == "stopped" and own_state == "started":
        return "stopped"
    return own_state


def address_views(addresses):
    """AddressView tuples of PartitionAddress rows."""
    return tuple(
        AddressView(a.network_interface, a.address, a.netmask, a.gateway, a.network)
        for a in addresses
    )


def ip_lists(addresses):
    """``ip_list`` and ``full_ip_list`` as the master splits them.

    An address with a gateway and a netmask goes to ``full_ip_list`` as
    (interface, ip, gateway, netmask, network); every other one to ``ip_list`` as (interface, ip).
    """
    ip_list, full = [], []
    for a in addresses:
        if a.gateway and a.netmask:
            full.append((a.network_interface, a.address, a.gateway, a.netmask, a.network))
        else:
            ip_list.append((a.network_interface, a.address))
    return tuple(ip_list), tuple(full)


def shared_entry(shared):
    """One entry of a host's ``slave_instance_list``, merged in the master's order.

    The four fixed keys, then the shared instance's connection parameters, then its parameters:
    a parameter overrides a connection value or a fixed key of the same name.
    """
    entry = {
        "slave_title": shared.title,
        "slave_reference": shared.reference,
        "slap_software_type": shared.software_type,
        "timestamp": shared.timestamp,
    }
    entry.update(shared.connection or {})
    entry.update(shared.parameters or {})
    return entry


_INSTANCE_COLUMNS = (
    SoftwareInstance.id,
    SoftwareInstance.reference,
    SoftwareInstance.title,
    SoftwareInstance.software_type,
    SoftwareInstance.parameters,
    SoftwareInstance.connection,
    SoftwareInstance.sla,
    SoftwareInstance.requested_state,
    SoftwareInstance.status_text,
    SoftwareInstance.timestamp,
)


def partition_views(session, computer, partitions):
    """PartitionView for each of ``partitions`` (all on ``computer``), in the given order."""
    partitions = list(partitions)
    # Column rows through the Core connection: the ORM's result layer was most of a poll's cost.
    execute = session.connection().execute
    instance_ids = [p.instance_id for p in partitions if p.instance_id is not None]
    instances, roots, hosted = {}, {}, defaultdict(list)
    if instance_ids:
        rows = execute(
            select(*_INSTANCE_COLUMNS, InstanceTree.title.label("tree_title"),
                   InstanceTree.root_instance_id, SoftwareRelease.url)
            .join(InstanceTree, SoftwareInstance.tree_id == InstanceTree.id)
            .join(SoftwareRelease, SoftwareInstance.release_id == SoftwareRelease.id)
            .where(SoftwareInstance.id.in_(instance_ids))
        )
        for row in rows:
            instances[row.id] = row
        root_ids = {i.root_instance_id for i in instances.values() if i.root_instance_id}
        if root_ids:
            roots = dict(
                execute(
                    select(SoftwareInstance.id, SoftwareInstance.requested_state).where(
                        SoftwareInstance.id.in_(root_ids)
                    )
                ).all()
            )
        shared_rows = execute(
            select(*_INSTANCE_COLUMNS, SoftwareInstance.host_instance_id)
            .where(
                SoftwareInstance.host_instance_id.in_(instance_ids),
                SoftwareInstance.archived.is_(False),
                SoftwareInstance.requested_state != "destroyed",
            )
            .order_by(SoftwareInstance.id)
        )
        for shared in shared_rows:
            hosted[shared.host_instance_id].append(shared)
    addresses = defaultdict(list)
    partition_ids = [p.id for p in partitions]
    if partition_ids:
        for address in execute(
            select(PartitionAddress.partition_id, PartitionAddress.network_interface,
                   PartitionAddress.address, PartitionAddress.netmask,
                   PartitionAddress.gateway, PartitionAddress.network)
            .where(PartitionAddress.partition_id.in_(partition_ids))
            .order_by(PartitionAddress.id)
        ):
            addresses[address.partition_id].append(address)

    views = []
    for partition in partitions:
        instance = instances.get(partition.instance_id)
        own_addresses = addresses[partition.id]
        if instance is None:
            views.append(
                PartitionView(
                    computer=computer.reference,
                    reference=partition.reference,
                    state="destroyed",
                    instance=None,
                    title=None,
                    software_release=None,
                    software_type=None,
                    parameter_dict={},
                    connection_dict={},
                    filter_dict={},
                    access_status=None,
                    timestamp=None,
                    addresses=address_views(own_addresses),
                )
            )
            continue
        root_state = roots.get(instance.root_instance_id, "started")
        ip_list, full_ip_list = ip_lists(own_addresses)
        parameters = dict(instance.parameters or {})
        parameters.update(
            instance_title=instance.title,
            root_instance_title=instance.tree_title,
            root_instance_short_title=instance.tree_title,
            slap_computer_id=computer.reference,
            slap_computer_partition_id=partition.reference,
            slap_software_type=instance.software_type,
            slap_software_release_url=instance.url,
            ip_list=list(ip_list),
            full_ip_list=list(full_ip_list),
            slave_instance_list=[shared_entry(s) for s in hosted[instance.id]],
            timestamp=instance.timestamp,
        )
        views.append(
            PartitionView(
                computer=computer.reference,
                reference=partition.reference,
                state=effective_state(instance.requested_state, root_state),
                instance=instance.reference,
                title=instance.title,
                software_release=instance.url,
                software_type=instance.software_type,
                parameter_dict=parameters,
                connection_dict=dict(instance.connection or {}),
                filter_dict=dict(instance.sla or {}),
                access_status=instance.status_text or NO_DATA % instance.reference,
                timestamp=instance.timestamp,
                addresses=address_views(own_addresses),
            )
        )
    return views
