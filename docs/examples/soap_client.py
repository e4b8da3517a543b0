"""Talking to slapgate over SOAP with zeep.

Usage: python soap_client.py http://127.0.0.1:8080/soap?wsdl LOGIN PASSWORD
"""

import sys

import requests
import zeep
from zeep.transports import Transport

wsdl, login, password = sys.argv[1:4]
session = requests.Session()
session.auth = (login, password)  # HTTP Basic, sent with every call
master = zeep.Client(wsdl, transport=Transport(session=session)).service

print(master.personMe().login)

# Register a node with two partitions, install a release there, request an instance.
release = "https://example.org/demo/software.cfg"
master.computerCreate(reference="COMP-DEMO", title="demo node")
master.computerFormat(reference="COMP-DEMO", configuration={"partition": [
    {"reference": "slappart%d" % i, "address": [{"addr": "10.0.0.%d" % (i + 1)}]}
    for i in range(2)]})
master.supplySupply(url=release, computer="COMP-DEMO")
instance = master.instanceRequest(
    title="demo", software_release=release,
    parameters={"entry": [{"key": "greeting", "value": "hello"}]})
print(instance.reference, instance.state, instance.partition)

# The node publishes connection parameters (an admin may, until nodes have certificates);
# the requester reads them back by requesting again.
master.instanceSetConnection(computer="COMP-DEMO", partition=instance.partition,
                             connection={"entry": [{"key": "url",
                                                    "value": "http://demo.example"}]})
again = master.instanceRequest(title="demo", software_release=release)
print(*("%s=%s" % (e.key, e.value) for e in again.connection.entry))

# Errors are SOAP faults; the detail carries slapgate's error code.
try:
    master.computerGet(reference="COMP-NOWHERE")
except zeep.exceptions.Fault as fault:
    code = fault.detail.find(".//{urn:slapgate:soap}code").text
    print(fault.code.split(":")[-1], code)

master.instanceDestroy(reference=instance.reference)
