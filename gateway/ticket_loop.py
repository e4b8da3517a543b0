"""The master's monitoring timer: every ``monitor_interval`` seconds it runs one
``ticket.monitor`` pass as the local admin, with the configured delays.

Every master process runs it: each pass writes the node calls its own process saw, and the
core opens at most one monitoring ticket per subject whichever process runs first.
"""

from twisted.internet import task
from twisted.logger import Logger

log = Logger()


class MonitorLoop:
    """Run ``ticket.monitor`` through ``calls`` (a CoreCalls) as ``admin`` on ``clock``."""

    def __init__(self, calls, admin, clock, idle_after, error_after, silent_after):
        self.calls, self.admin = calls, admin
        self.delays = dict(idle_after=idle_after, error_after=error_after,
                           silent_after=silent_after)
        self.loop = task.LoopingCall(self.check)
        self.loop.clock = clock

    def start(self, interval):
        """Run a pass every ``interval`` seconds, the first one after ``interval``."""
        self.loop.start(interval, now=False).addErrback(
            lambda failure: log.failure("the monitoring loop stopped", failure))

    def stop(self):
        """Stop running passes."""
        if self.loop.running:
            self.loop.stop()

    def check(self):
        """One pass; its Deferred never fails (a failure is logged, the loop goes on)."""
        result = self.calls.call("ticket.monitor", self.admin, **self.delays)

        def ran(run):
            for reference in run.opened:
                log.info("monitoring opened {reference}", reference=reference)
            for reference in run.closed:
                log.info("monitoring closed {reference}", reference=reference)
            return run

        result.addCallback(ran)
        result.addErrback(lambda failure: log.failure("a monitoring pass failed", failure))
        return result
