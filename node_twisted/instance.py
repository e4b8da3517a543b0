"""Partitions: deploy, start, stop each as its master asks (spec sections 5.3 and 5.4).

A partition is processed when its ``timestamp`` differs from the one in its ``.timestamp`` file or
its periodicity has passed; otherwise it costs one look at its promises' anomaly when started
(and nothing when stopped). Processing copies the release's ``instance.cfg`` into the partition's
``buildout.cfg`` with the connection tail recipes read (``[slap-connection]`` and friends), runs buildout as an
asynchronous subprocess, writes the partition's supervisord group, starts or stops it, runs the
promises and reports ``started``, ``stopped`` or the error. A partition that failed is processed
again once its wait in :class:`~node_twisted.retries.Retries` is over, or at once when the master
asks something else of it (or its release got built); the log says why it failed once per new
reason.
"""

import dataclasses
import os
import pwd
import shutil
import stat

from twisted.internet import defer
from twisted.logger import Logger

from node_twisted import processes, promises, retries
from node_twisted.files import read_text, remove, write_if_changed
from node_twisted.progress import Progress
from node_twisted.slap_client import MasterUnreachable, SlapClientError, tolerated_report
from node_twisted.software import software_path

REQUIRED_PERMISSION = 0o750
ERROR_TAIL = 4000
# Unchanged partitions whose promises run at the same time (no-change cycle: 200 partitions
# checked one after the other took 200 promise start-ups end to end).
CHECK_CONCURRENCY = 4

TAIL_BEGIN = "# slapgate node: the connection tail appended to the instance profile"
TAIL_END = "# slapgate node: end of the connection tail"


class PartitionFailed(Exception):
    """Deploying a partition failed; the message is what the master is told."""


@dataclasses.dataclass
class Partition:
    """One partition as ``getFullComputerInformation`` describes it."""

    partition_id: str
    requested_state: str
    software_release_url: str | None
    parameters: dict
    access_status: str | None
    filter: dict

    @classmethod
    def from_slap(cls, obj):
        """From a marshalled ``ComputerPartition``."""
        attributes = obj.attributes
        document = attributes.get("_software_release_document")
        url = document.attributes.get("_software_release") if document is not None else None
        return cls(
            partition_id=attributes.get("_partition_id"),
            requested_state=attributes.get("_requested_state") or "destroyed",
            software_release_url=url,
            parameters=attributes.get("_parameter_dict") or {},
            access_status=attributes.get("_access_status"),
            filter=attributes.get("_filter_dict") or {},
        )

    @property
    def timestamp(self):
        """The master's timestamp of the partition's instance, as text (None when absent)."""
        value = self.parameters.get("timestamp")
        return None if value is None else str(value)


def certificate_files(config, partition_id):
    """(key file, certificate file) of a partition in ``certificate_repository_path``, named as
    upstream slapgrid names them (``<partition>.key``, ``<partition>.crt``); ("", "") without a
    repository."""
    repository = config.certificate_repository_path
    if not repository:
        return "", ""
    return (os.path.join(repository, partition_id + ".key"),
            os.path.join(repository, partition_id + ".crt"))


def tail_sections(config, partition):
    """The sections and values of the tail a partition's profile gets (spec section 5.3).

    They are what release recipes read: ``[slap-connection]`` (and the older ``[slap_connection]``
    spelling), ``[storage-configuration]``, ``[network-information]``, and ``[buildout]``
    settings that keep generated scripts in ``sbin`` and the instance run offline.
    """
    key_file, cert_file = certificate_files(config, partition.partition_id)
    connection = (("computer_id", config.computer_id), ("partition_id", partition.partition_id),
                  ("server_url", config.master_url),
                  ("software_release_url", partition.software_release_url),
                  ("key_file", key_file), ("cert_file", cert_file))
    return (
        ("buildout", (("bin-directory", "${buildout:directory}/sbin"), ("offline", "true"))),
        ("slap-connection", tuple((key.replace("_", "-"), value) for key, value in connection) + (
            ("shared-part-list", _lines(config.shared_part_list)),
            ("build-time-part-list", _lines(config.build_time_part_list)),
            ("requested-state", partition.requested_state))),
        ("slap_connection", connection),
        ("storage-configuration", (("storage-home", config.instance_storage_home),)),
        ("network-information", (("global-ipv4-network", config.ipv4_global_network),)),
    )


def _lines(text):
    """A multi-line buildout value: one item per indented line."""
    items = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return "".join("\n  " + item for item in items)


def profile_tail(config, partition):
    """The tail for ``partition``: the sections of :func:`tail_sections` as buildout text."""
    lines = [TAIL_BEGIN]
    for section, values in tail_sections(config, partition):
        values = [(key, "" if value is None else str(value)) for key, value in values]
        lines.append("[%s]" % section)
        lines.extend(("%s =%s" % (key, value)) if value.startswith("\n")
                     else ("%s = %s" % (key, value)).rstrip() for key, value in values)
        lines.append("")
    lines.append(TAIL_END)
    return "\n".join(lines) + "\n"


