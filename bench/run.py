"""``make bench``: slapgate against upstream slapproxy and bare twisted.web, side by side.

In one invocation, on 127.0.0.1 only, with wrk as a separate load-generating process at a fixed
number of concurrent connections, each part selectable with ``--parts``:

- ``poll``: a fleet (``--nodes`` x ``--partitions``) written straight into SQLite
  (bench/fleet.py), the middle node's plan built in slapproxy through the slap library
  (bench/proxy_fleet.py), both polls checked with the upstream library, a bare twisted.web
  serving slapgate's bytes (bench/bare_twisted.py); the same node polled again and again (so
  slapgate answers from its poll cache), then a py-spy profile of slapgate under load;
- ``read``: ``instance.get`` over SLAP, XML-RPC and SOAP (bench/adaptor_reads.py);
- ``growth``: the uncached poll on 1, 100, 1,000 nodes (SQLite) and 10,000 nodes (1M partitions,
  PostgreSQL), every node polled in turn (bench/growth.py);
- ``request``: SLAP requestComputerPartition that allocates, on the 1,000-node fleet (100k
  instances) and on slapproxy (bench/instance_requests.py);
- ``node``: slapgate's node agent against upstream ``slapos node`` deploying the memcached demo:
  request to all promises green, the no-change cycle, change to action (bench/node_agents.py);
- ``invoice``: one month's invoices for 10,000 persons, 100,000 trees and 1,000,000 usage
  records on SQLite, beside the plain SQL sums of the same month (bench/invoices.py).

It prints each table with its ratios and writes them, with the command, the machine and where
each issue 8 target stands, to ``docs/performance.md``. Every process it started is stopped at
the end (SIGTERM to its process group, then SIGKILL).
"""

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import adaptor_reads, fleet, growth, instance_requests, invoices, node_agents
from bench.harness import (BENCH, HOST, ROOT, UPSTREAM, BenchError, Run, Server, fetch,
                           free_port, run_wrk, slapgate_master, upstream_env)

BENCH_PASSWORD = "bench-admin-password"  # the fleet's admin, for the HTTP Basic adaptors
SERVERS = ("bare twisted.web", "slapproxy", "slapgate")

CHECK_POLL = r"""
import json, sys
from slapos.util import loads
result = {}
for path in sys.argv[1:]:
    computer = loads(open(path, "rb").read())
    partitions = computer._computer_partition_list
    result[path] = {
        "class": type(computer).__name__,
        "partitions": len(partitions),
        "busy": sum(1 for p in partitions if p._need_modification),
        "shared": sum(len(p._parameter_dict.get("slave_instance_list") or [])
                      for p in partitions if p._need_modification),
        "software": len(computer._software_release_list),
    }
json.dump(result, sys.stdout)
"""


PROFILE_GROUPS = (  # (label, substrings of a collapsed stack that put a sample in the group)
    ("the poll's core operation (Master.call, in the thread pool)", ("Storage.run",)),
    ("  of which ORM rows -> objects", ("orm/loading.py", "orm/state.py")),
    ("  of which JSON columns decoded", ("json/decoder.py",)),
    ("  of which SQLite execute/fetch", ("DefaultDialect.do_execute", "fetchall")),
    ("  of which partition_views (its queries, rows and views)", ("partition_views (slap_core",)),
    ("marshal XML of the answer (thread pool)", ("dumps (protocols/slap_wire/marshal",)),
    ("twisted.web/TCP and request logging", ("twisted/internet/tcp", "twisted/logger",
                                             "twisted/web/http")),
)


