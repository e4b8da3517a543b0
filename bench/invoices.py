"""The ``invoice`` part of ``make bench``: one month's invoices for a large database.

``generate(database, persons, trees, records)`` writes a fresh, migrated SQLite database with
bulk inserts (no operation calls): ``persons`` people, ``trees`` instance trees spread over them
(each with its root instance and its subscription, some opened or closed within the month), a
price list in force since 2020 pricing four usage resources (a fifth, ``gpu_time``, has no
price), 100 computers posting one journal a day, and ``records`` usage records of November 2026
spread over the trees and days. ``run(database)`` then issues November's invoices
(``invoice.generate`` in a fresh process, the clock set after the month) and reports the wall
time, the invoices issued and the process' peak memory; ``reference(database)`` is the least any
invoicing must read: one SQL GROUP BY summing the month's usage per person and resource, and
one over the subscriptions.

Run alone: ``python -m bench.invoices DB --persons N --trees N --records N``.
"""

import argparse
import json
import random
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, insert

from slap_core import models
from slap_core.billing import period
from slap_core.storage import Storage

BILLED = period(2026, 11)
PAST = 1577836800.0  # 2020-01-01T00:00Z: the price list's date
COMPUTERS = 100
DAYS = 30
RESOURCES = (("cpu_time", "s", "0.0001"), ("memory", "MB", "0.00001"), ("disk", "GB", "0.001"),
             ("network_traffic", "MB", "0.0005"))
UNPRICED = "gpu_time"
CHUNK = 50000


def _insert(connection, model, rows):
    if rows:
        connection.execute(insert(model.__table__), rows)


def generate(database, persons=10000, trees=100000, records=1000000):
    """Write the database; returns (row counts, seconds taken, migration excluded)."""
    path = Path(database)
    if path.exists():
        raise FileExistsError("%s exists: the data goes into a fresh database" % path)
    url = "sqlite:///" + str(path.absolute())
    storage = Storage(url)
    storage.upgrade()
    storage.dispose()
    started = time.perf_counter()
    rng = random.Random(14)
    engine = create_engine(url)
    start, seconds = BILLED.start, BILLED.seconds
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA synchronous=OFF")
        _insert(connection, models.Person, [{"id": 1, "login": "admin", "roles": ["admin"]}] + [
            {"id": i + 2, "login": "person-%d" % i, "full_name": "Person %d" % i,
             "roles": ["user"]} for i in range(persons)])
        price_list = {"id": 1, "currency": "EUR", "vat_rate": "20", "effective_from": PAST}
        _insert(connection, models.PriceList, [price_list])
        _insert(connection, models.SubscriptionPrice,
                [{"price_list_id": 1, "shared": False, "monthly": "10.00"}])
        _insert(connection, models.UsagePrice, [
            {"price_list_id": 1, "resource": name, "unit": unit, "unit_price": price}
            for name, unit, price in RESOURCES])
        _insert(connection, models.SoftwareRelease,
                [{"id": 1, "url": "https://slapos.example.invalid/kvm/software.cfg"}])
        _insert(connection, models.Computer, [
            {"id": c + 1, "reference": "COMP-%d" % c, "owner_id": 1} for c in range(COMPUTERS)])
        _insert(connection, models.UsageReport, [
            {"id": c * DAYS + day + 1, "computer_id": c + 1, "document": "<journal/>",
             "received_at": start + (day + 1) * 86400, "record_count": 0}
            for c in range(COMPUTERS) for day in range(DAYS)])
        owners = [2 + t % persons for t in range(trees)]
        for first in range(0, trees, CHUNK):
            chunk = range(first, min(first + CHUNK, trees))
            _insert(connection, models.InstanceTree, [
                {"id": t + 1, "owner_id": owners[t], "title": "tree-%d" % t,
                 "created_at": PAST} for t in chunk])
            _insert(connection, models.SoftwareInstance, [
                {"id": t + 1, "reference": "SOFTINST-%d" % (t + 1), "title": "tree-%d" % t,
                 "request_scope": "P%d" % owners[t], "tree_id": t + 1, "release_id": 1}
                for t in chunk])
            subscriptions = []
            for t in chunk:
                opened = start + rng.randrange(seconds) if rng.random() < 0.3 else PAST
                from_ = max(opened, start)
                closed = from_ + rng.randrange(int(start + seconds - from_)) \
                    if rng.random() < 0.1 else None
                subscriptions.append({"tree_id": t + 1, "person_id": owners[t],
                                      "price_list_id": 1, "currency": "EUR",
                                      "monthly": "10.00", "start_at": opened,
                                      "stop_at": closed})
            _insert(connection, models.Subscription, subscriptions)
        connection.exec_driver_sql("UPDATE instance_tree SET root_instance_id = id")
        for first in range(0, records, CHUNK):
            rows = []
            for _ in range(first, min(first + CHUNK, records)):
                t, day = rng.randrange(trees), rng.randrange(DAYS)
                computer = t % COMPUTERS
                name = UNPRICED if rng.random() < 0.001 else rng.choice(RESOURCES)[0]
                rows.append({
                    "report_id": computer * DAYS + day + 1, "computer_id": computer + 1,
                    "partition_reference": "slappart%d" % (t % 100), "instance_id": t + 1,
                    "person_id": owners[t], "resource": name, "title": name,
                    "quantity": round(rng.uniform(0, 1000), 3), "price": 0.0,
                    "category": "", "start_date": "2026-11-%02d" % (day + 1),
                    "stop_date": "2026-11-%02d" % (day + 1), "on_computer": False,
                    "stop_at": start + day * 86400})
            _insert(connection, models.UsageRecord, rows)
    engine.dispose()
    counts = {"persons": persons, "trees": trees, "records": records}
    return counts, time.perf_counter() - started


