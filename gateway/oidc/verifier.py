"""Checking a bearer token (signature, algorithm, issuer, audience, times) and reading its person."""

import time

from twisted.internet import defer, threads

from gateway.oidc.tokens import InvalidToken, token_header
from slap_core import errors
from slap_core.principals import User


class TokenVerifier:
    """Checks JWTs issued by the provider and turns their claims into principals."""

    def __init__(self, settings, provider, clock=time.time):
        self.settings = settings
        self.provider = provider
        self.clock = clock

    def verify(self, token, audience=None, nonce=None):
        """Deferred claims of a valid token; InvalidToken or Unavailable otherwise."""
        try:
            kid, alg = self._header(token)
        except errors.SlapError as error:
            return defer.fail(error)
        result = self.provider.key_for(kid, alg)
        result.addCallback(lambda key: self.claims(token, key, alg, audience, nonce))
        return result

    def verify_blocking(self, token):
        """Claims of a valid token, from a thread other than the reactor's."""
        kid, alg = self._header(token)
        key = self.provider.cached_key(kid, alg)
        if key is None:
            key = threads.blockingCallFromThread(self.provider.reactor, self.provider.key_for,
                                                 kid, alg)
        return self.claims(token, key, alg)

    def principal(self, token):
        """Deferred User of a valid access token."""
        return self.verify(token).addCallback(self.user)

    def principal_blocking(self, token):
        """The User of a valid access token, from a thread."""
        return self.user(self.verify_blocking(token))

    def _header(self, token):
        header = token_header(token)
        alg = header.get("alg")
        if alg not in self.settings.algorithms:
            raise InvalidToken("the token's algorithm %r is not accepted" % (alg,))
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("the token's key id is not a string")
        return kid, alg

    def claims(self, token, key, alg, audience=None, nonce=None):
        """The checked claims of ``token`` signed by ``key``; InvalidToken otherwise."""
        from joserfc import jwt
        from joserfc.errors import ExpiredTokenError, JoseError, MissingClaimError

        settings = self.settings
        try:
            claims = jwt.decode(token, key, algorithms=[alg]).claims
        except JoseError as error:
            raise InvalidToken("the token's signature does not verify (%s)"
                               % type(error).__name__) from None
        except (ValueError, TypeError):
            raise InvalidToken("the bearer token is not a valid JWT") from None
        options = {"iss": {"essential": True, "value": settings.issuer},
                   "aud": {"essential": True, "value": audience or settings.audience},
                   "exp": {"essential": True}}
        if nonce is not None:
            options["nonce"] = {"essential": True, "value": nonce}
        registry = jwt.JWTClaimsRegistry(now=lambda: int(self.clock()),
                                         leeway=int(settings.leeway), **options)
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise InvalidToken("the token has expired") from None
        except MissingClaimError as error:
            raise InvalidToken("the token lacks the %s claim" % error.claim) from None
        except JoseError as error:
            claim = getattr(error, "claim", "")
            raise InvalidToken("the token's %s claim is wrong for slapgate" % claim
                               if claim else "the token's claims are invalid") from None
        return claims

    def user(self, claims):
        """The User described by checked claims; Forbidden for a person with no role."""
        settings = self.settings
        login = claims.get(settings.login_claim)
        if not isinstance(login, str) or not login.strip():
            login = claims.get("sub")
        if not isinstance(login, str) or not login.strip() or len(login) > 255 \
                or any(ord(c) < 32 for c in login):
            raise InvalidToken("the token names nobody (no %s or sub claim)"
                               % settings.login_claim)
        groups = _claim_path(claims, settings.roles_claim)
        if isinstance(groups, str):
            groups = groups.split()
        if not isinstance(groups, list):
            groups = []
        roles = {settings.roles[g] for g in groups if isinstance(g, str) and g in settings.roles}
        if not roles:
            if not settings.default_role:
                raise errors.Forbidden("%s is in none of the groups slapgate maps" % login)
            roles = {settings.default_role}
        return User(login.strip(), roles=roles)


def _claim_path(claims, path):
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
