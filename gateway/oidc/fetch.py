"""Fetching the provider's JSON documents over HTTP with Twisted's Agent, bounded in size and time."""

import io
import json

from twisted.internet import defer, protocol
from twisted.web.client import FileBodyProducer
from twisted.web.http_headers import Headers

from slap_core import errors

MAX_DOCUMENT = 1024 * 1024


class BodyCollector(protocol.Protocol):
    """Collects a response body of at most ``limit`` bytes; ``finished`` fires with it."""

    def __init__(self, limit):
        self.limit = limit
        self.parts = []
        self.size = 0
        self.finished = defer.Deferred(lambda _: self.transport.stopProducing())

    def dataReceived(self, data):
        """Keep the data, or give up (dropping the connection) past the limit."""
        self.size += len(data)
        if self.size > self.limit:
            self.transport.stopProducing()
            return
        self.parts.append(data)

    def connectionLost(self, reason):
        """The body is complete (or cut short: an error)."""
        from twisted.web.client import ResponseDone

        if self.finished.called:
            return
        if self.size > self.limit:
            self.finished.errback(ValueError("document larger than %d bytes" % self.limit))
        elif reason.check(ResponseDone):
            self.finished.callback(b"".join(self.parts))
        else:
            self.finished.errback(reason)


class HttpFetcher:
    """Asks the provider for JSON documents with Twisted's Agent, each exchange within
    ``timeout`` seconds; a provider that does not answer is Unavailable."""

    def __init__(self, reactor, timeout):
        from twisted.web.client import Agent, HTTPConnectionPool

        self.reactor = reactor
        self.timeout = timeout
        self.agent = Agent(reactor, connectTimeout=timeout,
                           pool=HTTPConnectionPool(reactor, persistent=False))

    def get_json(self, url):
        """Deferred JSON object at ``url``."""
        return self.request(b"GET", url)

    @defer.inlineCallbacks
    def request(self, method, url, body=None, headers=None):
        """Deferred JSON object answered to ``method url`` (``body``: form-encoded bytes).

        A status other than 200 is Unavailable unless the answer is a JSON error object, which
        is returned with its ``error`` for the caller to judge.
        """
        request_headers = Headers({b"Accept": [b"application/json"],
                                   b"User-Agent": [b"slapgate"]})
        for name, value in (headers or {}).items():
            request_headers.setRawHeaders(name, [value])
        producer = None
        if body is not None:
            request_headers.setRawHeaders(b"Content-Type",
                                          [b"application/x-www-form-urlencoded"])
            producer = FileBodyProducer(io.BytesIO(body))
        try:
            pending = self.agent.request(method, url.encode("ascii"), request_headers, producer)
            pending.addTimeout(self.timeout, self.reactor)
            response = yield pending
            collector = BodyCollector(MAX_DOCUMENT)
            response.deliverBody(collector)
            collector.finished.addTimeout(self.timeout, self.reactor)
            content = yield collector.finished
        except Exception as error:
            raise errors.Unavailable("the identity provider did not answer at %s: %s"
                                     % (url, type(error).__name__)) from None
        try:
            document = json.loads(content)
            if not isinstance(document, dict):
                raise ValueError("not an object")
        except ValueError:
            raise errors.Unavailable("the identity provider answered %s at %s with no JSON "
                                     "object" % (response.code, url)) from None
        if response.code != 200 and "error" not in document:
            raise errors.Unavailable("the identity provider answered %s at %s"
                                     % (response.code, url))
        return document
