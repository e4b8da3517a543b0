"""The last poll answer of each computer, kept while the computer's revision does not move.

``computer.information`` reads the computer row (and its revision) first, then everything else
in the same transaction: on PostgreSQL's read committed as on SQLite's snapshot, the rows read
after the revision are at least as new as it, so an answer is never filed under a revision newer
than its data. A hit hands back the very same ComputerInformation object, which adaptors may
use as the key of their own encoded answer. Answers are shared: callers must not change them.

``SLAPGATE_POLL_CACHE_SIZE`` (an environment variable, default 512 computers) sizes the caches;
0 turns them off, so that ``make bench`` can measure what a poll costs without them.
"""

import os
import threading
import weakref
from collections import OrderedDict

DEFAULT_SIZE = 512


def configured_size():
    """The cache size ``SLAPGATE_POLL_CACHE_SIZE`` asks for, else DEFAULT_SIZE."""
    value = os.environ.get("SLAPGATE_POLL_CACHE_SIZE", "")
    try:
        return max(0, int(value)) if value.strip() else DEFAULT_SIZE
    except ValueError:
        return DEFAULT_SIZE


class PollCache:
    """A bounded LRU of (computer id) -> (revision, ComputerInformation)."""

    def __init__(self, size=DEFAULT_SIZE):
        self.size = size
        self._entries = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, computer_id, revision):
        """The answer filed for this revision, or None."""
        with self._lock:
            entry = self._entries.get(computer_id)
            if entry is None or entry[0] != revision:
                self.misses += 1
                return None
            self._entries.move_to_end(computer_id)
            self.hits += 1
            return entry[1]

    def put(self, computer_id, revision, information):
        """File ``information`` under ``revision`` (an older revision never replaces a newer)."""
        if self.size <= 0:
            return
        with self._lock:
            entry = self._entries.get(computer_id)
            if entry is not None and entry[0] > revision:
                return
            self._entries[computer_id] = (revision, information)
            self._entries.move_to_end(computer_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self):
        """Forget every answer."""
        with self._lock:
            self._entries.clear()


_CACHES = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(session):
    """The PollCache of the database ``session`` is bound to (one per connection pool)."""
    pool = session.get_bind().pool
    with _CACHES_LOCK:
        cache = _CACHES.get(pool)
        if cache is None:
            cache = _CACHES[pool] = PollCache(configured_size())
        return cache
