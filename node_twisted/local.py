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
"""

import os
import re
import shutil
import sys

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


def main(argv):
    """The command: prepares DIR (see the module), prints the configuration's path, and a line
    when its master moved."""
    if len(argv) != 3:
        sys.exit("usage: python -m node_twisted.local DIR MASTER_URL BUILDOUT")
    path, was = write_or_follow(*argv)
    if was is not None:
        print("%s: master_url is now %s (was %s)" % (path, argv[1], was or "not set"))
    client_configuration(argv[0], argv[1])
    demo_release(argv[0])
    print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
