"""HTTP statuses of slap_core errors, shared by SLAP and XML-RPC (REST reads Invalid and NotReady
its own way: protocols/rest/problems.py)."""

from slap_core import errors

STATUS = {
    errors.NotFound: 404,
    errors.NotReady: 408,
    errors.Invalid: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.Conflict: 409,
    errors.Unavailable: 503,
    errors.TooManyRequests: 429,
}


def retry_after(error):
    """The ``Retry-After`` header value (bytes) an error's answer carries, or None."""
    seconds = getattr(error, "retry_after", None)
    return None if seconds is None else b"%d" % seconds


def status_of(error):
    """The status for a slap_core error, or None for anything else (a server fault)."""
    return next((code for cls, code in STATUS.items() if isinstance(error, cls)), None)