def profile(pid, url, connections, seconds, work, log):
    """Sample ``pid`` with py-spy (--gil: only the thread running Python) under wrk; lines."""
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not os.access(pyspy, os.X_OK):
        return ["py-spy not installed (`.venv/bin/pip install py-spy`): no profile"]
    raw = work / "profile.raw"
    sampler = subprocess.Popen([pyspy, "record", "-p", str(pid), "-d", str(seconds + 1), "-r",
                                "200", "--gil", "--nonblocking", "-f", "raw", "-o", str(raw)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        run_wrk(url, connections, seconds, log)
        sampler.wait(seconds + 30)
    except subprocess.TimeoutExpired:
        sampler.kill()
        sampler.wait()
    if not raw.exists():
        return ["py-spy produced no profile (ptrace not permitted?)"]
    total, groups = 0, dict.fromkeys(label for label, _ in PROFILE_GROUPS)
    for label in groups:
        groups[label] = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        for label, keys in PROFILE_GROUPS:
            if any(key in stack for key in keys):
                groups[label] += int(count)
    if not total:
        return ["py-spy took no sample"]
    wall = (seconds + 1) * 200
    lines = ["py-spy --gil, %d concurrent for %d s: the GIL was held in %.0f%% of the samples"
             " (rest: idle or in C without the GIL); of the samples holding it:"
             % (connections, seconds, 100.0 * total / wall)]
    lines += ["%s: %.0f%%" % (label, 100.0 * count / total) for label, count in groups.items()]
    return lines


def machine():
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    upstream = subprocess.run(
        [str(UPSTREAM / "python"), "-c",
         "import importlib.metadata as m; print(m.version('slapos.core'))"],
        capture_output=True, text=True, env=upstream_env()).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "wrk": (wrk.split("\n")[0].split(" [")[0] if wrk else "?"),
        "slapos.core": upstream or "?",
    }


def ratio(a, b):
    return a / b if b else float("nan")


def table(results, connections):
    """Markdown lines: one row per (concurrency, server), then the ratio rows."""
    lines = [
        "| concurrent | server | requests | requests/s | p50 ms | p99 ms | max ms | MB/s | errors |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in connections:
        for name in SERVERS:
            r = results[(c, name)]
            errors = str(r["errors"]) + (" %s" % r["error_detail"] if r["errors"] else "")
            lines.append("| %d | %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %s |"
                         % (c, name, r["requests"], r["rps"], r["p50"], r["p99"], r["max"], r["mb_s"], errors))
    lines += [
        "",
        "| concurrent | slapgate/slapproxy req/s | slapgate/bare req/s "
        "| slapgate p99 / slapproxy p99 | slapgate p99 / bare p99 |",
        "|---:|---:|---:|---:|---:|",
    ]
    for c in connections:
        g, p, b = (results[(c, n)] for n in ("slapgate", "slapproxy", "bare twisted.web"))
        lines.append("| %d | %.2fx | %.1f%% | %.2f | %.2f |"
                     % (c, ratio(g["rps"], p["rps"]), 100 * ratio(g["rps"], b["rps"]),
                        ratio(g["p99"], p["p99"]), ratio(g["p99"], b["p99"])))
    return lines


def targets(results, connections):
    """Where the poll stands against issue 8's targets, at the highest concurrency measured."""
    c = max(connections)
    g, p, b = (results[(c, n)] for n in ("slapgate", "slapproxy", "bare twisted.web"))
    checks = [
        ("poll >= 20x slapproxy (req/s, %d concurrent)" % c, ratio(g["rps"], p["rps"]) >= 20,
         "%.2fx" % ratio(g["rps"], p["rps"])),
        ("poll >= 50%% of bare twisted.web (req/s, %d concurrent)" % c,
         ratio(g["rps"], b["rps"]) >= 0.5, "%.1f%%" % (100 * ratio(g["rps"], b["rps"]))),
        ("poll p99 <= 50 ms at %d concurrent" % c, g["p99"] <= 50, "%.1f ms" % g["p99"]),
    ]
    return ["- %s: **%s** (%s)" % (what, "met" if ok else "not met", value)
            for what, ok, value in checks]


def write_report(path, command, info, duration, warmup, sections, standing, notes):
    """Write docs/performance.md: the run, each measured section, the targets, the notes."""
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (bench/run.py); figures from one run, measured side by side",
        "because the machine is shared and noisy: compare the ratios, not the absolute numbers.",
        "",
        "## Run",
        "",
        "- command: `%s`" % command,
        "- date: %s" % time.strftime("%Y-%m-%d %H:%M %Z"),
        "- machine: %d CPU(s), %s; Linux %s; Python %s; %s; upstream slapos.core %s"
        % (info["nproc"], info["cpu"], info["kernel"], info["python"], info["wrk"],
           info["slapos.core"]),
        "- load: `wrk -t1 -cN -d%ds --timeout 30s --latency` from a separate process on"
        " 127.0.0.1, after a %d s warm-up at the same concurrency; servers measured one after"
        " the other at each concurrency" % (duration, warmup),
        "",
    ]
    for section in sections:
        lines += section + [""]
    lines += CHANGES + [""]
    lines += ["## Where slapgate stands (issue 8 targets)", ""] + standing
    if notes:
        lines += ["", "## Notes", ""] + ["- " + n for n in notes]
    lines.append("")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines))
    return lines


