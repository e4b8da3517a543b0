"""Buildout recipes of the memcached demo software release (tests/memcached/README.md).

``template`` runs at software time: it checks that the memcached binary exists and writes the
instance profile. ``instance`` runs in each partition: it reads the instance parameters and the
partition's IPv4 address through the slap library, writes the service wrapper
``etc/service/memcached`` (started by the node's supervisord), a promise
``etc/promise/memcached-port`` and a usage report ``etc/report/memcached-usage``, and publishes
``ip`` and ``tcp_port`` with setConnectionDict.
"""

import ipaddress
import os
import sys

import zc.buildout

DEFAULT_PORT = 11211
DEFAULT_MEMORY_MB = 64

# The promise: memcached answers ``version`` on its port. It retries for a while because slapgrid
# checks promises right after supervisord (re)started the service.
PROMISE = """\
#!%(python)s
import socket, sys, time
deadline = time.monotonic() + 10
while True:
    try:
        with socket.create_connection((%(ip)r, %(port)d), timeout=2) as connection:
            connection.sendall(b"version\\r\\n")
            answer = connection.recv(64)
        if answer.startswith(b"VERSION "):
            sys.exit(0)
        problem = "unexpected answer %%r" %% answer
    except OSError as error:
        problem = str(error)
    if time.monotonic() > deadline:
        sys.exit("memcached on %(ip)s:%(port)d does not answer: %%s" %% problem)
    time.sleep(0.5)
"""


# The usage report: the node runs it with the path of a file to write (a
# partition_consumption.xsd document). It asks memcached for its ``stats`` and reports the CPU
# time used since the previous report (memcached's rusage, kept in var/memcached-usage.last) and
# the memory its items hold now. A memcached that does not answer (stopped) used nothing: the
# script writes no report and succeeds.
REPORT = """\
#!%(python)s
import os, socket, sys
LAST = %(last)r
try:
    with socket.create_connection((%(ip)r, %(port)d), timeout=5) as connection:
        connection.sendall(b"stats\\r\\n")
        data = b""
        while not data.endswith(b"END\\r\\n"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
except OSError:
    sys.exit(0)
stats = dict(line.split(" ", 2)[1:] for line in data.decode("ascii", "replace").splitlines()
             if line.startswith("STAT ") and line.count(" ") >= 2)
cpu = float(stats.get("rusage_user", 0)) + float(stats.get("rusage_system", 0))
try:
    with open(LAST) as handle:
        previous = float(handle.read())
except (OSError, ValueError):
    previous = 0.0
used = cpu - previous if cpu >= previous else cpu  # a restarted memcached starts again at 0
memory = int(stats.get("bytes", 0)) / 1048576.0
movement = ("<movement><resource>%%s</resource><title>%%s</title><reference>%%s</reference>"
            "<quantity>%%.6f</quantity><price>0</price><VAT/><category>%%s</category></movement>")
os.makedirs(os.path.dirname(os.path.abspath(sys.argv[1])), exist_ok=True)
with open(sys.argv[1], "w") as handle:
    handle.write("<consumption>" + movement %% ("cpu_time", "memcached CPU time (s)",
                                               %(partition)r, used, "cpu")
                 + movement %% ("memory", "memcached items (MiB)", %(partition)r, memory,
                               "memory") + "</consumption>")
with open(LAST, "w") as handle:
    handle.write(repr(cpu))
"""


def _write(path, text, mode=0o755):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)


def _number(parameters, name, default, low, high):
    """The integer instance parameter ``name`` within [low, high]; a UserError otherwise."""
    value = parameters.get(name, default)
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise zc.buildout.UserError(
            "instance parameter %s=%r: expected an integer from %d to %d" % (name, value, low, high))
    return number


def _ipv4(parameters):
    """The partition's first IPv4 address, from the ``ip_list`` slapgrid passes as a parameter."""
    for _interface, address in parameters.get("ip_list") or ():
        try:
            if ipaddress.ip_address(address).version == 4:
                return address
        except ValueError:
            continue
    raise zc.buildout.UserError("the partition has no IPv4 address to listen on")


class Template:
    """Writes the instance profile, with the recipe's and memcached's paths filled in."""

    def __init__(self, buildout, name, options):
        self.options = options

    def install(self):
        binary = self.options["memcached-binary"]
        if not os.access(binary, os.X_OK):
            raise zc.buildout.UserError(
                "%s is missing: install Debian's memcached package" % binary)
        with open(self.options["input"]) as handle:
            text = handle.read()
        text = (text.replace("@RECIPE_LOCATION@", self.options["recipe-location"])
                .replace("@MEMCACHED_BINARY@", binary))
        _write(self.options["output"], text, 0o644)
        return [self.options["output"]]

    update = install


class Instance:
    """Deploys one memcached in the partition and publishes where it listens."""

    def __init__(self, buildout, name, options):
        self.buildout = buildout
        self.options = options

    def install(self):
        from slapos import slap

        directory = self.buildout["buildout"]["directory"]
        connection = self.buildout["slap-connection"]
        client = slap.slap()
        client.initializeConnection(connection["server-url"],
                                    key_file=connection.get("key-file") or None,
                                    cert_file=connection.get("cert-file") or None)
        partition = client.registerComputerPartition(connection["computer-id"],
                                                     connection["partition-id"])
        parameters = partition.getInstanceParameterDict()
        ip = _ipv4(parameters)
        port = _number(parameters, "tcp-port", DEFAULT_PORT, 1, 65535)
        memory = _number(parameters, "memory-mb", DEFAULT_MEMORY_MB, 1, 65536)

        wrapper = os.path.join(directory, "etc", "service", "memcached")
        # -U 0: no UDP listener (memcached's UDP is an amplification risk and unused here).
        # memcached refuses to start as root without -u: a rootless node run by root keeps it so.
        as_root = " -u root" if os.geteuid() == 0 else ""
        _write(wrapper, "#!/bin/sh\nexec %s -l %s -p %d -U 0 -m %d%s\n" % (
            self.options["binary"], ip, port, memory, as_root))
        promise = os.path.join(directory, "etc", "promise", "memcached-port")
        _write(promise, PROMISE % {"python": sys.executable, "ip": ip, "port": port})

        report = os.path.join(directory, "etc", "report", "memcached-usage")
        _write(report, REPORT % {"python": sys.executable, "ip": ip, "port": port,
                                 "partition": connection["partition-id"],
                                 "last": os.path.join(directory, "var", "memcached-usage.last")})

        partition.setConnectionDict({"ip": ip, "tcp_port": str(port)})
        return [wrapper, promise, report]

    update = install
