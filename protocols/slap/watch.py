"""``watchComputer``: a node waits until its computer's revision moves (slapgate's extension).

A node that knows the revision of the answer it last acted on asks
``GET /slap/watchComputer?computer_id=C&revision=N[&timeout=S]``; the master answers the current
revision as text at once when it differs from N, else as soon as it moves, else after ``timeout``
seconds (default 30, at most 60) with N unchanged. One database read every ``interval`` seconds
(``computer.revisions`` for every waiting computer at once) notices changes made by this process,
by the admin CLI or by another master sharing the database, so a node learns of a change within
about ``interval`` seconds instead of its polling period.
"""

from collections import defaultdict

from twisted.internet import defer, task
from twisted.logger import Logger

DEFAULT_TIMEOUT = 30.0
MAX_TIMEOUT = 60.0


class Watcher:
    """Node requests waiting for their computer's revision to move."""

    log = Logger()

    def __init__(self, calls, principal, reactor, interval=0.5):
        self.calls, self.principal, self.reactor = calls, principal, reactor
        self.interval = interval
        self._waiting = defaultdict(list)  # reference -> [[known, Deferred, timer]]
        self._loop = None
        self._checking = False

    def wait(self, reference, known, timeout):
        """Deferred revision of ``reference``: fires once it differs from ``known`` or on timeout."""
        result = defer.Deferred(lambda d: self._forget(reference, entry))
        timer = self.reactor.callLater(timeout, self._expire, reference, known)
        entry = [known, result, timer]
        self._waiting[reference].append(entry)
        if self._loop is None:
            self._loop = task.LoopingCall(self._check)
            self._loop.clock = self.reactor
            self._loop.start(self.interval, now=False).addErrback(
                lambda failure: self.log.failure("computer watch stopped", failure))
        return result

    def _forget(self, reference, entry):
        entries = self._waiting.get(reference, [])
        if entry in entries:
            entries.remove(entry)
            if entry[2].active():
                entry[2].cancel()
        if not entries:
            self._waiting.pop(reference, None)
        self._stop_if_idle()

    def _expire(self, reference, known):
        for entry in list(self._waiting.get(reference, ())):
            if entry[0] == known and not entry[2].active():
                self._fire(reference, entry, known)

    def _fire(self, reference, entry, revision):
        entries = self._waiting.get(reference, [])
        if entry in entries:
            entries.remove(entry)
            if not entries:
                self._waiting.pop(reference, None)
        if entry[2].active():
            entry[2].cancel()
        if not entry[1].called:
            entry[1].callback(revision)
        self._stop_if_idle()

    def _stop_if_idle(self):
        if not self._waiting and self._loop is not None and self._loop.running:
            self._loop.stop()
            self._loop = None

    @defer.inlineCallbacks
    def _check(self):
        if self._checking or not self._waiting:
            return
        self._checking = True
        try:
            references = sorted(self._waiting)
            try:
                revisions = yield self.calls.call("computer.revisions", self.principal,
                                                  references=references)
            except Exception as error:  # a computer gone, the database away: let nodes poll
                self.log.warn("computer watch check failed: {error!r}", error=error)
                revisions = [(reference, None) for reference in references]
            else:
                revisions = [(r.reference, r.revision) for r in revisions]
            for reference, revision in revisions:
                for entry in list(self._waiting.get(reference, ())):
                    if revision is None or revision != entry[0]:
                        self._fire(reference, entry, entry[0] if revision is None else revision)
        finally:
            self._checking = False

    def stop(self):
        """Answer every waiting node with what it knew and stop checking (the master stops)."""
        for reference, entries in list(self._waiting.items()):
            for entry in list(entries):
                self._fire(reference, entry, entry[0])
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