class PartitionDeployer:
    """Processes the computer's partitions: those with work in turn, then the unchanged ones."""

    log = Logger()

    def __init__(self, reactor, config, client, supervisor, progress=None, retry_book=None):
        self.reactor = reactor
        self.config = config
        self.client = client
        self.supervisor = supervisor
        self.progress = progress or Progress(reactor, None)
        self.retries = retry_book or retries.Retries(reactor, config.cycle_interval)

    def path(self, partition_id):
        """The partition's directory."""
        return os.path.join(self.config.instance_root, partition_id)

    def periodicity(self, partition):
        """Seconds after which an unchanged partition is processed again."""
        text = read_text(os.path.join(
            software_path(self.config, partition.software_release_url), "periodicity"))
        try:
            return int(text) if text is not None else self.config.maximum_periodicity
        except ValueError:
            return self.config.maximum_periodicity

    def up_to_date(self, partition):
        """Whether ``.timestamp`` says the partition is deployed as the master wants it."""
        path = os.path.join(self.path(partition.partition_id), ".timestamp")
        if partition.timestamp is None or read_text(path) != partition.timestamp:
            return False
        periodicity = self.periodicity(partition)
        return periodicity < 0 or self.reactor.seconds() <= os.path.getmtime(path) + periodicity

    @defer.inlineCallbacks
    def process(self, partitions, restart_running=False):
        """Process ``partitions``; a dict partition id → outcome.

        Outcomes: ``skipped`` (free), ``unchanged``, ``started``, ``stopped``, ``error``,
        ``promise-error``, ``backoff`` (failed before, its next try not due).
        ``restart_running`` starts the groups of unchanged started partitions (after supervisord
        was relaunched). Raises :class:`MasterUnreachable` once all are done when the master went
        away.
        """
        outcomes, unreachable = {}, None
        partitions = [p for p in partitions if os.path.isdir(self.path(p.partition_id))]
        self.retries.keep_only(p.partition_id for p in partitions
                               if p.software_release_url is not None)
        unchanged = [p for p in partitions
                     if p.software_release_url is not None and self.up_to_date(p)]
        # Partitions with work first, one after the other and in their order: a change on the
        # master waits for no unchanged partition's promises. Then the unchanged ones, whose
        # promises run CHECK_CONCURRENCY partitions at a time.
        for partition in [p for p in partitions if p not in unchanged]:
            try:
                outcomes[partition.partition_id] = yield self.process_one(partition,
                                                                          restart_running)
            except MasterUnreachable as error:
                unreachable = error
                outcomes[partition.partition_id] = "offline"
        semaphore = defer.DeferredSemaphore(CHECK_CONCURRENCY)
        checks = yield defer.DeferredList(
            [semaphore.run(self.process_one, p, restart_running) for p in unchanged],
            consumeErrors=True)
        for partition, (ok, result) in zip(unchanged, checks):
            if ok:
                outcomes[partition.partition_id] = result
            elif result.check(MasterUnreachable):
                unreachable = result.value
                outcomes[partition.partition_id] = "offline"
            else:
                result.raiseException()
        if unreachable is not None:
            raise unreachable
        return outcomes

    @defer.inlineCallbacks
    def process_one(self, partition, restart_running=False):
        """Bring one partition to its requested state; its outcome."""
        pid, path = partition.partition_id, self.path(partition.partition_id)
        if partition.software_release_url is None:
            for stray in (".timestamp",):
                remove(os.path.join(path, stray))
            return "skipped"
        remove(os.path.join(path, ".slapos-request-transaction-" + pid))
        if self.up_to_date(partition):
            if partition.requested_state == "started":
                if restart_running:
                    yield self.supervisor.start_partition(pid)
                yield self.anomaly_check(partition)
            return "unchanged"
        signature = self.signature(partition)
        if self.retries.waiting(pid, signature):
            return "backoff"
        remove(os.path.join(path, ".timestamp"))
        remove(os.path.join(path, ".slapgrid-%s-error.log" % pid))
        self.progress.begin("partitions", pid, "deploying")
        try:
            outcome = yield self._deploy(partition)
        except MasterUnreachable:
            self.progress.end("partitions", pid, "offline")
            raise
        except (PartitionFailed, promises.PromiseFailed, SlapClientError, OSError) as error:
            self.progress.end("partitions", pid, "promise-error" if isinstance(
                error, promises.PromiseFailed) else "error")
            message = str(error)
            with open(os.path.join(path, ".slapgrid-%s-error.log" % pid), "w") as handle:
                handle.write(message)
            wait, news = self.retries.failed(pid, signature, retries.reason(message))
            if news:
                self.log.error("partition {pid} failed: {why}\n(tried again in {wait:.0f} "
                               "s, the wait doubling up to {cap:.0f} s while it fails, or at "
                               "once when the master changes it)", pid=pid, wait=wait,
                               cap=self.retries.cap, why=retries.excerpt(message))
            yield self._report(self.client.partition_error, pid, message[-ERROR_TAIL:])
            return ("promise-error" if isinstance(error, promises.PromiseFailed) else "error")
        except BaseException:
            self.progress.end("partitions", pid, "error")
            raise
        self.progress.end("partitions", pid, outcome)
        if self.retries.succeeded(pid):
            self.log.info("partition {pid} {outcome} after failing", pid=pid, outcome=outcome)
        if partition.timestamp is not None:
            with open(os.path.join(path, ".timestamp"), "w") as handle:
                handle.write(partition.timestamp)
        return outcome

    def signature(self, partition):
        """What a failure of ``partition`` is recorded against: what the master asks of it and
        whether its release is built, so a change of either is tried at once."""
        release = software_path(self.config, partition.software_release_url)
        return (partition.timestamp, partition.requested_state, partition.software_release_url,
                os.path.exists(os.path.join(release, ".completed")))

    @defer.inlineCallbacks
    def _deploy(self, partition):
        pid = partition.partition_id
        state = partition.requested_state
        if state == "started":
            yield self.install(partition)
            yield self.start(partition)
            results = yield self.run_promises(partition)
            promises.check(results)
            yield self.client.partition_started(pid)
            yield self._related_instances(pid)
            return "started"
        if state == "stopped":
            try:
                yield self.install(partition)
            finally:
                yield self.supervisor.stop_partition(pid)
            yield self._report(self.client.partition_stopped, pid)
            yield self._related_instances(pid)
            return "stopped"
        if state == "destroyed":
            yield self.supervisor.stop_partition(pid)
            yield self._report(self.client.partition_stopped, pid)
            return "stopped"
        raise PartitionFailed("Computer Partition %s: unknown requested state %r"
                              % (pid, state))

    @defer.inlineCallbacks
    def anomaly_check(self, partition):
        """Run the promises of an unchanged started partition; report a change of health."""
        pid = partition.partition_id
        results = yield self.run_promises(partition, check_anomaly=True)
        status = partition.access_status or ""
        try:
            promises.check(results)
        except promises.PromiseFailed as failure:
            if not status.startswith("#error"):
                yield self._report(self.client.partition_error, pid, str(failure)[-ERROR_TAIL:])
            return
        if not status or status.startswith("#error"):
            yield self._report(self.client.partition_started, pid)

    def run_promises(self, partition, check_anomaly=False):
        """Run the partition's promises: plugins tested (forced) after a deployment, asked for
        an anomaly (when their periodicity is due) on the check of an unchanged partition."""
        pid = partition.partition_id
        repository = self.config.certificate_repository_path
        context = promises.PluginContext(
            master_url=self.config.master_url, computer_id=self.config.computer_id,
            partition_id=pid,
            partition_key=os.path.join(repository, pid + ".key") if repository else None,
            partition_cert=os.path.join(repository, pid + ".crt") if repository else None)
        return promises.run_promises(
            self.reactor, self.path(pid), self.config.promise_timeout,
            self.environment(partition), context=context, check_anomaly=check_anomaly,
            force=not check_anomaly, concurrency=self.config.promise_concurrency)

    def environment(self, partition):
        """The environment of the partition's subprocesses (HOME is its owner's)."""
        path = self.path(partition.partition_id)
        owner = os.stat(path).st_uid
        try:
            home = pwd.getpwuid(owner).pw_dir
        except KeyError:
            home = path
        return processes.clean_environment(
            home, {"SLAPGRID_INSTANCE_ROOT": self.config.instance_root})

    @defer.inlineCallbacks
    def update_certificate(self, partition):
        """Fetch the partition's key and certificate into ``certificate_repository_path`` (as
        slapgrid does before each deployment); nothing without a repository.

        The key is mode 0600, the certificate 0644; as root both belong to the partition's user,
        who runs its buildout and services. Files are rewritten only when the master hands out
        another pair.
        """
        key_file, cert_file = certificate_files(self.config, partition.partition_id)
        if not key_file:
            return
        pair = yield self.client.partition_certificate(partition.partition_id)
        uid = gid = None
        if os.getuid() == 0:
            info = os.stat(self.path(partition.partition_id))
            uid, gid = info.st_uid, info.st_gid
        os.makedirs(self.config.certificate_repository_path, mode=0o755, exist_ok=True)
        for text, path, mode in ((pair["key"], key_file, 0o600),
                                 (pair["certificate"], cert_file, 0o644)):
            if write_if_changed(path, text, mode, uid, gid):
                self.log.info("partition {pid}: wrote {path}", pid=partition.partition_id,
                              path=path)

    def remove_certificate(self, partition_id):
        """Delete the partition's key and certificate from the repository (on destruction)."""
        for path in certificate_files(self.config, partition_id):
            if path:
                remove(path)

    @defer.inlineCallbacks
    def install(self, partition):
        """Fetch the partition's certificate, write its profile and run its buildout."""
        path = self.path(partition.partition_id)
        yield self.update_certificate(partition)
        release = software_path(self.config, partition.software_release_url)
        link = os.path.join(path, "software_release")
        if os.path.islink(link) and os.readlink(link) != release:
            os.unlink(link)
        if not os.path.lexists(link):
            os.symlink(release, link)
        info = os.stat(path)
        permission = stat.S_IMODE(info.st_mode)
        if permission != REQUIRED_PERMISSION:
            raise PartitionFailed("Wrong permissions in %s: actual permissions are: 0%o, wanted "
                                  "are 0%o" % (path, permission, REQUIRED_PERMISSION))
        if not os.path.exists(release):
            raise PartitionFailed("Software Release %s is not present on system.\nCannot deploy "
                                  "instance." % partition.software_release_url)
        template = os.path.join(release, "instance.cfg")
        if not os.path.exists(template):
            legacy = os.path.join(release, "template.cfg")
            if not os.path.exists(legacy):
                raise PartitionFailed("Software Release %s is not correctly installed.\nMissing "
                                      "file: %s" % (partition.software_release_url, template))
            template = legacy
        profile = os.path.join(path, "buildout.cfg")
        shutil.copy(template, profile)
        with open(profile, "a") as handle:
            handle.write("\n\n" + profile_tail(self.config, partition))
        os.chmod(profile, 0o640)
        if os.getuid() == 0:
            os.chown(profile, -1, info.st_gid)
        env = self.environment(partition)
        feed = self.progress.output("partitions", partition.partition_id)
        bin_directory = os.path.join(release, "bin")
        try:
            bootstraps = [n for n in os.listdir(bin_directory) if n.startswith("bootstrap")]
        except OSError:
            bootstraps = []
        if len(bootstraps) > 1:
            raise PartitionFailed("More than one bootstrap candidate found.")
        if bootstraps:
            bootstrap = os.path.join(bin_directory, bootstraps[0])
            result = yield processes.run(self.reactor, _with_shebang(bootstrap), path, env,
                                         uid=info.st_uid, gid=info.st_gid, output=feed)
            if not result.ok:
                raise PartitionFailed("Failed to bootstrap buildout in %r.:\n%s\n" % (
                    path, result.tail(ERROR_TAIL)))
            binary = os.path.join(path, "sbin", "buildout")
        else:
            binary = os.path.join(bin_directory, "buildout")
        result = yield processes.run(self.reactor, _with_shebang(binary) + ["-U"], path, env,
                                     timeout=self.config.partition_timeout,
                                     uid=info.st_uid, gid=info.st_gid, output=feed)
        if not result.ok:
            how = "timed out" if result.timed_out else "exit code %s" % result.exit_code
            raise PartitionFailed("Failed to run buildout profile in directory %r (%s):\n%s\n" % (
                path, how, result.tail(ERROR_TAIL)))
        delay_file = os.path.join(path, ".slapos-retention-lock-delay")
        if not os.path.exists(delay_file):
            with open(delay_file, "w") as handle:
                handle.write(str(_retention_delay(partition)))

    @defer.inlineCallbacks
    def start(self, partition):
        """Write the partition's supervisord group, apply it and start it."""
        pid, path = partition.partition_id, self.path(partition.partition_id)
        info = os.stat(path)
        self.supervisor.write_partition(pid, path, info.st_uid, info.st_gid)
        yield self.supervisor.update()
        yield self.supervisor.start_partition(pid)

    @defer.inlineCallbacks
    def _related_instances(self, pid):
        transaction = os.path.join(self.path(pid), ".slapos-request-transaction-" + pid)
        text = read_text(transaction)
        if text is None:
            return
        titles = [line for line in text.splitlines() if line]
        yield self._report(self.client.partition_related_instances, pid, titles)
        remove(transaction)

    def _report(self, call, *args):
        return tolerated_report(self.log, call, *args)


def _retention_delay(partition):
    try:
        return float(partition.filter.get("retention_delay", 0) or 0)
    except (TypeError, ValueError):
        return 0.0


def _with_shebang(script):
    """Run ``script`` through the interpreter its ``#!`` line names (as slapgrid does)."""
    try:
        with open(script, "rb") as handle:
            first = handle.readline().decode("utf-8", "replace")
    except OSError:
        return [script]
    if first.startswith("#!"):
        return first[2:].split() + [script]
    return [script]