def poll_section(setup, results, connections, profile_lines):
    """The node poll's section: fleet, table, ratios, profile."""
    lines = [
        "## Node poll (cached answer): `GET getFullComputerInformation?computer_id=%s`"
        % setup["node"],
        "",
        "- slapgate: %s (SQLite, bulk inserts in %.1f s)" % (setup["fleet"], setup["fleet_s"]),
        "- slapproxy: the polled node alone (its only computer), built through its protocol by"
        " the upstream slap library: %d requests + their connection dicts in %.1f s"
        % (setup["proxy_requests"], setup["proxy_s"]),
        "- polled node: `%s`, %s; answer %d bytes from slapgate, %d bytes from slapproxy"
        % (setup["node"], setup["node_shape"], setup["slapgate_bytes"], setup["proxy_bytes"]),
        "- bare twisted.web: a Site whose one leaf resource answers the %d bytes of slapgate's"
        " answer, logging each request as the master does" % setup["slapgate_bytes"],
        "- the same node polled again and again: slapgate answers from its poll cache (the"
        " node's revision did not move), which is what an idle node's polls cost; the uncached"
        " cost, every poll computed afresh, is in the growth section below",
        "",
    ]
    lines += table(results, connections)
    if profile_lines:
        lines += ["", "### Where slapgate's time goes (cached poll)", ""] + [
            ("  - " + n.strip()) if n.startswith("  ") else "- " + n for n in profile_lines]
    return lines


def standing(poll=None, connections=(), request=None, reads=None, growth_figures=None):
    """Each issue 8 target measured: met or not, with the figure."""
    lines = []

    def check(what, ok, value):
        lines.append("- %s: **%s** (%s)" % (what, "met" if ok else "not met", value))

    if poll:
        lines += targets(poll, connections)
    if request:
        check("request >= 10x slapproxy (req/s, %d concurrent)" % request["concurrent"],
              request["ratio"] >= 10, "%.2fx" % request["ratio"])
        check("request >= 500/s at %d instances (%d concurrent)"
              % (request["instances"], request["concurrent"]), request["rps"] >= 500,
              "%.1f/s" % request["rps"])
        check("request p99 <= 100 ms", request["p99"] <= 100, "%.1f ms" % request["p99"])
    if reads:
        for name, share in reads.items():
            check("%s read >= 50%% of the fastest adaptor" % name, share >= 0.5,
                  "%.0f%%" % (100 * share))
    if growth_figures and "postgres" in growth_figures:
        for c, r in sorted(growth_figures["postgres"].items()):
            check("uncached poll p99 <= 100 ms with %d partitions on PostgreSQL (%d concurrent)"
                  % (growth_figures["postgres_partitions"], c), r["p99"] <= 100,
                  "%.1f ms" % r["p99"])
    return lines


PARTS = ("poll", "read", "growth", "request", "node", "invoice")

