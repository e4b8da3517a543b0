"""Build one node's plan (bench/fleet.py ``node_plan``) in upstream slapproxy, through its protocol.

Run with the UPSTREAM venv's python (slapos.core 1.26.1):
``python bench/proxy_fleet.py MASTER_URL PLAN.json``. It uses only the public slap library, as a
node and its users would: the node formats itself (loadComputerConfigurationFromXML), the user
supplies the releases and requests each tree root, each root's partition requests its children,
every partition publishes its connection dict, and the frontend publishes each shared instance's.
Prints one JSON line: counts and seconds.
"""

import json
import sys
import time

from slapos import slap
from slapos.util import dumps


def main():
    master_url, plan_path = sys.argv[1], sys.argv[2]
    with open(plan_path) as handle:
        plan = json.load(handle)
    started = time.perf_counter()
    computer_id = plan["reference"]
    client = slap.slap()
    client.initializeConnection(master_url)
    client.registerComputer(computer_id).updateConfiguration(dumps(plan["format"]))
    supply = client.registerSupply()
    for url in plan["releases"]:
        supply.supply(url, computer_guid=computer_id)
    order = client.registerOpenOrder()
    requests = 0
    frontend = None
    for tree in plan["trees"]:
        placed = []
        for instance in tree["instances"]:
            if instance["requester"] is None:
                answer = order.request(
                    instance["release"], instance["title"],
                    partition_parameter_kw=instance["parameters"],
                    software_type=instance["software_type"], filter_kw=instance["sla"],
                    state=tree["state"])
            else:
                parent = client.registerComputerPartition(computer_id,
                                                          placed[instance["requester"]])
                answer = parent.request(
                    instance["release"], instance["software_type"], instance["title"],
                    partition_parameter_kw=instance["parameters"], filter_kw=instance["sla"],
                    state="started")
            requests += 1
            partition = answer.getId()
            expected = "slappart%d" % instance["partition"]
            if partition != expected:
                raise SystemExit("%s went to %s, not %s" % (instance["title"], partition,
                                                           expected))
            placed.append(partition)
            if instance["kind"] == "frontend":
                frontend = partition
            client.registerComputerPartition(computer_id, partition).setConnectionDict(
                instance["connection"])
    for shared in plan["shared"]:
        order.request(shared["release"], shared["title"],
                      partition_parameter_kw=shared["parameters"],
                      software_type=shared["software_type"], filter_kw=shared["sla"],
                      shared=True)
        requests += 1
        client.registerComputerPartition(computer_id, frontend).setConnectionDict(
            shared["connection"], slave_reference="_" + shared["title"])
    json.dump({"requests": requests, "seconds": round(time.perf_counter() - started, 2)},
              sys.stdout)
    print()


if __name__ == "__main__":
    main()
