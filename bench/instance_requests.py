"""Instance requests that allocate: SLAP ``requestComputerPartition`` on slapgate and slapproxy.

Each request is the form the upstream slap library posts for ``OpenOrder.request`` (its body is
produced by slapos.core's own code, in the upstream venv, with the title left as a placeholder),
and bench/scenario.lua gives every request of a run a title of its own, so each one creates an
instance and takes a free partition. slapgate answers on a fleet of many nodes (``--request-nodes``,
100 instances each: 100,000 at 1,000 nodes) where the allocator picks among every open node;
slapproxy holds one computer, formatted with enough free partitions for the run.
"""

import json
import subprocess

from bench import fleet
from bench.harness import (HOST, RESULT_HEADER, UPSTREAM, BENCH, BenchError, Server, fetch,
                           free_port, result_row, slapgate_master, upstream_env, write_requests)

TITLE = "__TITLE__"
PROXY_COMPUTER = "COMP-REQUESTS"

FORM = r"""
import json, sys
from urllib.parse import urlencode
from slapos import slap
order = slap.OpenOrder()
posted = {}
def capture(request_dict):
    posted.update(request_dict)
    raise SystemExit(0)
order._requestComputerPartition = capture
spec = json.loads(sys.argv[1])
try:
    order.request(spec["release"], spec["title"], partition_parameter_kw=spec["parameters"],
                  software_type=spec["software_type"], state="started")
finally:
    print(urlencode(posted))
"""


def request_body(release, parameters, software_type="default"):
    """The urlencoded form upstream's ``OpenOrder.request`` posts, titled TITLE."""
    spec = {"release": release, "title": TITLE, "parameters": parameters,
            "software_type": software_type}
    done = subprocess.run([str(UPSTREAM / "python"), "-c", FORM, json.dumps(spec)],
                          capture_output=True, text=True, env=upstream_env(), timeout=120)
    body = done.stdout.strip()
    if TITLE not in body:
        raise BenchError("the upstream library built no request form:\n" + done.stderr[-2000:])
    return body


def _scenario(run, name, body):
    return write_requests(run.work / ("%s.lua" % name), [{
        "method": "POST", "path": "/slap/requestComputerPartition" if name == "slapgate"
        else "/requestComputerPartition",
        "headers": {"Content-Type": "application/x-www-form-urlencoded"}, "body": body}])


def _proxy_for_requests(run, partitions, connections):
    """A slapproxy whose only computer has ``partitions`` free partitions; (server, URL, s)."""
    port = free_port()
    directory = run.work / ("proxy-requests-%d" % connections)
    directory.mkdir()
    config = directory / "slapos.cfg"
    config.write_text("[slapos]\ncomputer_id = %s\n\n[slapproxy]\nhost = %s\nport = %d\n"
                      "database_uri = %s\n" % (PROXY_COMPUTER, HOST, port,
                                               directory / "proxy.db"))
    proxy = run.start(Server("slapproxy (requests)",
                             [str(UPSTREAM / "slapos"), "proxy", "start", "--cfg", str(config)],
                             directory / "slapproxy.log", directory, env=upstream_env()))
    url = "http://%s:%d/" % (HOST, port)
    proxy.wait_ready(url + "getRunId")
    plan = fleet.node_plan(0, partitions, busy_ratio=0)
    plan["reference"] = plan["format"]["reference"] = PROXY_COMPUTER
    plan_file = directory / "plan.json"
    plan_file.write_text(json.dumps(plan))
    built = subprocess.run([str(UPSTREAM / "python"), str(BENCH / "proxy_fleet.py"), url,
                            str(plan_file)], capture_output=True, text=True,
                           env=upstream_env(), timeout=900)
    if built.returncode != 0:
        raise BenchError("formatting slapproxy's computer failed:\n" + built.stderr[-3000:])
    return proxy, url, json.loads(built.stdout.strip().splitlines()[-1])["seconds"]


def _copy_fleet(source, target):
    """Copy the SQLite fleet ``source`` to ``target`` (SQLite's backup: WAL content included)."""
    import sqlite3

    with sqlite3.connect(str(source)) as origin, sqlite3.connect(str(target)) as copy:
        origin.backup(copy)
    origin.close()
    copy.close()
    return target


