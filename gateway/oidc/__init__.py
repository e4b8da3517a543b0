"""SSO with OpenID Connect: bearer tokens (JWT) checked against the provider's published keys.

An ``Authorization: Bearer <JWT>`` header is verified with joserfc (the JOSE library authlib
itself now builds on): the signature against the provider's JWKS (``jwks_url``, ``jwks_file``, or
the ``jwks_uri`` of the issuer's discovery document), the algorithm against an allow-list of
asymmetric algorithms, then ``iss``, ``aud``, ``exp`` and ``nbf`` with a small leeway. The claims
become a :class:`slap_core.principals.User`: the login from ``login_claim`` (falling back to
``sub``), roles from the groups in ``roles_claim`` mapped by ``role.<role> = group`` lines.

Keys are fetched when first needed, again when older than ``jwks_ttl``, and again when a token
names a key id the set lacks (rotation), at most once per ``refresh_interval`` seconds. Fetches go
through Twisted's Agent on the reactor thread; a provider that does not answer is
:class:`slap_core.errors.Unavailable` (503), never an allow. A bad token is :class:`InvalidToken`
(401, ``WWW-Authenticate: Bearer error="invalid_token"`` where the adaptor answers HTTP).
"""

from gateway.oidc.authenticator import BearerAuthenticator
from gateway.oidc.fetch import HttpFetcher
from gateway.oidc.provider import Provider, parse_jwks
from gateway.oidc.settings import ASYMMETRIC_ALGORITHMS, OidcSettings, settings_from
from gateway.oidc.tokens import InvalidToken, bearer_token, token_header
from gateway.oidc.verifier import TokenVerifier

__all__ = ["ASYMMETRIC_ALGORITHMS", "BearerAuthenticator", "HttpFetcher", "InvalidToken",
           "OidcSettings", "Provider", "TokenVerifier", "bearer_token", "parse_jwks",
           "settings_from", "token_header"]