def _in_process_run(database):
    """Issue November's invoices in this process; the figures as a dict."""
    from unittest import mock

    from slap_core.master import Master
    from slap_core.principals import User

    master = Master(str(database))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with mock.patch("slap_core.invoices.now", return_value=BILLED.end + 86400):
        run = master.call("invoice.generate", User("admin", {"admin"}), period=BILLED.name)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    master.close()
    return {"seconds": elapsed, "issued": len(run.issued), "unpriced": list(run.unpriced),
            "rss_before_mb": before / 1024, "rss_peak_mb": peak / 1024}


def run(database):
    """Issue November's invoices in a fresh process; its figures."""
    output = subprocess.run([sys.executable, "-m", "bench.invoices", str(database), "--run"],
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def reference(database):
    """Seconds of the plain SQL sums any invoicing must at least read."""
    started = time.perf_counter()
    with sqlite3.connect(database) as connection:
        usage = connection.execute(
            "SELECT person_id, resource, sum(quantity) FROM usage_record "
            "WHERE stop_at >= ? AND stop_at < ? GROUP BY person_id, resource",
            (BILLED.start, BILLED.end)).fetchall()
        subscriptions = connection.execute(
            "SELECT person_id, count(*) FROM subscription WHERE start_at < ? "
            "AND (stop_at IS NULL OR stop_at > ?) GROUP BY person_id",
            (BILLED.end, BILLED.start)).fetchall()
    return time.perf_counter() - started, len(usage), len(subscriptions)


def measure(work, persons, trees, records):
    """The part's section (lines) and figures: the data written at a tenth and at full size,
    each month invoiced beside the reference sums."""
    lines = [
        "## Invoices: one month for %d persons, %d trees, %d usage records (SQLite)"
        % (persons, trees, records), "",
        "A fresh database written with bulk inserts (bench/invoices.py), then `invoice.generate`"
        " for November 2026 in a fresh process; the reference is one SQL GROUP BY summing the"
        " month's usage per person and resource plus one over the subscriptions (the least any"
        " invoicing reads). Peak memory is the invoicing process' maximum resident size.", "",
        "| persons | trees | usage records | written in | reference | invoices issued | invoice"
        " run | ratio | peak memory |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    figures = {}
    for scale in (10, 1):
        size = (max(1, persons // scale), max(1, trees // scale), max(1, records // scale))
        database = Path(work) / ("invoices-%d.sqlite" % size[2])
        _, written = generate(database, *size)
        reference_seconds = reference(database)[0]
        ran = run(database)
        figures[size] = dict(ran, written=written, reference=reference_seconds)
        lines.append("| %d | %d | %d | %.1f s | %.2f s | %d | %.1f s | %.1fx | %.0f MB |" % (
            size + (written, reference_seconds, ran["issued"], ran["seconds"],
                    ran["seconds"] / reference_seconds, ran["rss_peak_mb"])))
        print("bench: invoices %s: %.1f s" % (size, ran["seconds"]), flush=True)
    full = figures[(persons, trees, records)]
    lines += ["", "- one month's invoices in <= 60 s at this size: **%s** (%.1f s)" % (
        "met" if full["seconds"] <= 60 else "not met", full["seconds"])]
    return lines, figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database")
    parser.add_argument("--persons", type=int, default=10000)
    parser.add_argument("--trees", type=int, default=100000)
    parser.add_argument("--records", type=int, default=1000000)
    parser.add_argument("--run", action="store_true",
                        help="issue November's invoices in this process (the database exists)")
    args = parser.parse_args(argv)
    if args.run:
        print(json.dumps(_in_process_run(args.database)))
        return 0
    counts, seconds = generate(args.database, args.persons, args.trees, args.records)
    print("written %s in %.1f s" % (counts, seconds))
    print("reference: %.2f s" % reference(args.database)[0])
    print(json.dumps(run(args.database)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
