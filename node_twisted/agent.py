"""The node agent: one cycle is format (if the layout changed), software, instances, usage
reports and destruction.

Each phase reads the computer afresh from the master. When the master cannot be reached the cycle
ends *offline*: supervisord is (re)started if needed and every configured process started, so the
instances keep running; the next cycle tries again. ``run_forever`` repeats cycles every
``cycle_interval`` seconds (a cycle never overlaps the next), sooner when the master changes the
computer or when a failing release or partition is due for its next try: a failure waits before
it is tried again, the wait doubling up to ``cycle_interval`` (:mod:`node_twisted.retries`), so a
release that cannot build costs a few tries an interval, not a cycle after another.
"""

import dataclasses
import os

from twisted.internet import defer, task
from twisted.python import failure
from twisted.logger import Logger

from node_twisted import format as node_format
from node_twisted import users
from node_twisted.retries import Retries
from node_twisted.progress import Progress
from node_twisted.destruction import PartitionDestroyer
from node_twisted.instance import Partition, PartitionDeployer
from node_twisted.slap_client import MasterUnreachable, SlapClient, SlapClientError, Throttled
from node_twisted.software import SoftwareInstaller
from node_twisted.supervisor import Supervisor
from node_twisted.usage import UsageReporter

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_PROMISE = 2
EXIT_OFFLINE = 3
MAX_WATCH = 60  # seconds: the longest wait watchComputer accepts


@dataclasses.dataclass
class CycleResult:
    """What one cycle did, phase by phase (dicts of url or partition id → outcome; ``usage`` is
    the number of usage movements sent)."""

    formatted: str = "unchanged"
    software: dict = dataclasses.field(default_factory=dict)
    instances: dict = dataclasses.field(default_factory=dict)
    destroyed: dict = dataclasses.field(default_factory=dict)
    usage: int = 0
    offline: bool = False
    problems: list = dataclasses.field(default_factory=list)
    retry_after: int = 0  # seconds the master asked the node to wait (HTTP 429)

    @property
    def exit_code(self):
        """slapgrid's exit codes: 3 offline, 2 a promise failed, 1 anything else failed (or still
        waiting to be tried again after failing), 0."""
        if self.offline:
            return EXIT_OFFLINE
        if "promise-error" in self.instances.values():
            return EXIT_PROMISE
        failed = {"error", "backoff"}
        if (self.problems or failed & set(self.software.values())
                or failed & set(self.instances.values())):
            return EXIT_FAILED
        return EXIT_OK

    def summary(self):
        """What the cycle ended with, for saying it once per change: a partition or release
        waiting after a failure counts as failed, and nothing done as unchanged."""
        def settled(outcomes):
            return sorted((key, "error" if value == "backoff" else value)
                          for key, value in outcomes.items())
        return (self.exit_code, settled(self.software), settled(self.instances),
                sorted(self.destroyed.items()), self.problems)


