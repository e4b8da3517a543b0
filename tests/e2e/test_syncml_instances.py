"""The SyncML instances store end to end: an ERP's Add deploys memcached through the local node,
and the instance's connection parameters reach the ERP on its next sync.

The ERP is the tests' own SyncML client (``tests/syncml/client.py``) posting to ``/syncml`` of a
master in this process; the node is slapgate's agent with the demo release of tests/memcached.
"""

import pytest
from twisted.internet import defer, threads
from twisted.trial import unittest

from protocols.syncml.instances import read_item
from slap_core.principals import User
from tests.e2e.test_memcached_demo import (ADDRESS, MEMCACHED_SR, free_port, set_and_get,
                                           stop_memcached)
from tests.fixtures import http_client, start_test_master
from tests.node_harness import COMPUTER
from tests.syncml.client import Answer, SyncMLClient, alert, change, map_items, sync

ITEM = """<instance xmlns="urn:slapgate:syncml:instance:1">
  <title>cache-for-erp</title><software_release>{release}</software_release>
  <state>started</state>
  <parameter name="memory-mb">16</parameter><parameter name="tcp-port">{port}</parameter>
</instance>"""
STORE = dict(store="instances", local="./erp-instances")


@pytest.mark.node
class InstancesOverSyncMLTests(unittest.TestCase):
    """An ERP keeps its instances in step with the master over SyncML."""

    timeout = 900

    @defer.inlineCallbacks
    def post(self, client, *commands):
        body = client.body(*commands)
        response = yield self.http.post(self.url, data=body, headers={
            b"Content-Type": [b"application/vnd.syncml+xml"]})
        self.assertEqual(response.code, 200)
        return Answer((yield response.content()))

    @defer.inlineCallbacks
    def test_an_add_deploys_memcached_and_its_connection_comes_back(self):
        from tests.node_agent_fixtures import AgentNode

        port = free_port(ADDRESS)
        self.addCleanup(stop_memcached, port)
        running = start_test_master(self, insecure_loopback=True)
        self.url = (running.urls()[0] + "syncml").encode()
        self.http = http_client(self)
        login, password = running.credentials
        node = AgentNode(self, running.urls()[0] + "slap/", release=MEMCACHED_SR)
        yield node.agent.format_if_needed()
        yield threads.deferToThread(running.master.call, "supply.supply",
                                    User(login, {"admin"}), url=node.sr, computer=COMPUTER)

        erp = SyncMLClient(device="erp-1", user=login, password=password)
        init = yield self.post(erp, alert(201, next_="e1", **STORE))
        self.assertEqual(init.header_status(), 212)
        answer = yield self.post(erp, sync(change(
            "Add", "erp-row-7", ITEM.format(release=node.sr, port=port),
            content_type="application/vnd.slapgate.instance+xml"), **STORE))
        self.assertEqual(answer.statuses("Add")[0][2], 201)
        (item,) = answer.items()  # the master's view of it: its reference, no connection yet
        reference = item[1]
        self.assertEqual(read_item(item[3])["parameters"], {"memory-mb": "16",
                                                            "tcp-port": str(port)})
        yield self.post(erp, map_items([], **STORE))

        for _ in range(3):
            yield node.cycle(expect=0)
            view = yield threads.deferToThread(running.master.call, "instance.get",
                                               User(login, {"admin"}), reference=reference)
            if view.connection:
                break
        self.assertEqual(view.connection, {"ip": ADDRESS, "tcp_port": str(port)})

        erp = SyncMLClient(device="erp-1", user=login, password=password, session="2")
        init = yield self.post(erp, alert(200, last="e1", next_="e2", **STORE))
        self.assertEqual(init.statuses("Alert")[0][2], 200)  # incremental: anchors agreed
        answer = yield self.post(erp, sync(**STORE))
        (item,) = answer.items()
        self.assertEqual(item[:3], ("Replace", reference, "erp-row-7"))
        self.assertIn('<connection name="tcp_port">%d</connection>' % port, item[3])
        self.assertIn('<connection name="ip">%s</connection>' % ADDRESS, item[3])
        self.assertIn("<partition>slappart0</partition>", item[3])
        before, after = yield threads.deferToThread(set_and_get, ADDRESS, port, b"erp", b"ok")
        self.assertEqual((before, after), (None, b"ok"))
