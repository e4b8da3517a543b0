"""Waiting on real processes and servers: one helper that polls a condition until a deadline.

Tests whose subject is time itself use ``twisted.internet.task.Clock`` instead; ``until`` is for
what a test cannot drive: a server starting, a process ending, another thread's work.
"""

from twisted.internet import defer, reactor, threads
from twisted.internet.task import deferLater


@defer.inlineCallbacks
def until(condition, deadline, what, step=0.05, in_thread=False):
    """Poll ``condition()`` every ``step`` seconds until it returns a true value, and return it.

    ``condition`` may return a Deferred; with ``in_thread`` it runs in the reactor's thread pool
    (a database read, a blocking client). After ``deadline`` seconds this fails with
    ``AssertionError("<what>: not within <deadline> s")``; ``what`` may be a callable, read then,
    to include what the process said meanwhile.
    """
    give_up = reactor.seconds() + deadline
    while True:
        if in_thread:
            value = yield threads.deferToThread(condition)
        else:
            value = yield defer.maybeDeferred(condition)
        if value:
            return value
        if reactor.seconds() >= give_up:
            message = what() if callable(what) else what
            raise AssertionError("%s: not within %s s" % (message, deadline))
        yield deferLater(reactor, step, lambda: None)
