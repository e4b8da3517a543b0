"""A scenario run by the UPSTREAM slap library (slapos.core 1.26.1) against a master.

Run with the upstream venv's python: ``python upstream_slap_scenario.py MASTER_URL SR``. It prints
one JSON document of what the library observed; tests/e2e/test_slap_upstream.py checks it. It must only
use the public slap library, the way nodes, recipes and the ``slapos`` CLI use it.

The same calls run against slapgate and against upstream slapproxy: where the two masters answer
differently (an error class, a refused request) the scenario records the answer and goes on, so
the test decides which answer each master must give.
"""

import json
import sys

from slapos import slap
from slapos.util import dumps

master_url, sr = sys.argv[1], sys.argv[2]
seen = {}


def expect_error(name, function):
    """Record the class name of the exception ``function`` raises (or 'no error')."""
    try:
        function()
    except Exception as error:  # the test checks which class it was
        seen[name] = type(error).__name__
    else:
        seen[name] = "no error"


def stamp(partition_id):
    """The partition's timestamp as its node reads it (a fresh registerComputerPartition)."""
    return client.registerComputerPartition(
        "COMP-0", partition_id).getInstanceParameterDict()["timestamp"]


def changed(name, partition_id, before):
    """Record whether ``partition_id``'s timestamp moved since ``before``; return the new one."""
    now = stamp(partition_id)
    seen.setdefault("timestamp_changed", {})[name] = now != before
    return now


client = slap.slap()
client.initializeConnection(master_url)

# The node formats itself (slapos node format posts this dict).
computer = client.registerComputer("COMP-0")
computer.updateConfiguration(dumps({
    "reference": "COMP-0", "address": "127.0.0.1", "netmask": "255.0.0.0",
    "partition_list": [
        {"reference": "slappart%d" % i, "tap": {"name": "slappart%d" % i},
         "address_list": [{"addr": "127.0.1.%d" % (i + 1), "netmask": "255.0.0.0"}]}
        for i in range(4)
    ],
}))
client.registerSupply().supply(sr, computer_guid="COMP-0")
seen["software"] = [(s.getURI(), s.getState())
                    for s in client.registerComputer("COMP-0").getSoftwareReleaseList()]

# A user requests a root instance.
order = client.registerOpenOrder()
root = order.request(sr, "root", partition_parameter_kw={"name": "alice", "n": "1"},
                     filter_kw={"computer_guid": "COMP-0"}, software_type="default")
seen["root_id"] = root.getId()
seen["root_guid"] = root.getInstanceGuid()
seen["root_state"] = root.getState()
seen["root_parameters"] = root.getInstanceParameterDict()

# The node polls and sees it.
node = client.registerComputer("COMP-0")
partitions = {p.getId(): p for p in node.getComputerPartitionList()}
mine = partitions[root.getId()]
seen["poll_partitions"] = sorted(partitions)
seen["poll_state"] = mine.getState()
seen["poll_parameters"] = mine.getInstanceParameterDict()
seen["poll_type"] = mine.getType()
seen["poll_release"] = mine.getSoftwareRelease().getURI()
free = [p for p in partitions.values() if p.getId() != root.getId()][0]
seen["free_state"] = free.getState()
expect_error("free_release", free.getSoftwareRelease)

# The recipe inside the partition reads itself, publishes, requests a child.
me = client.registerComputerPartition("COMP-0", root.getId())
seen["me_parameters"] = me.getInstanceParameterDict()
me.setConnectionDict({"url": "http://root.example", "secret": "x<y&z"})
child = me.request(sr, software_type="child-type", partition_reference="child",
                   partition_parameter_kw={"k": "v"})
seen["child_id"] = child.getId()
kid = client.registerComputerPartition("COMP-0", child.getId())
seen["child_parameters"] = kid.getInstanceParameterDict()
root_stamp = stamp(root.getId())
kid.setConnectionDict({"db": "mysql://child"})
root_stamp = changed("requester_after_child_connection", root.getId(), root_stamp)
again = me.request(sr, software_type="child-type", partition_reference="child",
                   partition_parameter_kw={"k": "v"})
seen["child_again_id"] = again.getId()
seen["child_connection_seen_by_requester"] = again.getConnectionParameterDict()

