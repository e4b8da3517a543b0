"""How often a computer may poll the master for its own information.

The limit keeps a node that fails in a loop from polling its master many times a second. Each
computer gets a bucket of ``per_minute`` polls, refilled at ``per_minute`` a minute; a poll
finding it empty is refused with :class:`~slap_core.errors.TooManyRequests`, whose
``retry_after`` says when the next one will be admitted. Only a computer's polls of itself count: an admin reading a computer,
or a caller the operation will refuse anyway, is not held to it. ``per_minute = 0`` admits all.
"""

import math
import threading
import time

from slap_core import errors
from slap_core.principals import ComputerAgent

DEFAULT_PER_MINUTE = 120


class PollLimit:
    """A token bucket per computer, shared by the threads serving calls."""

    def __init__(self, per_minute=DEFAULT_PER_MINUTE, clock=time.monotonic):
        self.per_minute = per_minute
        self.clock = clock
        self._buckets = {}  # computer -> (tokens, when counted)
        self._lock = threading.Lock()

    def admit(self, principal, reference):
        """Count one poll of ``reference`` by ``principal``; TooManyRequests when over the limit."""
        if not self.per_minute or not isinstance(principal, ComputerAgent) \
                or principal.computer != reference:
            return
        rate = self.per_minute / 60.0
        with self._lock:
            now = self.clock()
            tokens, then = self._buckets.get(reference, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - then) * rate)
            if tokens < 1:
                self._buckets[reference] = (tokens, now)
                wait = max(1, math.ceil((1 - tokens) / rate))
                raise errors.TooManyRequests(
                    "computer %s polls faster than the %d a minute this master allows: ask again "
                    "in %d s" % (reference, self.per_minute, wait), retry_after=wait)
            self._buckets[reference] = (tokens - 1, now)
