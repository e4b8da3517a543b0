"""slap_core views as the ``slapos.slap.slap`` objects the SLAP wire carries (spec section 3.2).

The attribute sets are those the SlapOS master's SlapTool sends, so the upstream client library
finds exactly what it reads: ``_computer_id``, ``_software_release_list`` and
``_computer_partition_list`` on a Computer; ``_requested_state``, ``_need_modification``,
``_software_release_document`` and, on busy partitions, ``_access_status``, ``_parameter_dict``,
``_connection_dict``, ``_filter_dict`` and ``_instance_guid`` on a ComputerPartition.
"""

from protocols.slap_wire.marshal import SlapObject


def software_release(url, computer, requested_state=None):
    """A SoftwareRelease(url, computer) object, with its requested state when given."""
    attributes = {
        "_software_instance_list": [],
        "_software_release": url,
        "_computer_guid": computer,
    }
    if requested_state is not None:
        attributes["_requested_state"] = requested_state
    return SlapObject("SoftwareRelease", (url, computer), attributes)


def computer_partition(view, synced=False):
    """The ComputerPartition object of a PartitionView (a poll entry or registerComputerPartition)."""
    attributes = {
        "_computer_id": view.computer,
        "_partition_id": view.reference,
        "_request_dict": None,
        "_requested_state": view.state,
        "_need_modification": 1 if view.instance else 0,
    }
    if view.instance is None:
        attributes["_software_release_document"] = None
        return SlapObject("ComputerPartition", (view.computer, view.reference, None), attributes)
    attributes.update(
        _access_status=view.access_status,
        _parameter_dict=_wire_parameters(view.parameter_dict),
        _connection_dict=dict(view.connection_dict),
        _filter_dict=dict(view.filter_dict),
        _instance_guid=view.instance,
        _software_release_document=software_release(view.software_release, view.computer),
    )
    if synced:
        attributes["_synced"] = True
    return SlapObject("ComputerPartition", (view.computer, view.reference, None), attributes)


def computer(information):
    """The Computer object of a ComputerInformation (getFullComputerInformation)."""
    return SlapObject(
        "Computer",
        (information.reference,),
        {
            "_computer_id": information.reference,
            "_computer_partition_list": [computer_partition(p) for p in information.partitions],
            "_software_release_list": [
                software_release(s.url, information.reference, s.state)
                for s in information.software
            ],
        },
    )


def bare_computer(reference):
    """A Computer object carrying only its reference (requestComputer's answer)."""
    return SlapObject("Computer", (reference,), {"_computer_id": reference})


def software_instance(view):
    """The SoftwareInstance object answering requestComputerPartition, from an InstanceView.

    As the master: the reserved keys are attributes and ``_parameter_dict`` holds the instance's
    own parameters; ``slap_computer_id``/``slap_computer_partition_id`` locate it (its host's
    partition for a shared instance). ``slave_instance_list`` is left empty: a requester has no use
    for the shared instances its instance hosts.
    """
    return SlapObject(
        "SoftwareInstance",
        (),
        {
            "_parameter_dict": dict(view.parameters),
            "_connection_dict": dict(view.connection),
            "_filter_dict": dict(view.sla),
            "_requested_state": view.state,
            "_instance_guid": view.reference,
            "instance_title": view.title,
            "root_instance_title": view.tree,
            "root_instance_short_title": view.tree,
            "slap_computer_id": view.computer,
            "slap_computer_partition_id": view.partition,
            "slap_software_type": view.software_type,
            "slap_software_release_url": view.software_release,
            "slave_instance_list": [],
            "ip_list": list(view.ip_list),
            "full_ip_list": list(view.full_ip_list),
            "timestamp": view.timestamp,
        },
    )


def _wire_list(entries):
    return [dict(entry) for entry in entries]


def _wire_parameters(parameters):
    """A copy of the parameter dict whose lists are fresh (the marshaller numbers each one)."""
    result = dict(parameters)
    for key in ("ip_list", "full_ip_list"):
        if key in result:
            result[key] = list(result[key])
    if "slave_instance_list" in result:
        result["slave_instance_list"] = _wire_list(result["slave_instance_list"])
    return result
