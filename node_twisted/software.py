"""Software releases: a buildout per release in ``software_root/<md5(url)>`` (spec section 5.2).

Releases are built as asynchronous subprocesses, at most ``software_build_concurrency`` at once.
A built release has a ``.completed`` marker and costs nothing on later cycles. The master hears
``building``, then ``available`` or ``error`` (with the buildout output's tail); a release it
wants destroyed is removed and reported ``destroyed``. A release that failed is tried again once
its wait in :class:`~node_twisted.retries.Retries` is over (``backoff`` until then), and the log
says why it failed once per new reason.
"""

import hashlib
import os
import shutil
import time

from twisted.internet import defer, threads
from twisted.logger import Logger

from node_twisted import processes, retries
from node_twisted.progress import Progress
from node_twisted.slap_client import MasterUnreachable, tolerated_report

ERROR_TAIL = 4000


def software_path(config, url):
    """Where the release at ``url`` is built."""
    return os.path.join(config.software_root, hashlib.md5(url.encode("utf-8")).hexdigest())


class BuildFailed(Exception):
    """A buildout step failed; the message is what the master is told."""


def _profile(url, config):
    """The release directory's ``buildout.cfg``: extend the release's profile."""
    def multiline(value):
        return "\n\t".join(value.strip().splitlines())

    return ("[buildout]\nextends = %s\nshared-part-list = %s\nbuild-time-part-list = %s\n\n"
            % (url, multiline(config.shared_part_list), multiline(config.build_time_part_list)))


class SoftwareInstaller:
    """Builds and removes the releases supplied to this computer."""

    log = Logger()

    def __init__(self, reactor, config, client, progress=None, retry_book=None):
        self.reactor = reactor
        self.config = config
        self.client = client
        self.progress = progress or Progress(reactor, None)
        self.retries = retry_book or retries.Retries(reactor, config.cycle_interval)
        self.semaphore = defer.DeferredSemaphore(config.software_build_concurrency)

    @defer.inlineCallbacks
    def process(self, releases):
        """Handle every ``(url, requested_state)``; a dict url → outcome.

        Outcomes: ``unchanged``, ``available``, ``error``, ``backoff`` (failed before, its next
        try not due), ``destroyed``. Raises :class:`MasterUnreachable` when the master went away
        meanwhile (after every build ended).
        """
        urls = [url for url, _ in releases]
        self.retries.keep_only(urls)
        calls = [self.semaphore.run(self._one, url, state) for url, state in releases]
        results = yield defer.DeferredList(calls, consumeErrors=True)
        outcomes, unreachable = {}, None
        for url, (success, value) in zip(urls, results):
            if success:
                outcomes[url] = value
            elif value.check(MasterUnreachable):
                unreachable = value.value
                outcomes[url] = "offline"
            else:
                self.log.failure("software release {url} failed", value, url=url)
                outcomes[url] = "error"
        if unreachable is not None:
            raise unreachable
        return outcomes

    @defer.inlineCallbacks
    def _one(self, url, state):
        path = software_path(self.config, url)
        if state == "destroyed":
            if os.path.lexists(path):
                self.log.info("removing software release {url} from {path}", url=url, path=path)
                yield threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(),
                                                shutil.rmtree, path, ignore_errors=True)
            yield self._report(self.client.software_destroyed, url)
            return "destroyed"
        if state != "available":
            self.log.warn("software release {url}: unknown requested state {state!r}", url=url,
                          state=state)
            return "unchanged"
        if os.path.exists(os.path.join(path, ".completed")):
            return "unchanged"
        if self.retries.waiting(url, state):
            return "backoff"
        yield self._report(self.client.software_building, url)
        self.progress.begin("releases", url, "building")
        try:
            yield self.build(url, path)
        except BuildFailed as failure:
            self.progress.end("releases", url, "error")
            message = str(failure)
            wait, news = self.retries.failed(url, state, retries.reason(message))
            if news:
                self.log.error("software release {url} failed to build: {why}\n(tried "
                               "again in {wait:.0f} s, the wait doubling up to {cap:.0f} s while "
                               "it fails, or at once when the master changes it)", url=url,
                               wait=wait, cap=self.retries.cap,
                               why=retries.excerpt(message))
            yield self._report(self.client.software_error, url, message[-ERROR_TAIL:])
            return "error"
        except BaseException:
            self.progress.end("releases", url, "error")
            raise
        self.progress.end("releases", url, "available")
        yield self.client.software_available(url)
        with open(os.path.join(path, ".completed"), "w") as handle:
            handle.write(time.asctime())
        recovered = self.retries.succeeded(url)
        self.log.info("software release {url} built in {path}{after}", url=url, path=path,
                      after=" after failing" if recovered else "")
        return "available"

    def _report(self, call, *args):
        return tolerated_report(self.log, call, *args)

    def builder(self):
        """(uid, gid) builds run as: ``software_root``'s owner when root runs the node and
        another user owns it (root mode), else (None, None): the node's own user."""
        if os.getuid() != 0:
            return None, None
        info = os.stat(self.config.software_root)
        if info.st_uid == 0:
            return None, None
        return info.st_uid, info.st_gid

    @defer.inlineCallbacks
    def build(self, url, path):
        """Bootstrap (when ``bin/buildout`` is missing), then run buildout in ``path``."""
        uid, gid = self.builder()
        os.makedirs(os.path.join(path, "extends-cache"), mode=0o755, exist_ok=True)
        profile = os.path.join(path, "buildout.cfg")
        if not os.path.exists(profile):
            with open(profile, "w") as handle:
                handle.write(_profile(url, self.config))
        if uid is not None:
            for name in (path, os.path.join(path, "extends-cache"), profile):
                os.chown(name, uid, gid)
        env = processes.clean_environment(path)
        feed = self.progress.output("releases", url)
        binary = os.path.join(path, "bin", "buildout")
        if not os.path.exists(binary):
            result = yield processes.run(
                self.reactor, [self.config.buildout, "-c", profile,
                               "buildout:directory=" + path, "bootstrap"], path, env,
                uid=uid, gid=gid, output=feed)
            if not result.ok:
                raise BuildFailed("Failed to bootstrap buildout in %s (%s):\n%s" % (
                    path, _how(result), result.tail(ERROR_TAIL)))
        result = yield processes.run(
            self.reactor, [binary, "-U", "buildout:extends-cache=%s/extends-cache" % path,
                           "buildout:directory=" + path, "-N", "-c", profile], path, env,
            uid=uid, gid=gid, output=feed)
        if not result.ok:
            raise BuildFailed("Failed to run buildout profile in directory %s (%s):\n%s" % (
                path, _how(result), result.tail(ERROR_TAIL)))


def _how(result):
    if result.timed_out:
        return "timed out"
    return "exit code %s" % result.exit_code
