"""A read-only HTTP view of the agent's progress, on 127.0.0.1 when ``progress_http_port`` is set.

``GET /`` is the text ``slapgate node status`` prints (the last 20 lines of each output);
``GET /progress.json`` the progress document. Nothing else is served, and nothing can be changed.
"""

import json

from twisted.web import resource, server

from node_twisted import progress as node_progress


class ProgressPage(resource.Resource):
    """The progress of one agent, as text or JSON."""

    isLeaf = True

    def __init__(self, progress):
        super().__init__()
        self.progress = progress

    def render_GET(self, request):
        """``/``: text; ``/progress.json``: JSON; anything else: 404."""
        document = self.progress.snapshot()
        if request.path == b"/progress.json":
            request.setHeader(b"content-type", b"application/json")
            return json.dumps(document, sort_keys=True).encode()
        if request.path != b"/":
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"not found: / and /progress.json only\n"
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return node_progress.render(document, lines=20).encode("utf-8")


def listen(reactor, progress, port):
    """Serve ``progress`` on 127.0.0.1:``port`` (0: any free port); the listening port."""
    site = server.Site(ProgressPage(progress))
    site.noisy = False
    return reactor.listenTCP(port, site, interface="127.0.0.1")
