"""Wall-clock helpers kept in one place so tests and timestamps agree on units."""

import time


def now():
    """Seconds since the epoch, as a float (the unit of every ``*_at`` column)."""
    return time.time()


def next_timestamp(previous):
    """A partition timestamp strictly greater than ``previous``: integer microseconds, as the master.

    The node compares it for equality with its ``.timestamp`` file, so it must change on every bump
    even when two bumps fall in the same microsecond.
    """
    return max(time.time_ns() // 1000, (previous or 0) + 1)
