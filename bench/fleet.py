"""Fleets for the benchmarks, written straight into a fresh database with bulk inserts.

``node_plan(node, partitions)`` describes one node deterministically: its software releases, its
instance trees (a root and up to four children, each busy on one partition, with parameter and
connection dicts of the sizes real software releases use) and the shared instances its frontend
hosts. ``generate(database, nodes, partitions)`` migrates a fresh slapgate database and inserts
``nodes`` such nodes with executemany through ``slap_core.models``' tables (no operation calls);
``bench/proxy_fleet.py`` builds the same plan in upstream slapproxy through its own protocol.

Run alone: ``python -m bench.fleet DB [--nodes N] [--partitions P]``.
"""

import argparse
import json
import random
import string
import time
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from slap_core import models
from slap_core.passwords import hash_password
from slap_core.storage import Storage

RELEASES = {
    "kvm": "https://slapos.example.invalid/software/kvm/1.0.380/software.cfg",
    "erp5": "https://slapos.example.invalid/software/erp5/1.0.380/software.cfg",
    "theia": "https://slapos.example.invalid/software/theia/1.0.380/software.cfg",
    "monitor": "https://slapos.example.invalid/software/monitor/1.0.380/software.cfg",
    "frontend": "https://slapos.example.invalid/software/rapid-cdn/1.0.380/software.cfg",
}
CHILD_TYPES = {
    "kvm": ["kvm-partition", "kvm-resilient-pbs", "kvm-export"],
    "erp5": ["zope", "mariadb", "balancer", "kumofs", "zeo"],
    "theia": ["theia-backup", "theia-import"],
    "monitor": ["monitor-edgetest"],
}
OWNER_ID = 1          # the ``admin`` person: every tree belongs to it
SHARED_PER_NODE = 10  # shared instances hosted by each node's frontend
BUSY_RATIO = 0.9      # share of partitions holding an instance


def node_reference(node):
    """The reference of node number ``node``."""
    return "COMP-%d" % node


def _word(rng, length):
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(length))


def _parameters(rng, kind, node, title):
    """A parameter dict as users send them: flat keys (kvm, theia) or one JSON ``_`` (erp5)."""
    if kind == "erp5":
        document = {
            "site-id": "erp5",
            "zope-partition-dict": {
                family: {"family": family, "instance-count": rng.randint(1, 4),
                         "thread-amount": 4, "timerserver-interval": 1,
                         "port-base": 2200 + 100 * i}
                for i, family in enumerate(("default", "activities", "web"))
            },
            "mariadb": {"test-database-amount": 0, "innodb-buffer-pool-size": "1G",
                        "relaxed-writes": False, "slowest-query-threshold": 5},
            "kumofs": {"ram-storage-size": 256},
            "wendelin-core-zblk-fmt": "",
            "cloudooo-url-list": ["https://cloudooo%d.example.invalid/" % i for i in range(3)],
            "timezone": "Europe/Paris",
            "shared-certificate-authority-path": "~/srv/ssl",
            "inituser-login": "zope", "inituser-password": _word(rng, 16),
        }
        return {"_": json.dumps(document, sort_keys=True)}
    parameters = {
        "ram-size": str(rng.choice((1024, 2048, 4096, 8192))),
        "cpu-count": str(rng.randint(1, 8)),
        "disk-size": str(rng.choice((20, 40, 80, 160))),
        "disk-type": rng.choice(("virtio", "ide")),
        "nbd-host": "",
        "virtual-hard-drive-url": "https://images.example.invalid/%s.qcow2" % _word(rng, 12),
        "virtual-hard-drive-md5sum": _word(rng, 32),
        "enable-device-hotplug": "false",
        "frontend-instance-guid": "SOFTINST-%d" % rng.randint(1, 99999),
        "monitor-httpd-port": str(8196 + rng.randint(0, 100)),
        "title": "%s on %s" % (title, node_reference(node)),
        "keyboard-layout-language": "fr",
    }
    if kind != "kvm":
        parameters = {key: value for key, value in list(parameters.items())[:6]}
        parameters["additional-frontend-name"] = "%s-%s" % (kind, _word(rng, 6))
    return parameters


