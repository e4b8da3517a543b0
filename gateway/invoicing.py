"""The master's monthly invoice run: every ``invoice_interval`` seconds it checks whether the
month just closed (``invoice_delay`` seconds ago or more) has been invoiced by this process, and
if not runs ``invoice.generate`` for it.

Every master process sharing a database runs the loop; the core makes one run issue the
invoices (a second one, concurrent or later, finds everyone invoiced and issues nothing). A
month with no price list in force at its end can never be invoiced: it is logged once and
skipped.
"""

import time

from twisted.internet import task
from twisted.logger import Logger

from slap_core import errors
from slap_core.billing import period_of

log = Logger()


class InvoiceLoop:
    """Invoice the month just closed through ``calls`` (a CoreCalls) as ``admin``."""

    def __init__(self, calls, admin, delay, clock, now=time.time):
        self.calls, self.admin, self.delay, self.now = calls, admin, delay, now
        self.loop = task.LoopingCall(self.check)
        self.loop.clock = clock
        self.done = None  # the period this process saw invoiced

    def start(self, interval):
        """Check every ``interval`` seconds, the first time now."""
        self.loop.start(interval, now=True).addErrback(
            lambda failure: log.failure("the invoice loop stopped", failure))

    def stop(self):
        """Stop checking."""
        if self.loop.running:
            self.loop.stop()

    def due(self):
        """The name of the month to invoice now (``2026-11``), or None."""
        closed = period_of(period_of(self.now() - self.delay).start - 1)
        return None if closed.name == self.done else closed.name

    def check(self):
        """One check; its Deferred never fails (a failure is logged, the loop goes on)."""
        period = self.due()
        if period is None:
            return None
        result = self.calls.call("invoice.generate", self.admin, period=period)

        def ran(run):
            self.done = period
            if run.issued:
                log.info("invoiced {period}: {count} invoice(s), {first} to {last}",
                         period=period, count=len(run.issued), first=run.issued[0],
                         last=run.issued[-1])
            if run.unpriced:
                log.warn("invoiced {period} with no price for: {unpriced}", period=period,
                         unpriced=", ".join(run.unpriced))

        def refused(failure):
            failure.trap(errors.Invalid)
            self.done = period
            log.info("{period} is not invoiced: {reason}", period=period,
                     reason=failure.value)

        result.addCallbacks(ran, refused)
        result.addErrback(lambda failure: log.failure("invoicing {period} failed", failure,
                                                      period=period))
        return result
