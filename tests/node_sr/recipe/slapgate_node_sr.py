"""Buildout recipes of the test software release.

``template`` writes the instance profile at software time. ``instance`` makes a partition: a
process in etc/run, a promise in etc/promise, connection parameters published with the slap
library; the default software type also requests a child (software type ``child``) and publishes
what the child published.
"""

import os


def _write(path, text, mode=0o755):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)


class Template:
    def __init__(self, buildout, name, options):
        self.options = options

    def install(self):
        with open(self.options["input"]) as handle:
            text = handle.read()
        for placeholder, option in (("@EGGS_DIRECTORY@", "eggs-directory"),
                                    ("@DEVELOP_EGGS_DIRECTORY@", "develop-eggs-directory")):
            text = text.replace(placeholder, self.options[option])
        _write(self.options["output"], text, 0o644)
        return [self.options["output"]]

    update = install


class Instance:
    def __init__(self, buildout, name, options):
        self.buildout = buildout
        self.options = options

    def install(self):
        directory = self.buildout["buildout"]["directory"]
        connection = self.buildout["slap-connection"]
        _write(os.path.join(directory, "etc", "run", "sleeper"),
               "#!/bin/sh\nexec sleep 100000\n")
        _write(os.path.join(directory, "etc", "promise", "sleeper-exists"),
               "#!/bin/sh\ntest -x '%s'\n" % os.path.join(directory, "etc", "run", "sleeper"))

        from slapos import slap
        client = slap.slap()
        client.initializeConnection(connection["server-url"],
                                    key_file=connection.get("key-file") or None,
                                    cert_file=connection.get("cert-file") or None)
        partition = client.registerComputerPartition(connection["computer-id"],
                                                     connection["partition-id"])
        parameters = partition.getInstanceParameterDict()
        published = {"greeting": "hello %s" % parameters.get("name", "nobody"),
                     "partition": connection["partition-id"]}
        if parameters.get("slap_software_type", "default") != "child":
            child = partition.request(
                software_release=connection["software-release-url"], software_type="child",
                partition_reference="child0", partition_parameter_kw={"name": "child"},
                state=connection["requested-state"])
            try:
                published["child-greeting"] = child.getConnectionParameter("greeting")
            except Exception:  # not published yet: the next run will see it
                published["child-greeting"] = "pending"
        partition.setConnectionDict(published)
        return []

    update = install