def _connection(rng, title, address):
    """A connection dict as instances publish them: URLs, credentials, monitoring setup."""
    password = _word(rng, 16)
    return {
        "url": "https://[%s]:8443/%s/" % (address, title),
        "backend-url": "https://[%s]:2152/" % address,
        "username": "admin",
        "password": password,
        "monitor-base-url": "https://[%s]:8196" % address,
        "monitor-setup-url": "https://monitor.example.invalid/#page=settings_configurator&url="
                             "https://[%s]:8196/public/feeds&username=admin&password=%s"
                             % (address, password),
        "ipv6": address,
    }


def node_plan(node, partitions=100, busy_ratio=BUSY_RATIO, shared=SHARED_PER_NODE):
    """One node's deterministic plan (JSON-able): releases, trees of instances, shared instances.

    Partition ``slappart<i>`` gets the i-th regular instance in request order (roots before
    their children), as both masters allocate the first free partition of an empty node.
    """
    rng = random.Random(node)
    busy = int(round(partitions * busy_ratio))
    trees, shared_list = [], []
    prefix = "n%d" % node
    count = 0
    if busy:
        trees.append({"title": "%s-frontend" % prefix, "state": "started", "instances": [{
            "title": "%s-frontend" % prefix, "kind": "frontend", "release": RELEASES["frontend"],
            "software_type": "default", "parameters": {"domain": "%s.example.invalid" % prefix},
            "requester": None, "partition": count}]})
        count += 1
    while count < busy:
        kind = rng.choice(("kvm", "kvm", "erp5", "theia", "monitor"))
        size = min(rng.randint(1, 5), busy - count)
        title = "%s-%s-%d" % (prefix, kind, len(trees))
        state = "stopped" if rng.random() < 0.05 else "started"
        instances = []
        for position in range(size):
            software_type = "default" if position == 0 else rng.choice(CHILD_TYPES[kind])
            own_title = title if position == 0 else "%s-%s-%d" % (title, software_type, position)
            instances.append({
                "title": own_title, "kind": kind, "release": RELEASES[kind],
                "software_type": software_type,
                "parameters": _parameters(rng, kind, node, own_title),
                "requester": None if position == 0 else 0, "partition": count})
            count += 1
        trees.append({"title": title, "state": state, "instances": instances})
    for tree in trees:
        for instance in tree["instances"]:
            address = "2001:db8:%x::%x" % (node, instance["partition"] + 1)
            instance["connection"] = _connection(rng, instance["title"], address)
            instance["sla"] = {"computer_guid": node_reference(node)} \
                if instance["requester"] is None else {}
    if trees:
        for number in range(shared):
            title = "%s-site-%d" % (prefix, number)
            shared_list.append({
                "title": title, "release": RELEASES["frontend"], "software_type": "default",
                "parameters": {"url": "https://[2001:db8:%x::%x]:8443/" % (node, number + 2),
                               "custom_domain": "%s.example.invalid" % title,
                               "https-only": "true", "enable_cache": "true",
                               "type": "zope"},
                "connection": {"secure_access": "https://%s.example.invalid" % title,
                               "domain": "%s.example.invalid" % title,
                               "replication_number": "1"},
                "sla": {"computer_guid": node_reference(node)},
            })
    return {
        "reference": node_reference(node),
        "releases": list(RELEASES.values()),
        "format": format_dict(node, partitions),
        "trees": trees,
        "shared": shared_list,
    }


