"""Reading a whole HTTP response body from ``twisted.web.client.Agent``, with a size limit."""

from twisted.internet import defer, protocol
from twisted.web import client
from twisted.web.http import PotentialDataLoss

MAX_BODY = 64 * 1024 * 1024


class BodyTooLarge(Exception):
    """The response body exceeded the limit."""


class _Accumulate(protocol.Protocol):
    def __init__(self, done, limit):
        self.done = done
        self.limit = limit
        self.chunks = []
        self.size = 0

    def dataReceived(self, data):
        self.size += len(data)
        if self.size > self.limit:
            self.chunks = []
            if not self.done.called:
                self.done.errback(BodyTooLarge("response body over %d bytes" % self.limit))
            self.transport.stopProducing()
            return
        self.chunks.append(data)

    def connectionLost(self, reason):
        if self.done.called:
            return
        if reason.check(client.ResponseDone, PotentialDataLoss):
            self.done.callback(b"".join(self.chunks))
        else:
            self.done.errback(reason)


def read_body(response, limit=MAX_BODY):
    """A Deferred firing with the body (bytes) of ``response``."""
    done = defer.Deferred()
    response.deliverBody(_Accumulate(done, limit))
    return done
