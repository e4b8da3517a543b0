"""Destroying partitions the master wants destroyed (the ``node report`` half of spec 5.4).

A destroyed partition is stopped and reported stopped; then, unless its retention lock holds it
(``.slapos-retention-lock-delay`` days from the first destruction request), its ``sbin/destroy``
runs, every file inside its directory is deleted (the directory stays, ready for another
instance) and its key and certificate in ``certificate_repository_path``, its supervisord group
goes, and it is reported destroyed so the master frees it.
"""

import os
import shutil
import time

from twisted.internet import defer, threads
from twisted.logger import Logger

from node_twisted import processes
from node_twisted.progress import Progress
from node_twisted.slap_client import MasterUnreachable, SlapClientError, clip, \
    tolerated_report

DELAY_FILE = ".slapos-retention-lock-delay"
DATE_FILE = ".slapos-retention-lock-date"


def _read_float(path):
    try:
        with open(path) as handle:
            return float(handle.read().strip())
    except (OSError, ValueError):
        return None


def retention_allows(path, now=None):
    """Whether the partition at ``path`` may be wiped now; starts the retention clock if needed."""
    now = time.time() if now is None else now
    delay = _read_float(os.path.join(path, DELAY_FILE))
    if delay is None or delay <= 0:
        return True
    date_file = os.path.join(path, DATE_FILE)
    date = _read_float(date_file)
    if date is None:
        with open(date_file, "w") as handle:
            handle.write(str(int(now) + delay * 24 * 3600))
        return False
    return now >= date


def wipe(path):
    """Delete everything inside the directory ``path`` (not the directory itself)."""
    for name in os.listdir(path):
        target = os.path.join(path, name)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target, ignore_errors=True)
            if os.path.exists(target):  # read-only directories inside
                for directory, names, _ in os.walk(target):
                    for sub in names:
                        os.chmod(os.path.join(directory, sub), 0o700)
                shutil.rmtree(target)
        else:
            os.unlink(target)


class PartitionDestroyer:
    """Destroys the partitions the master marks destroyed."""

    log = Logger()

    def __init__(self, reactor, config, client, supervisor, deployer, progress=None):
        self.reactor = reactor
        self.config = config
        self.client = client
        self.supervisor = supervisor
        self.deployer = deployer
        self.progress = progress or Progress(reactor, None)

    @defer.inlineCallbacks
    def process(self, partitions):
        """Destroy each destroyed partition holding a release; a dict partition id → outcome."""
        outcomes = {}
        for partition in partitions:
            path = self.deployer.path(partition.partition_id)
            if (partition.requested_state != "destroyed"
                    or partition.software_release_url is None or not os.path.isdir(path)):
                continue
            outcomes[partition.partition_id] = yield self.destroy(partition)
        return outcomes

    @defer.inlineCallbacks
    def destroy(self, partition):
        """Stop, wipe and report one partition; ``destroyed``, ``retained`` or ``refused``
        (also its state in the progress view)."""
        pid = partition.partition_id
        self.progress.begin("partitions", pid, "destroying")
        try:
            outcome = yield self._destroy(partition)
        except BaseException:
            self.progress.end("partitions", pid, "error")
            raise
        self.progress.end("partitions", pid, outcome)
        return outcome

    @defer.inlineCallbacks
    def _destroy(self, partition):
        pid = partition.partition_id
        path = self.deployer.path(pid)
        yield self.supervisor.stop_partition(pid)
        yield self._report(self.client.partition_stopped, pid)
        if not retention_allows(path, self.reactor.seconds()):
            self.log.info("partition {pid} kept by its retention lock", pid=pid)
            return "retained"
        destroy_script = os.path.join(path, "sbin", "destroy")
        if os.access(destroy_script, os.X_OK):
            info = os.stat(path)
            result = yield processes.run(self.reactor, [destroy_script], path,
                                         self.deployer.environment(partition),
                                         uid=info.st_uid, gid=info.st_gid)
            if not result.ok:
                self.log.warn("partition {pid}: sbin/destroy failed: {tail}", pid=pid,
                              tail=clip(result.output, 500, keep="end"))
        yield threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), wipe, path)
        self.deployer.remove_certificate(pid)
        self.supervisor.remove_partition(pid)
        try:
            yield self.client.partition_destroyed(pid)
        except MasterUnreachable:
            raise
        except SlapClientError as error:
            self.log.info("partition {pid} wiped, the master keeps it for now: {error}",
                          pid=pid, error=error)
            return "refused"
        self.log.info("partition {pid} destroyed", pid=pid)
        return "destroyed"

    def _report(self, call, *args):
        return tolerated_report(self.log, call, *args)
