"""``/health``: is the master up and can it reach its database?"""

import json

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

import gateway.version as version


class HealthResource(Resource):
    """GET answers 200 ``{"status": "ok", ...}`` or 503 when the database does not answer."""

    isLeaf = True
    log = Logger()

    def __init__(self, calls):
        super().__init__()
        self.calls = calls

    def render_GET(self, request):
        """Check the database in the thread pool and answer in JSON."""
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-store")

        def ok(_):
            return {"status": "ok", "database": "ok", "version": version.VERSION}

        def failed(failure):
            self.log.warn("health check failed: {error}", error=failure.getErrorMessage())
            request.setResponseCode(503)
            return {"status": "unavailable", "database": failure.getErrorMessage()}

        def write(body):
            if not request.finished and not request._disconnected:
                request.write(json.dumps(body).encode())
                request.finish()

        self.calls.run(self.calls.master.health).addCallbacks(ok, failed).addCallback(write)
        return NOT_DONE_YET
