"""A rootless node beside a local master (``make run``): its ``slapos.cfg``.

``python -m node_twisted.local DIR MASTER_URL BUILDOUT`` writes ``DIR/slapos.cfg`` unless it
exists: computer ``COMP-0`` with :data:`PARTITIONS` partitions on 127.0.2.x under ``DIR/inst``,
releases under ``DIR/soft``, built with ``BUILDOUT``. ``slapgate master --node DIR/slapos.cfg``
then runs the agent in the master's process. An existing file is kept as it is (its partitions
and any edit), except that its ``master_url`` follows the master: ``make run LISTEN=...`` on
another port moves the node with it, and says so.

Beside it go what the demo needs: ``DIR/slapos-client.cfg``, the upstream ``slapos`` CLI's
configuration for this master, and ``DIR/demo/memcached``, a copy of the memcached demo release
(``tests/memcached``) with its ``@RELEASE_DIR@`` placeholder filled, whose ``software.cfg`` the
master registers as product :data:`DEMO_PRODUCT` (``slapgate master --demo-release``).

The node's supervisord, and so the instances, outlive the master on purpose, as a SlapOS node's
instances outlive slapgrid; ``python -m node_twisted.local --stop DIR`` (``make stop``) stops
them: supervisord stops its processes, then exits.
"""

import os
import re
import shutil
import signal
import sys
import time

COMPUTER = "COMP-0"
PARTITIONS = 10
DEMO_PRODUCT = "memcached-demo"
DEMO_SOURCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests",
                           "memcached")
_MASTER_URL = re.compile(r"^master_url\s*[=:]\s*(.*)$", re.MULTILINE)


def configuration(directory, master_url, buildout):
    """The text of the local node's ``slapos.cfg``."""
    directory = os.path.abspath(directory)
    return (
        "[slapos]\n"
        "computer_id = %(computer)s\n"
        "master_url = %(master_url)s\n"
        "software_root = %(dir)s/soft\n"
        "instance_root = %(dir)s/inst\n"
        "buildout = %(buildout)s\n"
        "cycle_interval = 10\n"
        "root_check = False\n\n"
        "[slapformat]\n"
        "partition_amount = %(partitions)d\n"
        "ipv4_local_network = 127.0.2.0/24\n"
        "computer_xml = %(dir)s/computer.xml\n"
        "alter_user = false\n"
        "alter_network = false\n"
        "create_tap = false\n"
        % {"computer": COMPUTER, "master_url": master_url, "dir": directory,
           "buildout": os.path.abspath(buildout), "partitions": PARTITIONS})


def write_or_follow(directory, master_url, buildout):
    """Write ``directory/slapos.cfg`` unless it exists, else point its ``master_url`` at
    ``master_url``; (its path, the master_url it had when that changed, else None)."""
    path = os.path.join(directory, "slapos.cfg")
    if not os.path.exists(path):
        os.makedirs(directory, exist_ok=True)
        with open(path, "w") as handle:
            handle.write(configuration(directory, master_url, buildout))
        return path, None
    with open(path) as handle:
        text = handle.read()
    found = _MASTER_URL.search(text)
    if found is not None and found.group(1).strip() == master_url:
        return path, None
    if found is None:
        text = text.replace("[slapos]\n", "[slapos]\nmaster_url = %s\n" % master_url, 1)
    else:
        text = text[:found.start()] + "master_url = %s" % master_url + text[found.end():]
    with open(path, "w") as handle:
        handle.write(text)
    return path, (found.group(1).strip() if found is not None else "")


def client_configuration(directory, master_url):
    """Write ``directory/slapos-client.cfg`` for the upstream ``slapos`` CLI; its path."""
    path = os.path.join(directory, "slapos-client.cfg")
    with open(path, "w") as handle:
        handle.write("[slapos]\nmaster_url = %s\n" % master_url)
    return path


def demo_release(directory, source=DEMO_SOURCE):
    """Copy the demo release into ``directory/demo/memcached`` unless it is there, with
    ``@RELEASE_DIR@`` filled (zc.buildout 6 has no ``${:_profile_base_location_}``); the URL
    (absolute path) of its ``software.cfg``."""
    target = os.path.join(os.path.abspath(directory), "demo", "memcached")
    software = os.path.join(target, "software.cfg")
    if not os.path.exists(software):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.egg-info",
                                                                      "__pycache__"))
        with open(software) as handle:
            text = handle.read()
        with open(software, "w") as handle:
            handle.write(text.replace("@RELEASE_DIR@", target))
    return software


def stop(directory, timeout=60):
    """Stop the supervisord of the node in ``directory`` (SIGTERM: it stops its processes, then
    exits); its pid, or None when none was running. Raises RuntimeError when it outlives
    ``timeout`` seconds."""
    from node_twisted import config as node_config
    from node_twisted.supervisor import paths

    settings = node_config.load(os.path.join(directory, "slapos.cfg"))
    try:
        with open(paths(settings.instance_root)["pid"]) as handle:
            pid = int(handle.read().strip())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return None  # no pid file, or no such process: nothing runs
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not running(pid):
            return pid
        time.sleep(0.1)
    raise RuntimeError("supervisord (pid %d) still runs after %d s" % (pid, timeout))


def running(pid):
    """Whether process ``pid`` runs (a zombie, ended but not reaped yet, does not)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def main(argv):
    """The command: prepares DIR (see the module), prints the configuration's path, and a line
    when its master moved."""
    if len(argv) == 2 and argv[0] == "--stop":
        try:
            pid = stop(argv[1])
        except Exception as error:  # a missing configuration, a supervisord that hangs
            sys.exit("cannot stop the node's instances: %s" % error)
        print("stopped supervisord (pid %d) and the instances it ran" % pid if pid
              else "the node's supervisord was not running")
        return
    if len(argv) != 3:
        sys.exit("usage: python -m node_twisted.local DIR MASTER_URL BUILDOUT\n"
                 "       python -m node_twisted.local --stop DIR")
    path, was = write_or_follow(*argv)
    if was is not None:
        print("%s: master_url is now %s (was %s)" % (path, argv[1], was or "not set"))
    client_configuration(argv[0], argv[1])
    demo_release(argv[0])
    print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
