"""A rootless node beside a local master (``make run``): its ``slapos.cfg``, written once.

``python -m node_twisted.local DIR MASTER_URL BUILDOUT`` writes ``DIR/slapos.cfg`` unless it
exists: computer ``COMP-0`` with :data:`PARTITIONS` partitions on 127.0.2.x under ``DIR/inst``,
releases under ``DIR/soft``, built with ``BUILDOUT``. ``slapgate master --node DIR/slapos.cfg``
then runs the agent in the master's process.
"""

import os
import sys

COMPUTER = "COMP-0"
PARTITIONS = 10


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


def write_once(directory, master_url, buildout):
    """Write ``directory/slapos.cfg`` unless it exists; its path."""
    path = os.path.join(directory, "slapos.cfg")
    if not os.path.exists(path):
        os.makedirs(directory, exist_ok=True)
        with open(path, "w") as handle:
            handle.write(configuration(directory, master_url, buildout))
    return path


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: python -m node_twisted.local DIR MASTER_URL BUILDOUT")
    print(write_once(*sys.argv[1:]))
