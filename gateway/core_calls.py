"""Calling slap_core from the reactor: every operation runs in the reactor's thread pool."""

from twisted.internet.threads import deferToThreadPool


class CoreCalls:
    """Runs ``Master.call`` in a thread pool and returns a Deferred, so the reactor never blocks."""

    def __init__(self, master, reactor, threadpool=None):
        self.master = master
        self.reactor = reactor
        self.threadpool = threadpool if threadpool is not None else reactor.getThreadPool()

    def call(self, name, principal, **arguments):
        """Deferred result of operation ``name`` called as ``principal``."""
        return deferToThreadPool(
            self.reactor, self.threadpool, self.master.call, name, principal, **arguments
        )

    def run(self, function, *args, **kwargs):
        """Deferred result of any other blocking function (a health check, a migration)."""
        return deferToThreadPool(self.reactor, self.threadpool, function, *args, **kwargs)
