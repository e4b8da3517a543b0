"""When a failing release or partition is tried again, and whether its failure is news.

A release or partition that fails waits before its next try: ``initial`` seconds, doubled at each
failure in a row up to ``cap`` (the node's ``cycle_interval``), less a random part of up to
``jitter`` of it so that nodes failing together do not retry together. On one node the items
that failed together are tried again together: each is due from the shortest wait its jitter
allows, and the node wakes at the end of the first actual wait. Success forgets the failures.
The wait holds only while the master asks for the same thing: each failure is recorded with a
*signature* (what the master asked: a partition's timestamp and state, a release's state),
and another signature is due at once, so a change on the master is acted on without delay.

The same book says whether a failure is news: its *reason* (the failing step, its exit status
and the last line of its output) differs from the one before, so the log says why once per change
of outcome instead of once per cycle.
"""

import dataclasses
import random as _random

INITIAL_DELAY = 5.0
JITTER = 0.2


@dataclasses.dataclass
class _Failing:
    signature: object
    reason: str
    count: int
    earliest: float  # from when it may be tried again
    due: float  # when the node wakes for it


class Retries:
    """The failing items (release URLs, partition ids) of one node, keyed by name."""

    def __init__(self, clock, cap, initial=INITIAL_DELAY, jitter=JITTER, random=_random.random):
        self.clock = clock
        self.cap = max(float(cap), 0.0)
        self.initial = min(float(initial), self.cap) if self.cap else 0.0
        self.jitter = jitter
        self.random = random
        self._failing = {}

    def base(self, count):
        """The wait after the ``count``-th failure in a row, before jitter."""
        return min(self.cap, self.initial * 2 ** (count - 1))

    def delay(self, count):
        """The wait after the ``count``-th failure in a row (jitter included)."""
        return self.base(count) * (1 - self.jitter * self.random())

    def waiting(self, key, signature):
        """Whether ``key`` failed for this same ``signature`` and may not be tried yet."""
        entry = self._failing.get(key)
        return (entry is not None and entry.signature == signature
                and self.clock.seconds() < entry.earliest)

    def failed(self, key, signature, reason):
        """Record a failure; (seconds until the next try, whether ``reason`` is news)."""
        entry = self._failing.get(key)
        news = entry is None or entry.reason != reason
        count = 1 if entry is None else entry.count + 1
        now, wait = self.clock.seconds(), self.delay(count)
        earliest = now + self.base(count) * (1 - self.jitter)
        self._failing[key] = _Failing(signature, reason, count, earliest, now + wait)
        return wait, news

    def succeeded(self, key):
        """Forget ``key``'s failures; whether it was failing (a recovery worth saying)."""
        return self._failing.pop(key, None) is not None

    def keep_only(self, keys):
        """Forget the items the master no longer lists."""
        for key in set(self._failing) - set(keys):
            del self._failing[key]

    def failing(self):
        """The keys now failing."""
        return sorted(self._failing)

    def next_due(self):
        """Seconds until the earliest wait ends (0 when one is over), or None when none fails."""
        if not self._failing:
            return None
        return max(0.0, min(e.due for e in self._failing.values()) - self.clock.seconds())


def reason(message):
    """What a failure message says, short and stable from one try to the next: its first line
    and the last non-empty line of its output (the error buildout or a promise ended with)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if len(lines) == 1:
        return lines[0]
    return "%s ... %s" % (lines[0], lines[-1])


def excerpt(message, count=10):
    """A failure message for the log: its first line (the failing step and its exit status) and
    the last ``count`` non-empty lines after it (the end of the step's output)."""
    lines = [line.rstrip() for line in message.strip().splitlines() if line.strip()]
    if len(lines) > count + 1:
        lines = lines[:1] + ["..."] + lines[-count:]
    return "\n".join(lines)
