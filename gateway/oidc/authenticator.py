"""The gateway's authenticator of ``Authorization: Bearer`` requests."""

from twisted.internet import defer

from gateway.oidc.tokens import bearer_token
from slap_core import errors


class BearerAuthenticator:
    """``Authorization: Bearer`` tokens checked by a TokenVerifier; any other header goes to
    ``fallback`` (the password authenticator), with the same interface as it."""

    def __init__(self, verifier, fallback):
        self.verifier = verifier
        self.fallback = fallback

    def principal(self, request):
        """Deferred principal of ``request``."""
        try:
            token = bearer_token(request.getHeader(b"authorization"))
        except errors.SlapError as error:
            return defer.fail(error)
        if token is None:
            return self.fallback.principal(request)
        return self.verifier.principal(token)

    def principal_blocking(self, header):
        """The principal for an ``Authorization`` header value, blocking (from a thread)."""
        if isinstance(header, str):
            header = header.encode("latin-1")
        token = bearer_token(header)
        if token is None:
            return self.fallback.principal_blocking(header)
        return self.verifier.principal_blocking(token)
