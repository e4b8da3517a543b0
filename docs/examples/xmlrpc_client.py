"""Talking to slapgate over XML-RPC with nothing but the standard library.

Usage: python xmlrpc_client.py http://admin:PASSWORD@127.0.0.1:8080/xmlrpc
"""

import sys
import xmlrpc.client

master = xmlrpc.client.ServerProxy(sys.argv[1])

print(master.person.me()["login"])
print(len(master.system.listMethods()), "methods")

# Register a node with two partitions, install a release there, request an instance.
master.computer.create({"reference": "COMP-DEMO"})
master.computer.format({"reference": "COMP-DEMO", "configuration": {
    "reference": "COMP-DEMO",
    "partition_list": [{"reference": "slappart%d" % i,
                        "address_list": [{"addr": "10.0.0.%d" % (i + 1)}]} for i in range(2)],
}})
master.supply.supply({"url": "https://example.org/demo/software.cfg", "computer": "COMP-DEMO"})
instance = master.instance.request({"title": "demo",
                                    "software_release": "https://example.org/demo/software.cfg",
                                    "parameters": {"greeting": "hello"}})
print(instance["reference"], instance["state"], instance["partition"])

# Several calls in one round trip; a failing one answers a fault struct in its place.
answers = master.system.multicall([
    {"methodName": "instance.get", "params": [{"reference": instance["reference"]}]},
    {"methodName": "computer.get", "params": [{"reference": "COMP-NOWHERE"}]},
])
print(answers[0][0]["title"], answers[1]["faultCode"])

try:
    master.instance.request({"title": "", "software_release": "x"})
except xmlrpc.client.Fault as fault:
    print("fault", fault.faultCode)
