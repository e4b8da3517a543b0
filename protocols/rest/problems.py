"""RFC 9457 problem documents for the REST adaptor, and the status of each slap_core error."""

import json
from http import HTTPStatus

from slap_core import errors

PROBLEM_TYPE = "application/problem+json"
# REST's own reading of the core errors: a wrong value in a well-formed request is 422 here (400 is
# kept for bodies that are not JSON at all); NotReady is answered by the routes that expect it
# (202 Accepted with the recorded resource) and is 503 with Retry-After anywhere else.
STATUS = {
    errors.NotFound: 404,
    errors.NotReady: 503,
    errors.Invalid: 422,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.Conflict: 409,
    errors.Unavailable: 503,
    errors.TooManyRequests: 429,
}
RETRY_AFTER = 10


class Problem(Exception):
    """An error the adaptor answers as a problem document with ``status``.

    ``code`` is the slap_core error code (or the adaptor's own: ``malformed``, ``invalid``,
    ``unsupported_media_type``, ``too_large``, ``method_not_allowed``, ``internal``); ``errors``
    lists schema violations as ``{"location", "message"}``; ``headers`` go on the response.
    """

    def __init__(self, status, code, detail, errors=None, headers=None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = dict(headers or {})

    def document(self):
        """The problem document (a dict)."""
        body = {
            "type": "about:blank",
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return body

    def body(self):
        """The problem document as bytes."""
        return json.dumps(self.document()).encode("utf-8")


def problem_for(error):
    """The Problem for a slap_core error, or None for anything else (a server fault)."""
    if isinstance(error, Problem):
        return error
    status = next((code for cls, code in STATUS.items() if isinstance(error, cls)), None)
    if status is None:
        return None
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="slapgate", charset="UTF-8"'
    if status == 503:
        headers["Retry-After"] = str(RETRY_AFTER)
    if status == 429:
        headers["Retry-After"] = str(error.retry_after)
    return Problem(status, error.code, str(error), headers=headers)


def internal_problem():
    """The problem answered for an unexpected error: it tells nothing about the cause."""
    return Problem(500, "internal", "internal error")