# What profiling these benchmarks changed in slapgate, and where the remaining time goes: kept
# here so that every report written carries it.
CHANGES = [
    "## What was changed, and where the time still goes",
    "",
    "Changed after profiling (py-spy under wrk, cProfile in-process):",
    "",
    "- poll: a revision-keyed answer cache (slap_core/poll_cache.py, slap_core/revisions.py) and"
    " its encoded bytes (protocols/slap/resource.py): an unchanged node's poll costs a revision"
    " read. `SLAPGATE_POLL_CACHE_SIZE=0` turns it off (the growth part measures that way).",
    "- SLAP marshal (protocols/slap_wire/marshal.py): the `<string>` element of each short string is"
    " kept in an LRU and plain ASCII skips the character checks; strings come first in the"
    " writer's dispatch. The string checks were a third of an uncached poll; an uncached"
    " 100-partition poll went from about 23 ms to about 11 ms of CPU in-process.",
    "- SOAP (protocols/soap_api.py): spyne ran a full `gc.collect()` after a call at most once a"
    " second; in the master, with its caches, that was a third of the SOAP adaptor's time under"
    " load and a latency spike for every adaptor. Turned off (`spyne.const.MIN_GC_INTERVAL`).",
    "- SQLite writes (slap_core/storage.py): one master's write transactions queue on a lock"
    " instead of polling SQLite's file lock with the busy handler's growing sleeps: request p99"
    " at 10 concurrent went from 2.7 s to 0.5 s on a 20-node fleet.",
    "- revisions (slap_core/revisions.py): a write's flushes only note what they changed; the"
    " computers to bump are found with one set of queries before the commit instead of after"
    " each of a request's four flushes (about 10% of a request).",
    "- node agent (node_twisted/instance.py): partitions with work are processed before the"
    " unchanged ones, so a change waits for no other partition's promises (the last of 200"
    " partitions was reached after 199 promise checks); the unchanged partitions' promises run"
    " four partitions at a time instead of one after the other.",
    "- `slapgate node` (gateway/cli.py) no longer imports the master's CA and SQLAlchemy: 0.6"
    " to 1 s of imports less for each `--once` cycle on the loaded bench machine.",
    "- instance request (slap_core/instance_creation.py): a new title is inserted, placed and"
    " answered with Core statements built once (no ORM flush, no lazy load); 4.4 ms -> 1.5 ms"
    " of CPU per request in-process on the 1,000-node fleet, about 4x the answered requests/s"
    " at 50 concurrent side by side with the ORM path.",
    "- allocation pass: `software_instance.pending` (migration 0004, index (pending, id)) marks"
    " the instances waiting for a place, so `instance.allocate_pending` reads only those: 93 ms"
    " -> 0.7 ms at 100k instances on SQLite.",
    "- HTTP: twisted.web parsed each request's Content-Type through the email package (110 us,"
    " 9% of a request under load): memoized (gateway/content_type.py); SLAP answers carry"
    " Content-Length instead of going out as one chunk.",
    "- invoice run (slap_core/invoices.py): invoices and their lines are written with Core"
    " executemany instead of ORM objects (the ORM flushed each line with its own statement):"
    " 5.2 s -> 2.7 s for 1,000 persons and 100,000 usage records.",
    "",
    "Where the time still goes:",
    "",
    "- instance request: a dozen statements and the commit in the thread pool (about 1.5 ms of"
    " CPU), the SLAP form's marshal XML parsed on the reactor, the answer's marshalling; a"
    " repeated request still goes through the ORM (about 1.4 ms).",
    "- uncached poll (about 11 ms of CPU per 100-partition node): marshalling about 320 kB of"
    " XML (half), partition_views' column reads and JSON decoding (the rest). One process holds"
    " the GIL, so at 50 concurrent a poll waits for the ones before it: p99 grows with the"
    " concurrency, not with the fleet.",
    "- cached poll: twisted.web's request handling and the write of 320 kB, as the bare"
    " twisted.web server pays it, plus the revision read in the thread pool.",
    "- SOAP: spyne's envelope parsing, lxml schema validation of the request and its object"
    " serialization, served through WSGI in the thread pool.",
    "- node agent: a partition's deployment is the release's own buildout run (a Python"
    " start-up, the develop egg, two slap calls), then supervisord and the promise: both"
    " agents pay it one partition after the other, so request-to-green grows with N at the"
    " same per-instance cost. A `--once` cycle also pays Twisted's imports (about 0.3-0.8 s"
    " of a no-change cycle on a loaded machine); the agent's loop does not.",
    "- invoice run (cProfile, 100,000 records): SQLite's GROUP BY of each batch of 500"
    " persons' usage (a third), pricing the grouped rows in Python (a quarter: one row per"
    " tree, resource and day), fetching them, then the executemany of the lines; memory stays"
    " at one batch's rows (137 MB at 100,000 records, 154 MB at 1,000,000).",
    "- cached poll at 50 concurrent: the reactor thread is the bottleneck (py-spy: over half of"
    " it writing 320 kB answers), the thread-pool hop of the revision read next.",
]