class NodeAgent:
    """The node: its configuration, its master client, supervisord and the phases."""

    log = Logger()

    def __init__(self, reactor, config, client=None, clock=None):
        """``clock`` (the reactor unless given) times the loop and the waits after failures;
        processes and the master's connections stay on ``reactor``."""
        self.reactor = reactor
        self.clock = clock or reactor
        self.config = config
        self.client = client or SlapClient(reactor, config.master_url, config.computer_id,
                                           config.key_file, config.cert_file,
                                           ca_file=config.master_ca_file)
        self.supervisor = Supervisor(reactor, config)
        self.progress = Progress(reactor, config.progress_file)
        cap = max(config.cycle_interval, 1)
        self.software = SoftwareInstaller(reactor, config, self.client, self.progress,
                                          Retries(self.clock, cap))
        self.deployer = PartitionDeployer(reactor, config, self.client, self.supervisor,
                                          self.progress, Retries(self.clock, cap))
        self.destroyer = PartitionDestroyer(reactor, config, self.client, self.supervisor,
                                            self.deployer, self.progress)
        self.usage = UsageReporter(reactor, config, self.client, self.deployer)
        self._running = False
        self._done = None
        self._said = None
        self.cycles = 0
        self.last_result = None
        self.waiting_until = None

    def serve_progress(self):
        """Serve the progress page on 127.0.0.1 when ``progress_http_port`` is set; the
        listening port (stopped with the reactor), or None."""
        if self.config.progress_http_port is None:
            return None
        from node_twisted import progress_http

        return progress_http.listen(self.reactor, self.progress, self.config.progress_http_port)

    @defer.inlineCallbacks
    def format_if_needed(self):
        """Lay out the partitions; post the computer when that layout is new to the master."""
        configuration = node_format.layout(self.config)
        xml = node_format.encode(configuration)
        if xml == node_format.posted_layout(self.config) and all(
                os.path.isdir(p["path"]) for p in configuration["partition_list"]):
            return "unchanged"
        if self.config.format.alter_user:
            yield users.ensure_layout_users(self.reactor, configuration)
        node_format.make_directories(configuration)
        yield self.client.load_computer_configuration(xml)
        node_format.remember_layout(self.config, xml)
        self.log.info("computer {computer} formatted with {count} partitions",
                      computer=self.config.computer_id,
                      count=len(configuration["partition_list"]))
        return "posted"

    @defer.inlineCallbacks
    def partitions(self):
        """The computer's partitions as the master wants them, and its releases."""
        computer = yield self.client.computer_information()
        attributes = computer.attributes
        releases = [(r.attributes.get("_software_release"), r.attributes.get("_requested_state"))
                    for r in attributes.get("_software_release_list") or []]
        partitions = [Partition.from_slap(p)
                      for p in attributes.get("_computer_partition_list") or []]
        return releases, partitions

    @defer.inlineCallbacks
    def run_cycle(self):
        """One cycle; a :class:`CycleResult` (never fails)."""
        result = CycleResult()
        self.cycles += 1
        self.progress.cycle_started()
        try:
            try:
                self.progress.phase("format")
                result.formatted = yield self.format_if_needed()
            except (node_format.FormatError, users.UserError, OSError) as error:
                result.problems.append("format: %s" % error)
                self.log.error("format failed: {error}", error=error)
            except MasterUnreachable:
                raise
            except SlapClientError as error:
                result.problems.append("format: %s" % error)
                self.log.error("the master refused the computer's layout: {error}", error=error)
            releases, _ = yield self.partitions()
            self.progress.phase("software")
            result.software = yield self.software.process(releases)
            launched = yield self.supervisor.ensure_running()
            _, partitions = yield self.partitions()
            self.progress.phase("instances")
            result.instances = yield self.deployer.process(partitions, restart_running=launched)
            _, partitions = yield self.partitions()
            self.progress.phase("usage")
            result.usage = yield self.usage.process(partitions)
            self.progress.phase("destruction")
            result.destroyed = yield self.destroyer.process(partitions)
        except MasterUnreachable as error:
            self.log.warn("master unreachable, node offline: {error}", error=error)
            result.offline = True
            yield self._keep_running(result)
        except Throttled as error:
            self.log.warn("the master asks this node to slow down, next cycle in {wait} s: "
                          "{error}", wait=error.retry_after, error=error)
            result.problems.append(str(error))
            result.retry_after = error.retry_after
        except SlapClientError as error:  # the master refused a call (unknown computer, 403...)
            self.log.error("node cycle stopped, the master refused: {error}", error=error)
            result.problems.append(str(error))
        except Exception as error:  # a bug or a local failure: reported, the loop goes on
            self.log.failure("node cycle failed")
            result.problems.append("%s: %s" % (type(error).__name__, error))
        self.progress.cycle_ended(result.exit_code)
        return result

    @defer.inlineCallbacks
    def _keep_running(self, result):
        try:
            yield self.supervisor.ensure_running()
            yield self.supervisor.start_all()
        except Exception as error:
            self.log.error("offline: supervisord could not be started: {error}", error=error)
            result.problems.append("supervisord: %s" % error)

    def run_forever(self):
        """Run cycles until :meth:`stop`; a Deferred that fires when the loop ends.

        Between cycles the agent waits :meth:`pause` seconds, ended early when its computer's
        revision moves on the master (slapgate's ``watchComputer``), so a change on the master is
        acted on within about a second; against a master without that call it waits the whole
        pause. The revision is read before each cycle, so a change made while the cycle ran
        starts the next one at once (as do the cycle's own reports; the following cycle finds
        nothing to do, its failing parts waiting, and reports nothing). A cycle that began
        without a revision (the first, before the computer was formatted) is followed at once
        by one that begins with it.
        """
        self._running = True
        self._done = defer.Deferred()
        self.reactor.callLater(0, self._loop_once)
        return self._done

    def pause(self):
        """Seconds from the end of a cycle to the next: ``cycle_interval``, or less when a
        failing release or partition is due for its next try before."""
        waits = [self.config.cycle_interval]
        waits += [book.next_due() for book in (self.software.retries, self.deployer.retries)]
        return min(w for w in waits if w is not None)

    @defer.inlineCallbacks
    def _loop_once(self):
        try:
            revision = yield self._revision(None, 0)
            result = yield self._cycle_logged()
            if result.retry_after:
                # The master said how long to wait (HTTP 429): no watch, no early wake.
                yield self._wait(None, max(self.pause(), result.retry_after))
            elif revision is None and self._running:
                # The computer may have been unknown before this cycle formatted it. Its
                # revision now may already count a change made on the master while the cycle
                # ran: waiting on it would miss that change, so once it is known the next cycle
                # starts at once (reading it first); without a watch the pause is waited whole.
                known = yield self._revision(None, 0)
                if known is None:
                    yield self._wait(None, self.pause())
            else:
                yield self._wait(revision, self.pause())
        except Exception as error:  # never let the loop die
            self.log.failure("node loop", failure.Failure(error))
            yield self._sleep(self.config.cycle_interval)
        if self._running:
            self.reactor.callLater(0, self._loop_once)
        elif not self._done.called:
            self._done.callback(None)

    @defer.inlineCallbacks
    def _wait(self, revision, seconds):
        """Wait ``seconds`` on the clock, or until the revision moves from ``revision``."""
        deadline = self.waiting_until = self.clock.seconds() + seconds
        try:
            while self._running:
                left = deadline - self.clock.seconds()
                if left <= 0:
                    return
                timer = self._sleep(left)
                if revision is None:
                    yield timer
                    return
                self._watching = self._revision(revision, left)
                index, moved = yield defer.race([timer, self._watching])
                if index == 0 or (moved is not None and moved != revision):
                    return  # the time is up, or the master changed the computer
                if moved is None:
                    revision = None  # no watch to be had: the clock alone ends the wait
        finally:
            self.waiting_until = None

    @defer.inlineCallbacks
    def _revision(self, known, timeout):
        """The master's revision of this computer (see SlapClient.watch); None when unknown.

        None also when the master does not serve the watch (or does not know the computer yet):
        asked again at the next cycle, it costs one 404 per cycle against an upstream master.
        """
        watching = self.client.watch(known, min(timeout, MAX_WATCH))
        try:
            revision = yield watching
        except (SlapClientError, defer.CancelledError):
            return None  # the cycle will say what is wrong with the master
        return revision

    def _sleep(self, seconds):
        if not self._running or seconds <= 0:
            return defer.succeed(None)
        self._sleeping = task.deferLater(self.clock, seconds, lambda: None)
        self._sleeping.addErrback(lambda f: f.trap(defer.CancelledError))
        return self._sleeping

    @defer.inlineCallbacks
    def _cycle_logged(self):
        result = self.last_result = yield self.run_cycle()
        summary = result.summary()
        if summary != self._said:
            self._said = summary
            self.log.info("cycle done: exit {code}, software {software}, instances {instances}, "
                          "destroyed {destroyed}", code=result.exit_code,
                          software=result.software, instances=result.instances,
                          destroyed=result.destroyed)
        return result

    def stop(self):
        """Stop the loop after the running cycle (a sleep between cycles ends at once)."""
        self._running = False
        watching = getattr(self, "_watching", None)
        if watching is not None and not watching.called:
            watching.cancel()
        sleeping = getattr(self, "_sleeping", None)
        if sleeping is not None and not sleeping.called:
            sleeping.cancel()