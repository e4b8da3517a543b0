"""What a node cycle must do, decided before anything is done: ``plan(desired, installed, now)``.

The desired state is the master's answer to one poll (the computer's releases and partitions);
``installed`` is what the agent recorded it did: for each partition deployed, the digest of the
inputs it was deployed from (:func:`inputs_digest`: the release, the requested state and the
parameters, which hold the master's timestamp and the shared instances' list), when, and how
often its release wants it processed again; and the releases built. :func:`plan` diffs the two,
as buildout diffs the wanted parts against ``.installed.cfg``, into a :class:`Plan` of sets:

- partitions: ``deploy`` (to bring up as started: new, changed, or due again), ``stop`` (to bring
  to stopped: new or changed), ``check`` (started and unchanged: only their promises run),
  ``destroy`` (the master wants them destroyed and they hold a release), ``unchanged`` (nothing
  to do: stopped and unchanged, or free);
- releases: ``build`` (wanted and not built) and ``remove`` (unwanted and present).

It runs no process and touches no file: the cycle acts on each set afterwards.
"""

import hashlib
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Record:
    """What the agent recorded of one deployed partition: the digest of its inputs, when, and
    its release's periodicity in seconds (negative: never processed again while unchanged)."""

    digest: str
    recorded_at: float
    periodicity: float = -1


@dataclass(frozen=True)
class Installed:
    """What the agent did so far: ``partitions`` (partition id → Record, for those deployed),
    ``present`` (the ids of the partitions whose directory holds something) and ``built`` (the
    URLs of the releases built)."""

    partitions: dict = field(default_factory=dict)
    present: frozenset = frozenset()
    built: frozenset = frozenset()


@dataclass(frozen=True)
class Plan:
    """The sets of one cycle, partition ids and release URLs in the poll's order."""

    deploy: tuple = ()
    stop: tuple = ()
    check: tuple = ()
    destroy: tuple = ()
    unchanged: tuple = ()
    build: tuple = ()
    remove: tuple = ()

    @property
    def idle(self):
        """True when the cycle has nothing to deploy, stop, destroy, build or remove."""
        return not (self.deploy or self.stop or self.destroy or self.build or self.remove)


def inputs_digest(partition):
    """The SHA-256 (hex) of what a partition is deployed from: its release, requested state and
    parameters (the master's timestamp and the shared instances' list among them)."""
    document = json.dumps([partition.software_release_url, partition.requested_state,
                           partition.parameters], sort_keys=True, separators=(",", ":"),
                          default=str)
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def _due(record, now):
    return record.periodicity >= 0 and now > record.recorded_at + record.periodicity


def plan(releases, partitions, installed, now):
    """The Plan of a cycle for the poll's ``releases`` ((url, requested state) pairs) and
    ``partitions`` (objects with ``partition_id``, ``requested_state``,
    ``software_release_url`` and ``parameters``), given what is ``installed`` at ``now``."""
    sets = {name: [] for name in ("deploy", "stop", "check", "destroy", "unchanged", "build",
                                  "remove")}
    for url, state in releases:
        if state == "available" and url not in installed.built:
            sets["build"].append(url)
        elif state == "destroyed" and url in installed.built:
            sets["remove"].append(url)
    for partition in partitions:
        pid = partition.partition_id
        if partition.software_release_url is None:
            sets["unchanged"].append(pid)
            continue
        if partition.requested_state == "destroyed":
            sets["destroy" if pid in installed.present else "unchanged"].append(pid)
            continue
        record = installed.partitions.get(pid)
        current = (record is not None and record.digest == inputs_digest(partition)
                   and not _due(record, now))
        if partition.requested_state == "started":
            sets["check" if current else "deploy"].append(pid)
        elif partition.requested_state == "stopped":
            sets["unchanged" if current else "stop"].append(pid)
        else:  # a state the agent does not know: tried, and reported as an error
            sets["deploy"].append(pid)
    return Plan(**{name: tuple(items) for name, items in sets.items()})
