"""When each node last called this master process, kept in memory until the monitoring pass
writes it (``Computer.contacted_at``).

A node's poll is a read the master answers from a cache: writing the instant of every poll to
the database would make each one a write. The master notes it here instead, and the monitoring
pass (``ticket.monitor``, run by every master process) writes what its process saw.
"""

import threading

from slap_core.clock import now

# The key of a master's ContactBook in session.info.
CONTACTS = "contacts"


class ContactBook:
    """The latest call of each computer (by reference) since the book was last drained."""

    def __init__(self):
        self._lock = threading.Lock()
        self._seen = {}

    def note(self, reference, at=None):
        """Computer ``reference`` called now (or ``at``)."""
        if isinstance(reference, str) and reference:
            at = now() if at is None else at
            with self._lock:
                if self._seen.get(reference, 0) < at:
                    self._seen[reference] = at

    def drain(self):
        """{reference: instant} of the calls noted since the last drain, forgotten here."""
        with self._lock:
            seen, self._seen = self._seen, {}
        return seen

    def restore(self, seen):
        """Put back what a drain took and could not write (the transaction failed)."""
        for reference, at in seen.items():
            self.note(reference, at)
