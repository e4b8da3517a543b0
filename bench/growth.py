"""How the poll's cost grows with the fleet: the same 100-partition poll on ever larger fleets.

Each fleet (1, 100, 1,000 nodes on SQLite; 10,000 nodes x 100 partitions, 1M partitions, on
PostgreSQL) is written straight into a fresh database (bench/fleet.py: executemany, COPY) and
served by a slapgate master started with its poll cache off (``SLAPGATE_POLL_CACHE_SIZE=0``), so
that every poll is computed afresh. wrk polls the nodes in turn, each request a different node
(bench/scenario.lua over every node's ``getFullComputerInformation``, at most 2,000 of them): a
poll that stays O(partitions of its node) keeps its figures from one fleet to the next.
"""

from bench import fleet
from bench.harness import RESULT_HEADER, BenchError, fetch, result_row, slapgate_master, \
    write_requests

MAX_POLLED = 2000
UNCACHED = {"SLAPGATE_POLL_CACHE_SIZE": "0"}


def _polls(nodes):
    step = max(1, nodes // MAX_POLLED)
    return [{"method": "GET", "path": "/slap/getFullComputerInformation?computer_id=%s"
             % fleet.node_reference(n), "headers": {}} for n in range(0, nodes, step)]


def measure_fleet(run, label, database, nodes, partitions, connections):
    """Uncached polls of a fleet already written to ``database``; {concurrency: figures}."""
    gate, url = slapgate_master(run, "slapgate (%s)" % label, database, UNCACHED)
    try:
        polls = _polls(nodes)
        status, _, body = fetch(url.rstrip("/") + polls[-1]["path"])
        if status != 200 or body.count(b"<object") < partitions:
            raise BenchError("the poll of a %s node answered %d:\n%s"
                             % (label, status, body[:2000].decode("utf-8", "replace")))
        script = write_requests(run.work / ("growth-%d.lua" % nodes), polls)
        results = {c: run.measure("uncached poll, %s" % label, url, c, "scenario.lua", (script,))
                   for c in connections}
        for result in results.values():
            result["polled"] = len(polls)
            result["bytes_per_poll"] = len(body)
    finally:
        run.stop(gate)
    return results


def measure(run, sizes, partitions, connections, postgres_nodes=0, databases=None,
            written=None):
    """Every fleet of ``sizes`` on SQLite, then ``postgres_nodes`` on PostgreSQL (0: none).

    ``databases`` maps a size to an SQLite fleet already written, ``written`` a size to the
    seconds that took. Returns (markdown lines, figures for the targets).
    """
    rows, figures = [], {}
    for nodes in sizes:
        database = (databases or {}).get(nodes)
        seconds = (written or {}).get(nodes)
        if database is None:
            database = run.work / ("growth-%d.sqlite" % nodes)
            counts, seconds = fleet.generate(database, nodes, partitions)
            print("bench: growth fleet %d nodes (%d instances) written in %.1f s"
                  % (nodes, counts["software_instance"], seconds), flush=True)
        label = "%d nodes, SQLite" % nodes
        results = measure_fleet(run, label, database, nodes, partitions, connections)
        rows.append((label, nodes, seconds, results))
    if postgres_nodes:
        from tests.postgres import Cluster, binaries

        bindir = binaries()
        if bindir is None:
            raise BenchError("PostgreSQL is not installed (make bench installs postgresql)")
        cluster = Cluster(bindir).start()
        try:
            cluster.create_database("fleet")
            url = cluster.url("fleet")
            counts, seconds = fleet.generate(url, postgres_nodes, partitions)
            print("bench: growth fleet %d nodes (%d partitions, %d instances) copied into "
                  "PostgreSQL in %.1f s" % (postgres_nodes, counts["partition"],
                                            counts["software_instance"], seconds), flush=True)
            label = "%d nodes, PostgreSQL" % postgres_nodes
            results = measure_fleet(run, label, url, postgres_nodes, partitions, connections)
            rows.append((label, postgres_nodes, seconds, results))
            figures["postgres"] = results
        finally:
            cluster.stop()
    lines = [
        "## Growth: the uncached poll as the fleet grows",
        "",
        "- every poll computed afresh (master started with `SLAPGATE_POLL_CACHE_SIZE=0`), each"
        " request a different node in turn (up to %d nodes polled round-robin), %d partitions per"
        " node, 90%% busy, 10 shared instances on each frontend" % (MAX_POLLED, partitions),
        "",
        RESULT_HEADER[0] % "fleet / concurrent", RESULT_HEADER[1],
    ]
    for label, nodes, seconds, results in rows:
        for c, result in results.items():
            lines.append(result_row("%s / %d" % (label, c), result))
    lines += ["", "| fleet | written in | nodes polled | p50 ms at %d | p99 ms at %d | req/s vs 1st"
              " fleet |" % (max(connections), max(connections)), "|---|---:|---:|---:|---:|---:|"]
    first = rows[0][3][max(connections)]["rps"] if rows else 0
    for label, nodes, seconds, results in rows:
        r = results[max(connections)]
        lines.append("| %s | %s | %d | %.1f | %.1f | %.0f%% |" % (
            label, "%.1f s" % seconds if seconds is not None else "?", r["polled"],
            r["p50"], r["p99"], 100 * r["rps"] / first if first else float("nan")))
    figures["rows"] = rows
    return lines, figures
