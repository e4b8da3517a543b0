"""``make bench``: the node poll on slapgate, upstream slapproxy and bare twisted.web, side by side.

In one invocation, bounded in time, on 127.0.0.1 only:

1. writes a fleet (``--nodes`` x ``--partitions``, most partitions busy) straight into a fresh
   slapgate SQLite database (bench/fleet.py), starts upstream slapproxy (``.venv-upstream``) and
   builds the polled node's plan in it through the slap library (bench/proxy_fleet.py);
2. starts ``slapgate master --insecure-loopback`` on the fleet, fetches the poll of the middle
   node once, checks it with the upstream library, and starts a bare twisted.web process serving
   those exact bytes (bench/bare_twisted.py);
3. runs ``wrk`` (a separate process) against each server's poll at each concurrency for a fixed
   duration, after a short warm-up, and reads requests/s and p50/p99 latency;
4. prints the table with the ratios slapgate/slapproxy and slapgate/bare and writes it to
   ``docs/performance.md`` with the command and the machine.

Every process it started is stopped at the end (SIGTERM to its process group, then SIGKILL).
"""

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import fleet
from bench.harness import (BENCH, HOST, ROOT, UPSTREAM, BenchError, Server, fetch, free_port,
                           run_wrk, upstream_env)
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
    ("marshal XML of the answer (thread pool)", ("dumps (protocols/slap_marshal",)),
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


def write_report(path, command, info, setup, results, connections, duration, notes,
                 profile_lines=()):
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
        " the other at each concurrency" % (duration, setup["warmup"]),
        "",
        "## Fleet",
        "",
        "- slapgate: %s (SQLite, bulk inserts in %.1f s)" % (setup["fleet"], setup["fleet_s"]),
        "- slapproxy: the polled node alone (its only computer), built through its protocol by"
        " the upstream slap library: %d requests + their connection dicts in %.1f s"
        % (setup["proxy_requests"], setup["proxy_s"]),
        "- polled node: `%s`, %s; answer %d bytes from slapgate, %d bytes from slapproxy"
        % (setup["node"], setup["node_shape"], setup["slapgate_bytes"], setup["proxy_bytes"]),
        "- bare twisted.web: a Site whose one leaf resource answers the %d bytes of slapgate's"
        " answer, logging each request as the master does" % setup["slapgate_bytes"],
        "",
        "## Node poll: `GET getFullComputerInformation?computer_id=%s`" % setup["node"],
        "",
    ]
    lines += table(results, connections)
    lines += ["", "## Where the poll stands (issue 8 targets)", ""]
    lines += targets(results, connections)
    if profile_lines:
        lines += ["", "## Where slapgate's time goes", ""] + [
            ("  - " + n.strip()) if n.startswith("  ") else "- " + n for n in profile_lines]
    if notes:
        lines += ["", "## Notes", ""] + ["- " + n for n in notes]
    lines += [
        "",
        "## Not measured yet",
        "",
        "Instance requests that allocate, the same read over XML-RPC/SOAP/REST, growth with the"
        " fleet (1 -> 1,000 -> 10,000 nodes, PostgreSQL): see issue 8.",
        "",
    ]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description="slapgate node-poll benchmark (issue 8)")
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=100)
    parser.add_argument("--connections", default="10,50",
                        help="comma-separated concurrent connections (default 10,50)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each")
    parser.add_argument("--output", default=str(ROOT / "docs" / "performance.md"))
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--profile", type=int, default=10, metavar="SECONDS",
                        help="then profile slapgate with py-spy under the highest concurrency "
                        "for SECONDS (0: no profile; default 10)")
    args = parser.parse_args(argv)
    connections = [int(c) for c in args.connections.split(",") if c.strip()]
    if not all(0 < c <= 1000 for c in connections) or not 1 <= args.duration <= 120:
        parser.error("connections 1..1000, duration 1..120 s")
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed (make bench installs it with apt-get)")
    if not (UPSTREAM / "slapos").exists():
        raise BenchError("upstream slapproxy missing in %s (make upstream)" % UPSTREAM)
    command = "make bench" if os.environ.get("MAKELEVEL") else \
        "python -m bench.run " + shlex.join(argv if argv is not None else sys.argv[1:])

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    work = Path(tempfile.mkdtemp(prefix="slapgate-bench-"))
    servers = []
    setup = {"warmup": args.warmup}
    notes = []
    print("bench: working in %s" % work, flush=True)
    try:
        # 1. the fleet in slapgate's database
        database = work / "slapgate.sqlite"
        counts, seconds = fleet.generate(database, args.nodes, args.partitions)
        setup["fleet"] = "%d nodes x %d partitions: %d busy partitions, %d instances " \
            "(%d shared), %d instance trees" % (
                counts["computer"], args.partitions, counts["busy_partition"],
                counts["software_instance"], counts["shared_instance"],
                counts["instance_tree"])
        setup["fleet_s"] = seconds
        print("bench: fleet %s, written in %.1f s" % (setup["fleet"], seconds), flush=True)
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
        servers.append(proxy.start())
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
        gate_port = free_port()
        slapgate = Path(sys.executable).parent / "slapgate"
        gate = Server("slapgate", [str(slapgate), "master", "--db", str(database),
                                   "--state-dir", str(work / "state"),
                                   "--listen", "%s:%d" % (HOST, gate_port),
                                   "--insecure-loopback"],
                      work / "slapgate.log", ROOT)
        servers.append(gate.start())
        gate_url = "http://%s:%d/" % (HOST, gate_port)
        gate.wait_ready(gate_url + "health")

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
        servers.append(bare.start())
        urls["bare twisted.web"] = "http://%s:%d/slap/%s" % (HOST, bare_port, poll)
        bare.wait_ready(urls["bare twisted.web"])
        if fetch(urls["bare twisted.web"])[2] != bodies["slapgate"]:
            raise BenchError("the bare server does not answer slapgate's bytes")

        # 5. measurements
        results = {}
        with open(work / "wrk.log", "w") as log:
            for c in connections:
                for name in SERVERS:
                    if args.warmup:
                        run_wrk(urls[name], c, args.warmup, log)
                    result = run_wrk(urls[name], c, args.duration, log)
                    results[(c, name)] = result
                    print("bench: %-17s %3d concurrent: %8.1f req/s  p50 %7.1f ms  "
                          "p99 %7.1f ms  errors %d"
                          % (name, c, result["rps"], result["p50"], result["p99"],
                             result["errors"]), flush=True)
                    if result["errors"]:
                        notes.append("wrk counted %d errors on %s at %d concurrent: %s"
                                     % (result["errors"], name, c, result["error_detail"]))
                    if result["requests"] == 0:
                        notes.append("%s answered no request at %d concurrent" % (name, c))
        profile_lines = []
        if args.profile:
            with open(work / "wrk.log", "a") as log:
                profile_lines = profile(gate.process.pid, urls["slapgate"], max(connections),
                                        args.profile, work, log)
        for server in servers:
            if server.process.poll() is not None:
                notes.append("%s exited during the run (%s)"
                             % (server.name, server.process.returncode))
        lines = write_report(args.output, command, machine(), setup, results, connections,
                             args.duration, notes, profile_lines)
        print()
        print("\n".join(lines))
        print("bench: written to %s" % args.output)
        return 0
    except BenchError as error:
        print("bench: FAILED: %s" % error, file=sys.stderr)
        return 1
    finally:
        for server in reversed(servers):
            server.stop()
        if args.keep:
            print("bench: kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