def format_dict(node, partitions):
    """What ``slapos node format`` posts for the node: one IPv4 and one IPv6 per partition."""
    return {
        "reference": node_reference(node),
        "address": "10.%d.%d.1" % (node // 256, node % 256),
        "netmask": "255.255.0.0",
        "partition_list": [
            {
                "reference": "slappart%d" % i,
                "tap": {"name": "slaptap%d" % i},
                "address_list": [
                    {"addr": "10.%d.%d.%d" % (node // 256, node % 256, i + 2),
                     "netmask": "255.255.0.0"},
                    {"addr": "2001:db8:%x::%x" % (node, i + 1), "netmask": "ffff:ffff:ffff::"},
                ],
                "capability_list": [],
            }
            for i in range(partitions)
        ],
    }


class _Rows:
    """Rows to insert, by table, with their ids handed out in order."""

    def __init__(self):
        self.rows = {}
        self.ids = {}

    def add(self, table, **values):
        number = self.ids.get(table, 0) + 1
        self.ids[table] = number
        values.setdefault("id", number)
        self.rows.setdefault(table, []).append(values)
        return values["id"]


def _add_node(rows, node, partitions, release_ids, clock):
    plan = node_plan(node, partitions)
    configuration = plan["format"]
    computer_id = rows.add(
        "computer", reference=plan["reference"], title=plan["reference"], owner_id=OWNER_ID,
        allocation_scope="open", network_guid=None, project_guid=None, attributes={},
        address=configuration["address"], netmask=configuration["netmask"],
        configuration={"address": configuration["address"], "netmask": configuration["netmask"]},
        status_text="#access computer formatted with %d partitions" % partitions,
        status_at=clock, created_at=clock)
    partition_rows = []
    for entry in configuration["partition_list"]:
        partition_id = rows.add(
            "partition", computer_id=computer_id, reference=entry["reference"], slap_state="free",
            instance_id=None, capabilities="",
            resource={"tap": entry["tap"], "capability_list": []})
        partition_rows.append(rows.rows["partition"][-1])
        for address in entry["address_list"]:
            rows.add("partition_address", partition_id=partition_id,
                     network_interface=entry["tap"]["name"], address=address["addr"],
                     netmask=address["netmask"], gateway="", network="")
    for url in plan["releases"]:
        rows.add("supply", computer_id=computer_id, release_id=release_ids[url],
                 desired_state="available", reported_state="available", error_text=None,
                 reported_at=clock, updated_at=clock)
    frontend = None
    for tree in plan["trees"]:
        tree_id = rows.ids.get("instance_tree", 0) + 1
        root_id = None
        for instance in tree["instances"]:
            stamp = next(_STAMPS)
            instance_id = rows.add(
                "software_instance", title=instance["title"],
                request_scope="P%d" % OWNER_ID if root_id is None else "T%d" % tree_id,
                tree_id=tree_id, requester_instance_id=root_id,
                release_id=release_ids[instance["release"]],
                software_type=instance["software_type"], parameters=instance["parameters"],
                sla=instance["sla"], requested_state=tree["state"] if root_id is None
                else "started", shared=False, host_instance_id=None,
                connection=instance["connection"], timestamp=stamp,
                status_text="#access Instance correctly started", status_at=clock,
                archived=False, created_at=clock)
            rows.rows["software_instance"][-1]["reference"] = "SOFTINST-%d" % instance_id
            if root_id is None:
                root_id = instance_id
                rows.add("instance_tree", owner_id=OWNER_ID, title=tree["title"],
                         root_instance_id=root_id, archived=False, created_at=clock)
            if instance["kind"] == "frontend":
                frontend = instance_id
            partition_rows[instance["partition"]].update(slap_state="busy", instance_id=instance_id)
    for shared in plan["shared"]:
        tree_id = rows.ids.get("instance_tree", 0) + 1
        instance_id = rows.add(
            "software_instance", title=shared["title"], request_scope="P%d" % OWNER_ID,
            tree_id=tree_id, requester_instance_id=None, release_id=release_ids[shared["release"]],
            software_type=shared["software_type"], parameters=shared["parameters"],
            sla=shared["sla"], requested_state="started", shared=True, host_instance_id=frontend,
            connection=shared["connection"], timestamp=next(_STAMPS),
            status_text="#access shared instance ready", status_at=clock, archived=False,
            created_at=clock)
        rows.rows["software_instance"][-1]["reference"] = "SOFTINST-%d" % instance_id
        rows.add("instance_tree", owner_id=OWNER_ID, title=shared["title"],
                 root_instance_id=instance_id, archived=False, created_at=clock)


def _stamps():
    stamp = time.time_ns() // 1000
    while True:
        stamp += 1
        yield stamp


_STAMPS = _stamps()
ORDER = ("person", "software_release", "computer", "partition", "partition_address", "supply",
         "instance_tree", "software_instance")
BATCH = 5000


def generate(database, nodes=100, partitions=100, admin_password=None, chunk=250):
    """Create a fresh, migrated slapgate database at ``database`` holding the fleet.

    ``database`` is an SQLite file (which must not exist) or a ``postgresql+psycopg://`` URL of
    an empty database. Nodes are generated and written ``chunk`` at a time (memory stays flat at
    10,000 nodes): executemany on SQLite, COPY on PostgreSQL. ``admin_password`` gives the
    ``admin`` person (the owner of everything) a password, for the adaptors that log in with
    HTTP Basic. Returns counts of the rows inserted by table and the seconds taken (migration
    excluded).
    """
    postgres = str(database).startswith("postgresql")
    if not postgres:
        path = Path(database)
        if path.exists():
            raise FileExistsError("%s exists: the fleet goes into a fresh database" % path)
        url = "sqlite:///" + str(path.absolute())
    else:
        url = str(database)
    storage = Storage(url)
    storage.upgrade()
    storage.dispose()
    started = time.perf_counter()
    clock = time.time()
    rows = _Rows()
    rows.add("person", login="admin",
             password_hash=hash_password(admin_password) if admin_password else None,
             full_name="", email="", roles=["admin"], created_at=clock)
    release_ids = {url: rows.add("software_release", url=url, product_id=None, version="",
                                 created_at=clock) for url in RELEASES.values()}
    counts = dict.fromkeys(ORDER + ("busy_partition", "shared_instance"), 0)
    # A plain engine: no slapgate hooks; foreign keys are not checked while loading (the rows
    # point at each other: partitions and trees at instances, instances at trees), on SQLite they
    # are checked once at the end.
    engine = create_engine(url)
    with engine.begin() as connection:
        if postgres:
            connection.exec_driver_sql("SET session_replication_role = replica")
        else:
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
        for first in range(0, max(nodes, 1), chunk):
            for node in range(first, min(first + chunk, nodes)):
                _add_node(rows, node, partitions, release_ids, clock)
            _count(counts, rows)
            (_copy if postgres else _insert)(connection, rows)
            rows.rows = {}
        if postgres:
            for name in ORDER:
                connection.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('%s', 'id'), "
                    "(SELECT coalesce(max(id), 0) + 1 FROM %s), false)" % (name, name))
    if postgres:
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        problems = []
    else:
        with engine.connect() as connection:
            problems = connection.execute(text("PRAGMA foreign_key_check")).all()
    engine.dispose()
    if problems:
        raise AssertionError("fleet breaks foreign keys: %r" % problems[:5])
    return counts, time.perf_counter() - started


def count_rows(database):
    """The counts ``generate`` returns, read back from an SQLite fleet (it may have changed)."""
    import sqlite3

    with sqlite3.connect(database) as connection:
        counts = {name: connection.execute('SELECT count(*) FROM "%s"' % name).fetchone()[0]
                  for name in ORDER}
        counts["busy_partition"] = connection.execute(
            "SELECT count(*) FROM partition WHERE instance_id IS NOT NULL").fetchone()[0]
        counts["shared_instance"] = connection.execute(
            "SELECT count(*) FROM software_instance WHERE shared").fetchone()[0]
    return counts


def _count(counts, rows):
    for name in ORDER:
        counts[name] += len(rows.rows.get(name, []))
    counts["busy_partition"] += sum(1 for p in rows.rows.get("partition", ()) if p["instance_id"])
    counts["shared_instance"] += sum(1 for i in rows.rows.get("software_instance", ())
                                     if i["shared"])


def _insert(connection, rows):
    tables = models.Base.metadata.tables
    for name in ORDER:
        batch = rows.rows.get(name, [])
        for start in range(0, len(batch), BATCH):
            connection.execute(insert(tables[name]), batch[start:start + BATCH])


def _copy(connection, rows):
    """COPY each table's rows through psycopg (JSON columns as JSON text)."""
    cursor = connection.connection.driver_connection.cursor()
    for name in ORDER:
        batch = rows.rows.get(name, [])
        if not batch:
            continue
        columns = list(batch[0])
        with cursor.copy('COPY "%s" (%s) FROM STDIN' % (
                name, ", ".join('"%s"' % c for c in columns))) as copy:
            for row in batch:
                copy.write_row([json.dumps(v) if isinstance(v, (dict, list)) else v
                                for v in (row[c] for c in columns)])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", help="SQLite file to create")
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=100)
    parser.add_argument("--plan", type=int, metavar="NODE",
                        help="print NODE's plan as JSON instead of writing a database")
    args = parser.parse_args(argv)
    if args.plan is not None:
        print(json.dumps(node_plan(args.plan, args.partitions), indent=1))
        return 0
    counts, seconds = generate(args.database, args.nodes, args.partitions)
    print("fleet: %s in %.1f s" % (", ".join("%d %s" % (n, t) for t, n in counts.items()),
                                   seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
