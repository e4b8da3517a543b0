"""``/syncml``: the SyncML 1.2 endpoint (XML encoding) on the master's site.

A POST whose body is a SyncML message is answered by :class:`protocols.syncml.engine.Engine`
in the thread pool (it calls slap_core). HTTP errors are kept for what is not SyncML at all:
a WBXML body (415: this master speaks the XML encoding only), another content type or a body
that cannot be read as SyncML (400), one too large (413), another method (405). Everything a
SyncML session can go wrong on is a Status inside an HTTP 200 answer.
"""

import logging

from twisted.internet.threads import deferToThreadPool
from twisted.web import resource, server

from protocols.syncml import message as messages
from protocols.syncml.engine import Engine
from slap_core.principals import Anonymous, User

log = logging.getLogger(__name__)
XML_TYPE = b"application/vnd.syncml+xml"
WBXML_TYPE = b"application/vnd.syncml+wbxml"


def md5_check(calls):
    """``authenticate_md5(login, nonce, response)`` for the engine: the core's check of a
    person's SyncML secret (``sync.check_md5``); blocking."""

    def authenticate(login, nonce, response):
        person = calls.master.call("sync.check_md5", Anonymous(), login=login, nonce=nonce,
                                   response=response)
        return User(person.login, set(person.roles) or {"user"})

    return authenticate


class SyncMLResource(resource.Resource):
    """The SyncML server: one engine (its sessions live in this process). ``authenticate``
    is the gateway's blocking password check (:func:`gateway.auth.password_check`)."""

    isLeaf = True

    def __init__(self, calls, authenticate, version=""):
        super().__init__()
        self.calls = calls
        self.engine = Engine(calls.master, authenticate, version=version,
                             authenticate_md5=md5_check(calls))

    def render_GET(self, request):
        """A browser's visit: what this address is for."""
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        return (b"SyncML 1.2 server (XML encoding): POST application/vnd.syncml+xml messages "
                b"here; stores: contacts\n")

    def render_POST(self, request):
        """Answer one SyncML message."""
        body = request.content.read()  # the guard bounded it, checked its type and DTD
        try:
            parsed = messages.parse(body)
        except messages.Unreadable as error:
            return _plain(request, 400, str(error).encode("utf-8", "replace"))
        parsed.resp_uri = request.prePathURL().decode("utf-8", "replace")
        answer = deferToThreadPool(self.calls.reactor, self.calls.threadpool, self.engine.handle,
                                   parsed, body)
        answer.addCallbacks(lambda reply: self._write(request, reply),
                            lambda failure: self._failed(request, failure))
        return server.NOT_DONE_YET

    def _write(self, request, reply):
        if request.finished or request._disconnected:
            return
        request.setHeader(b"Content-Type", XML_TYPE + b"; charset=UTF-8")
        request.setHeader(b"Content-Length", b"%d" % len(reply))
        request.write(reply)
        request.finish()

    def _failed(self, request, failure):
        log.error("SyncML message failed: %s", failure.getTraceback())
        if not (request.finished or request._disconnected):
            request.setResponseCode(500)
            request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
            request.write(b"internal error")
            request.finish()


def _plain(request, code, text):
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
    return text + b"\n"


def refusal(request, status, code, message):
    """What the guard refuses, as a line of text (WBXML named: a device to reconfigure)."""
    if status == 415 and WBXML_TYPE in (request.getHeader(b"content-type") or b"").lower():
        return _plain(request, 415, b"this master speaks SyncML in its XML encoding only "
                                    b"(application/vnd.syncml+xml): turn WBXML off")
    if status == 415:
        message = "a SyncML message is sent as application/vnd.syncml+xml"
    elif status == 413:
        message = "a SyncML message is at most %d bytes" % messages.MAX_MESSAGE
    return _plain(request, status, message.encode("utf-8"))
