"""The machine's limit for one answer: a bare twisted.web site serving fixed bytes at every path.

``python bench/bare_twisted.py BODY_FILE HOST:PORT``: every GET answers the file's bytes as
``text/xml; charset=utf-8`` (the bytes of one slapgate poll answer, saved by bench/run.py). The
site logs each request to stdout through twisted.logger, as ``slapgate master`` does, so the two
pay the same logging cost. SIGTERM or SIGINT stops it.
"""

import sys

from twisted.internet import reactor
from twisted.logger import globalLogBeginner, textFileLogObserver
from twisted.web.resource import Resource
from twisted.web.server import Site


class Fixed(Resource):
    """Answers the same bytes to any GET."""

    isLeaf = True

    def __init__(self, body):
        super().__init__()
        self.body = body

    def render_GET(self, request):
        request.setHeader(b"Content-Type", b"text/xml; charset=utf-8")
        return self.body


def main():
    body_file, address = sys.argv[1], sys.argv[2]
    host, _, port = address.rpartition(":")
    with open(body_file, "rb") as handle:
        body = handle.read()
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)], redirectStandardIO=False)
    reactor.listenTCP(int(port), Site(Fixed(body)), interface=host)
    print("bare twisted.web serving %d bytes on http://%s/" % (len(body), address), flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