def main(argv=None):
    parser = argparse.ArgumentParser(description="slapgate benchmarks (issue 8)")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help="comma-separated parts to run, of %s (default all)" % ", ".join(PARTS))
    parser.add_argument("--nodes", type=int, default=100, help="the poll's fleet (default 100)")
    parser.add_argument("--partitions", type=int, default=100)
    parser.add_argument("--connections", default="10,50",
                        help="comma-separated concurrent connections (default 10,50)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each")
    parser.add_argument("--growth", default="1,100,1000",
                        help="fleet sizes (nodes) of the growth part on SQLite (default 1,100,1000)")
    parser.add_argument("--growth-connections", default="1,50",
                        help="concurrent connections of the growth part (default 1,50)")
    parser.add_argument("--postgres-nodes", type=int, default=10000,
                        help="nodes of the growth part's PostgreSQL fleet (0: none; default 10000)")
    parser.add_argument("--request-nodes", type=int, default=1000,
                        help="nodes of slapgate's fleet for requests (default 1000: 100k instances)")
    parser.add_argument("--proxy-partitions", type=int, default=5000,
                        help="free partitions of slapproxy's computer for requests")
    parser.add_argument("--node-partitions", type=int, default=200,
                        help="partitions (memcached instances) of slapgate's node (default 200)")
    parser.add_argument("--node-upstream-partitions", type=int, default=20,
                        help="partitions of both nodes measured side by side (default 20)")
    parser.add_argument("--node-repetitions", type=int, default=3,
                        help="no-change cycles and changes measured per node (default 3)")
    parser.add_argument("--invoice-persons", type=int, default=10000)
    parser.add_argument("--invoice-trees", type=int, default=100000)
    parser.add_argument("--invoice-records", type=int, default=1000000,
                        help="usage records of the invoice part's month (default 1,000,000)")
    parser.add_argument("--output", default=str(ROOT / "docs" / "performance.md"))
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--profile", type=int, default=10, metavar="SECONDS",
                        help="then profile slapgate with py-spy under the highest concurrency "
                        "for SECONDS (0: no profile; default 10)")
    args = parser.parse_args(argv)
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    connections = [int(c) for c in args.connections.split(",") if c.strip()]
    sizes = [int(n) for n in args.growth.split(",") if n.strip()]
    growth_connections = [int(c) for c in args.growth_connections.split(",") if c.strip()]
    if not (1 <= args.node_upstream_partitions <= 1000 and 1 <= args.node_partitions <= 1000
            and 1 <= args.node_repetitions <= 50):
        parser.error("node partitions 1..1000, node repetitions 1..50")
    if not all(0 < c <= 1000 for c in connections + growth_connections) \
            or not 1 <= args.duration <= 120:
        parser.error("connections 1..1000, duration 1..120 s")
    if set(parts) - set(PARTS) or not parts:
        parser.error("--parts takes some of %s" % ", ".join(PARTS))
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed (make bench installs it with apt-get)")
    if not (UPSTREAM / "slapos").exists():
        raise BenchError("upstream slapproxy missing in %s (make upstream)" % UPSTREAM)
    command = "make bench" + (" BENCH_ARGS=%s" % shlex.quote(os.environ["BENCH_ARGS"])
                              if os.environ.get("BENCH_ARGS") else "") \
        if os.environ.get("MAKELEVEL") else \
        "python -m bench.run " + shlex.join(argv if argv is not None else sys.argv[1:])

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    work = Path(tempfile.mkdtemp(prefix="slapgate-bench-"))
    run = Run(work, args.duration, args.warmup)
    print("bench: working in %s" % work, flush=True)
    sections, found = [], {}
    try:
        database = work / "slapgate.sqlite"
        if "poll" in parts or "read" in parts:
            counts, seconds = fleet.generate(database, args.nodes, args.partitions,
                                             admin_password=BENCH_PASSWORD)
            print("bench: fleet of %d nodes written in %.1f s" % (args.nodes, seconds),
                  flush=True)
        gate = gate_url = None
        if "poll" in parts:
            setup, results, profile_lines, gate, gate_url = measure_poll(
                run, args, database, counts, seconds, connections)
            sections.append(poll_section(setup, results, connections, profile_lines))
            found["poll"] = results
        if "read" in parts:
            if gate is None:
                gate, gate_url = slapgate_master(run, "slapgate", database)
            title = fleet.node_plan(args.nodes // 2, args.partitions)["trees"][1]["title"]
            with sqlite3.connect(database) as connection:
                reference = connection.execute(
                    "SELECT reference FROM software_instance WHERE title = ?", (title,)
                ).fetchone()[0]
            lines, found["reads"] = adaptor_reads.measure(
                run, gate_url, reference, title, "admin", BENCH_PASSWORD, connections)
            sections.append(lines)
        if gate is not None:
            run.stop(gate)
        fleets = {args.nodes: database} if database.exists() else {}
        written = {args.nodes: seconds} if database.exists() else {}
        if "growth" in parts:
            for nodes in sizes:
                if nodes not in fleets:
                    fleets[nodes] = work / ("fleet-%d.sqlite" % nodes)
                    counts, seconds = fleet.generate(fleets[nodes], nodes, args.partitions)
                    written[nodes] = seconds
                    print("bench: growth fleet %d nodes (%d instances) written in %.1f s"
                          % (nodes, counts["software_instance"], seconds), flush=True)
            lines, found["growth"] = growth.measure(
                run, sizes, args.partitions, growth_connections, args.postgres_nodes,
                databases=fleets, written=written)
            found["growth"]["postgres_partitions"] = args.postgres_nodes * args.partitions
            sections.append(lines)
        if "request" in parts:
            lines, found["request"] = instance_requests.measure(
                run, args.request_nodes, args.partitions, connections, args.proxy_partitions,
                database=fleets.get(args.request_nodes))
            sections.append(lines)
        if "node" in parts:
            lines, found["node"] = node_agents.measure(
                run, args.node_partitions, args.node_upstream_partitions, args.node_repetitions,
                args.node_repetitions, command=command)
            sections.append(lines)
        if "invoice" in parts:
            lines, found["invoice"] = invoices.measure(
                work, args.invoice_persons, args.invoice_trees, args.invoice_records)
            sections.append(lines)
        for server in run.servers:
            if server.process.poll() is not None:
                run.notes.append("%s exited during the run (%s)"
                                 % (server.name, server.process.returncode))
        lines = write_report(
            args.output, command, machine(), args.duration, args.warmup, sections,
            standing(found.get("poll"), connections, found.get("request"), found.get("reads"),
                     found.get("growth")),
            run.notes)
        print()
        print("\n".join(lines))
        print("bench: written to %s" % args.output)
        return 0
    except BenchError as error:
        print("bench: FAILED: %s" % error, file=sys.stderr)
        return 1
    finally:
        run.close()
        if args.keep:
            print("bench: kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def measure_poll(run, args, database, counts, seconds, connections):
    """The cached poll on slapgate, slapproxy and bare twisted.web; the profile under load.

    Returns (setup, results, profile lines, slapgate server, its URL): the master stays up for
    the reads.
    """
    setup = {"warmup": args.warmup}
    setup["fleet"] = "%d nodes x %d partitions: %d busy partitions, %d instances " \
        "(%d shared), %d instance trees" % (
            counts["computer"], args.partitions, counts["busy_partition"],
            counts["software_instance"], counts["shared_instance"], counts["instance_tree"])
    setup["fleet_s"] = seconds
    work = run.work
    node = args.nodes // 2
    plan = fleet.node_plan(node, args.partitions)
    setup["node"] = plan["reference"]
    busy = sum(len(t["instances"]) for t in plan["trees"])
    setup["node_shape"] = "%d partitions, %d busy in %d trees, %d shared instances on its " \
        "frontend, %d releases supplied" % (args.partitions, busy, len(plan["trees"]),
                                            len(plan["shared"]), len(plan["releases"]))
    # 2. slapproxy, with the same node built through its protocol
    proxy_port = free_port()
    (work / "proxy").mkdir()
    config = work / "proxy" / "slapos.cfg"
    config.write_text("[slapos]\ncomputer_id = %s\n\n[slapproxy]\nhost = %s\nport = %d\n"
                      "database_uri = %s\n" % (plan["reference"], HOST, proxy_port,
                                               work / "proxy" / "proxy.db"))
    proxy = Server("slapproxy", [str(UPSTREAM / "slapos"), "proxy", "start", "--cfg",
                                 str(config)],
                   work / "slapproxy.log", work / "proxy", env=upstream_env())
    run.start(proxy)
    proxy_url = "http://%s:%d/" % (HOST, proxy_port)
    proxy.wait_ready(proxy_url + "getRunId")
    plan_file = work / "plan.json"
    plan_file.write_text(json.dumps(plan))
    built = subprocess.run([str(UPSTREAM / "python"), str(BENCH / "proxy_fleet.py"),
                            proxy_url, str(plan_file)], capture_output=True, text=True,
                           env=upstream_env(), timeout=600)
    if built.returncode != 0:
        raise BenchError("building the node in slapproxy failed:\n" + built.stderr[-3000:])
    proxy_built = json.loads(built.stdout.strip().splitlines()[-1])
    setup["proxy_requests"], setup["proxy_s"] = proxy_built["requests"], \
        proxy_built["seconds"]
    print("bench: slapproxy node built with %d requests in %.1f s"
          % (setup["proxy_requests"], setup["proxy_s"]), flush=True)

    # 3. slapgate on the fleet
    gate, gate_url = slapgate_master(run, "slapgate", database)

    poll = "getFullComputerInformation?computer_id=" + plan["reference"]
    urls = {"slapgate": gate_url + "slap/" + poll, "slapproxy": proxy_url + poll}
    bodies = {}
    for name, url in urls.items():
        status, content_type, body = fetch(url)
        if status != 200:
            raise BenchError("%s poll answered %d (%s):\n%s" % (
                name, status, content_type, body[:2000].decode("utf-8", "replace")))
        bodies[name] = body
        (work / ("%s-poll.xml" % name)).write_bytes(body)
    setup["slapgate_bytes"], setup["proxy_bytes"] = len(bodies["slapgate"]), \
        len(bodies["slapproxy"])
    checked = subprocess.run([str(UPSTREAM / "python"), "-c", CHECK_POLL]
                             + [str(work / ("%s-poll.xml" % n)) for n in urls],
                             capture_output=True, text=True, env=upstream_env(), timeout=120)
    if checked.returncode != 0:
        raise BenchError("the upstream library cannot read a poll:\n" + checked.stderr[-3000:])
    seen = {Path(k).name.split("-poll")[0]: v for k, v in json.loads(checked.stdout).items()}
    for name, view in seen.items():
        expected = {"class": "Computer", "partitions": args.partitions, "busy": busy,
                    "shared": len(plan["shared"]), "software": len(plan["releases"])}
        if view != expected:
            raise BenchError("%s's poll is not the node's: %r, expected %r"
                             % (name, view, expected))
    print("bench: both polls read by the upstream library: %s" % seen["slapgate"],
          flush=True)

    # 4. bare twisted.web serving slapgate's bytes
    bare_port = free_port()
    bare = Server("bare twisted.web", [sys.executable, str(BENCH / "bare_twisted.py"),
                                       str(work / "slapgate-poll.xml"),
                                       "%s:%d" % (HOST, bare_port)],
                  work / "bare.log", ROOT)
    run.start(bare)
    urls["bare twisted.web"] = "http://%s:%d/slap/%s" % (HOST, bare_port, poll)
    bare.wait_ready(urls["bare twisted.web"])
    if fetch(urls["bare twisted.web"])[2] != bodies["slapgate"]:
        raise BenchError("the bare server does not answer slapgate's bytes")

    # 5. measurements
    results = {}
    for c in connections:
        for name in SERVERS:
            results[(c, name)] = run.measure("poll " + name, urls[name], c)
    profile_lines = []
    if args.profile:
        profile_lines = profile(gate.process.pid, urls["slapgate"], max(connections),
                                args.profile, work, run.log)
    return setup, results, profile_lines, gate, gate_url


if __name__ == "__main__":
    sys.exit(main())