# Timestamps (spec 8.6): an identical request changes nothing, the changes above and below do.
child_stamp = stamp(child.getId())
me.request(sr, software_type="child-type", partition_reference="child",
           partition_parameter_kw={"k": "v"})
changed("child_after_identical_request", child.getId(), child_stamp)

# The user reads the root's connection parameters.
seen["root_connection"] = order.request(sr, "root", partition_parameter_kw={
    "name": "alice", "n": "1"}, filter_kw={"computer_guid": "COMP-0"}).getConnectionParameterDict()
root_stamp = changed("root_after_identical_request", root.getId(), root_stamp)

# A shared instance, hosted by the root's partition, published by the host.
shared = order.request(sr, "site", shared=True, partition_parameter_kw={"domain": "a.example"},
                       software_type="default")
seen["shared_host_partition"] = shared.getId()
root_stamp = changed("host_after_shared_request", root.getId(), root_stamp)
slave_reference = client.registerComputerPartition("COMP-0", root.getId()) \
    .getInstanceParameterDict()["slave_instance_list"][0]["slave_reference"]
seen["slave_list_title"] = client.registerComputerPartition("COMP-0", root.getId()) \
    .getInstanceParameterDict()["slave_instance_list"][0]["slave_title"]
me.setConnectionDict({"site_url": "https://a.example"}, slave_reference=slave_reference)
seen["shared_connection"] = order.request(
    sr, "site", shared=True, partition_parameter_kw={"domain": "a.example"},
    software_type="default").getConnectionParameterDict()
order.request(sr, "site", shared=True, partition_parameter_kw={"domain": "a.example"},
              software_type="default", state="destroyed")
seen["slave_list_after_shared_destroy"] = client.registerComputerPartition(
    "COMP-0", root.getId()).getInstanceParameterDict()["slave_instance_list"]

# Node reports.
mine.started()
mine.stopped()
mine.error("buildout failed")
root_stamp = stamp(root.getId())
mine.bang("again")
changed("root_after_bang", root.getId(), root_stamp)
kid.rename("primary")
seen["renamed_title"] = client.registerComputerPartition("COMP-0", child.getId()) \
    .getInstanceParameterDict()["instance_title"]
computer.reportUsage(
    "<journal><transaction type='Sale Packing List'><start_date>2026-11-01</start_date>"
    "<stop_date>2026-11-02</stop_date><reference>COMP-0</reference><currency>EUR</currency>"
    "<payment_mode/><arrow type='Destination'/><movement><resource>cpu</resource>"
    "<reference>%s</reference><quantity>1.5</quantity><price>0</price><VAT/></movement>"
    "</transaction></journal>" % root.getId())
for software in client.registerComputer("COMP-0").getSoftwareReleaseList():
    software.building()
    software.available()

# The error paths of the library.
expect_error("unknown_partition", lambda: client.registerComputerPartition(
    "COMP-0", "slappart99").getState())
expect_error("unknown_computer", lambda: client.registerComputer(
    "COMP-404").getComputerPartitionList())
pending = []
expect_error("pending_request", lambda: pending.append(
    order.request(sr, "pending", filter_kw={"computer_guid": "COMP-404"})))
if pending:  # slapproxy refuses the request itself
    expect_error("pending_id", pending[0].getId)
expect_error("bad_usage", lambda: computer.reportUsage("<journal/>"))

# Destruction: stop the tree, destroy it, the node reports the partitions destroyed.
order.request(sr, "root", filter_kw={"computer_guid": "COMP-0"}, state="destroyed")
seen["root_state_after_destroy"] = client.registerComputerPartition(
    "COMP-0", root.getId()).getState()
mine.destroyed()
kid.destroyed()
mine.destroyed()
seen["partitions_after_destroy"] = sorted(
    p.getId() for p in client.registerComputer("COMP-0").getComputerPartitionList()
    if p.getState() != "destroyed")
client.registerSupply().supply(sr, computer_guid="COMP-0", state="destroyed")
seen["software_after_remove"] = [
    (s.getURI(), s.getState())
    for s in client.registerComputer("COMP-0").getSoftwareReleaseList()]
for software in client.registerComputer("COMP-0").getSoftwareReleaseList():
    software.destroyed()
seen["software_after_destroyed"] = [
    (s.getURI(), s.getState())
    for s in client.registerComputer("COMP-0").getSoftwareReleaseList()]

print(json.dumps(seen, sort_keys=True))
