"""Personal API tokens at the door: ``Authorization: Bearer sgt_...`` or a Basic password.

A :class:`TokenAuthenticator` stands in front of the other credential checks (OIDC bearer tokens,
local or LDAP passwords). A token is checked by ``token.authenticate`` in the thread pool on
every request, never remembered, so a revoked token is refused from the very next call. With
Basic, the user name sent with a token must be its owner's login (or empty). Any other header
goes to the next authenticator; a bearer token that is not an API token is refused when the
master has no OIDC provider (rather than treated as no credentials at all).
"""

from twisted.internet import defer

from gateway.auth import basic_credentials
from gateway.oidc import InvalidToken
from slap_core import errors
from slap_core.principals import Anonymous, User
from slap_core.tokens import MAX_TOKEN, looks_like_token

_BEARER = b"bearer "


class NotAnApiToken(InvalidToken):
    """A bearer token on a master that accepts none but its own API tokens."""


def presented_token(header, other_bearers=True):
    """(login or None, token) when ``header`` (bytes or None) carries an API token, else None.

    Raises InvalidToken for a malformed bearer API token (and, without ``other_bearers``, for
    any other bearer token), Unauthenticated for malformed Basic credentials.
    """
    if header is None:
        return None
    if header[:7].lower() == _BEARER:
        value = header[7:].strip()
        if not value.startswith(b"sgt_"):
            if other_bearers:
                return None
            raise NotAnApiToken("this master accepts only its API tokens (sgt_...) as bearer "
                                "tokens")
        if len(value) > MAX_TOKEN:
            raise InvalidToken("malformed API token")
        try:
            return None, value.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidToken("malformed API token") from None
    credentials = basic_credentials(header)
    if credentials is None or not looks_like_token(credentials[1]):
        return None
    return credentials


def _principal(identity):
    return User(identity.login, roles=set(identity.roles) or {"user"})


def _bearer_error(error, login):
    # A refused bearer token answers with the Bearer challenge where the adaptor speaks HTTP.
    if login is None and type(error) is errors.Unauthenticated:
        raise InvalidToken(str(error)) from None
    raise error


def _refused(failure, login):
    failure.trap(errors.SlapError)
    _bearer_error(failure.value, login)


class TokenAuthenticator:
    """API tokens first, any other credentials to ``fallback`` (same interface as it).

    ``other_bearers``: whether bearer tokens that are not API tokens go to ``fallback`` (true when
    the fallback checks OIDC tokens); otherwise they are refused.
    """

    def __init__(self, calls, fallback, other_bearers=False):
        self.calls = calls
        self.fallback = fallback
        self.other_bearers = other_bearers

    def principal(self, request):
        """Deferred principal of ``request``."""
        try:
            presented = presented_token(request.getHeader(b"authorization"), self.other_bearers)
        except errors.SlapError as error:
            return defer.fail(error)
        if presented is None:
            return self.fallback.principal(request)
        login, token = presented
        result = self.calls.call("token.authenticate", Anonymous(), token=token, login=login)
        result.addErrback(_refused, login)
        return result.addCallback(_principal)

    def principal_blocking(self, header):
        """The principal for an ``Authorization`` header value (bytes, str or None), blocking."""
        if isinstance(header, str):
            header = header.encode("latin-1", "replace")
        presented = presented_token(header, self.other_bearers)
        if presented is None:
            return self.fallback.principal_blocking(header)
        login, token = presented
        try:
            identity = self.calls.master.call("token.authenticate", Anonymous(), token=token,
                                              login=login)
        except errors.SlapError as error:
            _bearer_error(error, login)
        return _principal(identity)