def measure(run, nodes, partitions, connections, proxy_partitions, database=None):
    """Requests that allocate on both masters; (markdown lines, figures for the targets).

    ``database``: that fleet already written (by the growth part), else one is written.
    """
    if database is None:
        database = run.work / "requests.sqlite"
        fleet.generate(database, nodes, partitions)
    counts = fleet.count_rows(database)
    free = counts["partition"] - counts["busy_partition"]
    print("bench: request fleet: %d nodes, %d instances, %d free partitions"
          % (nodes, counts["software_instance"], free), flush=True)
    release = fleet.RELEASES["kvm"]
    parameters = fleet.node_plan(0, partitions)["trees"][1]["instances"][0]["parameters"]
    body = request_body(release, parameters)

    results = {}
    for c in connections:
        # A fresh copy of the fleet for each concurrency too: the previous one took its free
        # partitions, and a master out of them answers fast with errors.
        copy = _copy_fleet(database, run.work / ("requests-c%d.sqlite" % c))
        gate, gate_url = slapgate_master(run, "slapgate (requests)", copy)
        # A fresh slapproxy for each concurrency: every request must find a free partition.
        proxy, proxy_url, proxy_seconds = _proxy_for_requests(run, proxy_partitions, c)
        print("bench: slapproxy computer of %d partitions formatted in %.1f s"
              % (proxy_partitions, proxy_seconds), flush=True)
        urls = {"slapgate": gate_url + "slap/requestComputerPartition",
                "slapproxy": proxy_url + "requestComputerPartition"}
        for name, url in urls.items():  # one request each, read back: it allocates
            status, _, answer = fetch(url, body.replace(TITLE, "probe-%d" % c).encode(),
                                      {"Content-Type": "application/x-www-form-urlencoded"})
            if status != 200 or b"slappart" not in answer:
                raise BenchError("%s did not allocate a probe request (%d):\n%s"
                                 % (name, status, answer[:2000].decode("utf-8", "replace")))
        for name in ("slapproxy", "slapgate"):
            script = _scenario(run, name, body)
            results[(c, name)] = run.measure(
                "request %s" % name, urls[name], c, "scenario.lua", (script, "c%d-run-" % c),
                warm_args=(script, "c%d-warm-" % c))
        run.stop(proxy)
        run.stop(gate)
    lines = [
        "## Instance requests that allocate: `POST requestComputerPartition`",
        "",
        "- slapgate: %d nodes x %d partitions, %d instances (%d shared) before the run, %d free"
        " partitions, a fresh copy for each concurrency; the allocator chooses among every open"
        " node that has the release"
        % (nodes, partitions, counts["software_instance"], counts["shared_instance"], free),
        "- slapproxy: one computer of %d free partitions, a fresh one for each concurrency (its"
        " requests go to its own computer)" % proxy_partitions,
        "- each request: the form upstream's `OpenOrder.request` posts (kvm release, %d"
        " parameters, no SLA), a new title each time (bench/scenario.lua): every answered"
        " request created an instance on a partition; ratios use the requests answered 200"
        " (a master out of free partitions answers fast, with an error)" % len(parameters),
        "",
    ]
    lines += [RESULT_HEADER[0] % "concurrent / server", RESULT_HEADER[1]]
    for c in connections:
        for name in ("slapproxy", "slapgate"):
            lines.append(result_row("%d / %s" % (c, name), results[(c, name)]))
    lines += ["", "| concurrent | slapgate answered/s | slapproxy answered/s | slapgate/slapproxy |"
              " slapgate p99 ms |", "|---:|---:|---:|---:|---:|"]
    for c in connections:
        g, p = results[(c, "slapgate")], results[(c, "slapproxy")]
        lines.append("| %d | %.1f | %.1f | %.2fx | %.1f |" % (
            c, g["ok_rps"], p["ok_rps"], g["ok_rps"] / p["ok_rps"] if p["ok_rps"] else
            float("nan"), g["p99"]))
    c = max(connections)
    g, p = results[(c, "slapgate")], results[(c, "slapproxy")]
    figures = {"concurrent": c, "instances": counts["software_instance"],
               "ratio": g["ok_rps"] / p["ok_rps"] if p["ok_rps"] else float("nan"),
               "rps": g["ok_rps"], "p99": g["p99"], "errors": g["errors"]}
    return lines, figures
