"""Typed errors raised by slap_core operations; every adaptor maps each one to its own idiom."""


class SlapError(Exception):
    """Base class of every error an operation raises on purpose.

    ``code`` is stable and short; adaptors use it (and never the message) to pick an HTTP status,
    an XML-RPC fault code or a SOAP fault detail.
    """

    code = "error"

    def __init__(self, message, *, keep_changes=False, result=None):
        super().__init__(message)
        self.message = message
        # keep_changes: the transaction commits before the error reaches the caller (a request
        # recorded but not allocated yet is kept, and the caller is told it is not ready).
        self.keep_changes = keep_changes
        self.result = result

    def __str__(self):
        return self.message


class NotFound(SlapError):
    """The thing named does not exist, or the caller may not know that it exists."""

    code = "not_found"


class NotReady(SlapError):
    """Accepted but not done yet: an instance waiting for a partition or for its host.

    This is SlapOS's "resource not ready" (HTTP 408 on the SLAP wire); asking again later may
    succeed without any other change.
    """

    code = "not_ready"


class Forbidden(SlapError):
    """The caller is known but this principal may not do this."""

    code = "forbidden"


class Unauthenticated(Forbidden):
    """The caller is anonymous and the operation needs someone known."""

    code = "unauthenticated"


class Conflict(SlapError):
    """The request contradicts the current state (a taken title, a wrong state change)."""

    code = "conflict"


class Invalid(SlapError):
    """The input itself is wrong: a bad value, a malformed document, a missing field."""

    code = "invalid"


class Unavailable(SlapError):
    """A service the call depends on (the company directory) did not answer: try again later.

    Never an allow and never a refusal of the caller: HTTP 503, a ``Server`` SOAP fault.
    """

    code = "unavailable"


class TooManyRequests(SlapError):
    """The caller asks faster than the master allows (a computer polling in a loop): ask again
    after ``retry_after`` seconds. HTTP 429 with ``Retry-After``, a ``Client`` SOAP fault."""

    code = "too_many_requests"

    def __init__(self, message, *, retry_after):
        super().__init__(message)
        self.retry_after = retry_after


ERROR_CLASSES = (NotFound, NotReady, Unauthenticated, Forbidden, Conflict, Invalid, Unavailable,
                 TooManyRequests)
