"""``/ca/``: the master's CA certificate and its current revocation list, for anyone to fetch."""

from twisted.web import pages
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from twisted.logger import Logger

from slap_core.principals import Anonymous

PEM = b"application/x-pem-file"
log = Logger()


class CaResource(Resource):
    """``ca.crt`` (PEM) and ``crl.pem`` (a CRL signed now, from ``certificate.revoked_list``)."""

    def __init__(self, calls, authority):
        super().__init__()
        self.calls, self.authority = calls, authority

    def getChild(self, name, request):
        """``ca.crt`` and ``crl.pem``; anything else is 404."""
        if name == b"ca.crt":
            return _CaCertificate(self.authority)
        if name == b"crl.pem":
            return _RevocationList(self.calls, self.authority)
        return pages.notFound("No such file", "The CA serves ca.crt and crl.pem.")


class _CaCertificate(Resource):
    isLeaf = True

    def __init__(self, authority):
        super().__init__()
        self.authority = authority

    def render_GET(self, request):
        request.setHeader(b"Content-Type", PEM)
        return self.authority.certificate_pem


class _RevocationList(Resource):
    isLeaf = True

    def __init__(self, calls, authority):
        super().__init__()
        self.calls, self.authority = calls, authority

    def render_GET(self, request):
        result = self.calls.call("certificate.revoked_list", Anonymous())
        result.addCallback(lambda revoked: self.calls.run(self.authority.crl, revoked))
        result.addCallbacks(self._answer, self._fail, callbackArgs=(request,),
                            errbackArgs=(request,))
        return NOT_DONE_YET

    @staticmethod
    def _answer(body, request):
        request.setHeader(b"Content-Type", PEM)
        if not request._disconnected:
            request.write(body)
            request.finish()

    @staticmethod
    def _fail(failure, request):
        log.failure("building the CRL failed", failure)
        request.setResponseCode(500)
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        if not request._disconnected:
            request.write(b"internal error")
            request.finish()
