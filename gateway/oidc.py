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

import base64
import io
import json
import time
from dataclasses import dataclass, field

from twisted.internet import defer, protocol, threads
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import FileBodyProducer
from twisted.web.http_headers import Headers

from gateway.settings import ConfigError, roles_from
from slap_core import errors
from slap_core.principals import User

ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                         "ES256", "ES384", "ES512", "EdDSA")
MAX_DOCUMENT = 1024 * 1024
MAX_TOKEN = 16 * 1024
log = Logger()


@dataclass
class OidcSettings:
    """Which provider to trust and how to read people from its tokens.

    ``issuer``: the provider's issuer URL (tokens' ``iss`` must equal it); ``audience``: the
    ``aud`` value tokens must carry for slapgate; ``jwks_url`` / ``jwks_file``: where the signing
    keys are (neither: discovery from ``<issuer>/.well-known/openid-configuration``);
    ``algorithms``: accepted signature algorithms (asymmetric only); ``leeway``: seconds of clock
    skew allowed on ``exp``/``nbf``/``iat``; ``login_claim``: the claim holding the login (``sub``
    when absent); ``roles_claim``: the claim listing the person's groups (a dotted path such as
    ``realm_access.roles`` reaches into objects); ``roles``: group -> slapgate role;
    ``default_role``: the role of a person in none of those groups (empty: refused);
    ``timeout``: seconds for each exchange with the provider; ``refresh_interval``: the least
    number of seconds between two key fetches caused by unknown key ids; ``jwks_ttl``: seconds
    keys are trusted before they are fetched again. The web login (``/auth``) is on when
    ``client_id`` is set: ``client_secret``, ``redirect_uri`` (default: ``/auth/callback`` on the
    address the browser used), ``scopes`` and ``session_ttl`` (seconds a login lasts).
    """

    issuer: str
    audience: str
    jwks_url: str = ""
    jwks_file: str = ""
    algorithms: tuple = ("RS256", "PS256", "ES256")
    leeway: float = 60.0
    login_claim: str = "preferred_username"
    roles_claim: str = "groups"
    roles: dict = field(default_factory=dict)
    default_role: str = "user"
    timeout: float = 5.0
    refresh_interval: float = 10.0
    jwks_ttl: float = 3600.0
    client_id: str = ""
    client_secret: str = ""
    redirect_uri: str = ""
    scopes: str = "openid profile email"
    session_ttl: float = 8 * 3600.0

    @property
    def discovery_url(self):
        """The issuer's OpenID Connect discovery document."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def settings_from(section):
    """OidcSettings from a configparser section ``[oidc]`` (``role.<name> = group`` lines)."""
    if not section.get("issuer") or not section.get("audience"):
        raise ConfigError("[oidc] needs issuer and audience")
    if section.get("jwks_url") and section.get("jwks_file"):
        raise ConfigError("[oidc] takes jwks_url or jwks_file, not both")
    roles, default_role = roles_from(section, "oidc")
    algorithms = tuple(section.get("algorithms", "RS256 PS256 ES256").split())
    unsafe = [a for a in algorithms if a not in ASYMMETRIC_ALGORITHMS]
    if unsafe or not algorithms:
        raise ConfigError("[oidc] algorithms are among %s (no 'none', no HS*): not %s"
                          % (" ".join(ASYMMETRIC_ALGORITHMS), " ".join(unsafe)))
    numbers = {}
    for key, default in (("leeway", "60"), ("timeout", "5"), ("refresh_interval", "10"),
                         ("jwks_ttl", "3600"), ("session_ttl", "28800")):
        try:
            numbers[key] = float(section.get(key, default))
        except ValueError:
            raise ConfigError("[oidc] %s is a number of seconds" % key) from None
        if numbers[key] < 0:
            raise ConfigError("[oidc] %s is not negative" % key)
    if numbers["timeout"] <= 0 or numbers["session_ttl"] <= 0:
        raise ConfigError("[oidc] timeout and session_ttl are positive")
    for key in ("issuer", "jwks_url", "redirect_uri"):
        value = section.get(key, "")
        if value and not value.startswith(("https://", "http://")):
            raise ConfigError("[oidc] %s is an http(s) URL" % key)
    return OidcSettings(
        issuer=section["issuer"], audience=section["audience"],
        jwks_url=section.get("jwks_url", ""), jwks_file=section.get("jwks_file", ""),
        algorithms=algorithms, login_claim=section.get("login_claim", "preferred_username"),
        roles_claim=section.get("roles_claim", "groups"), roles=roles,
        default_role=default_role, client_id=section.get("client_id", ""),
        client_secret=section.get("client_secret", ""),
        redirect_uri=section.get("redirect_uri", ""),
        scopes=section.get("scopes", "openid profile email"), **numbers)


class InvalidToken(errors.Unauthenticated):
    """A bearer token that is malformed, badly signed, expired or not meant for slapgate."""

    @property
    def challenge(self):
        """The ``WWW-Authenticate`` value (bytes) of an HTTP 401 answering this token."""
        description = self.message.replace("\\", "").replace('"', "'")
        return ('Bearer realm="slapgate", error="invalid_token", error_description="%s"'
                % description).encode("latin-1", "replace")


def bearer_token(header):
    """The token of an ``Authorization: Bearer`` header value (bytes), None for other schemes."""
    if header is None or not header[:7].lower() == b"bearer ":
        return None
    token = header[7:].strip()
    if not token or len(token) > MAX_TOKEN:
        raise InvalidToken("the bearer token is empty or too long")
    try:
        return token.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidToken("the bearer token is not a JWT") from None


def token_header(token):
    """The decoded JOSE header of a compact JWT; InvalidToken when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("the bearer token is not a signed JWT")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except ValueError:
        raise InvalidToken("the bearer token's header is not JSON") from None
    if not isinstance(header, dict):
        raise InvalidToken("the bearer token's header is not a JSON object")
    return header


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


class Provider:
    """What slapgate knows of the identity provider: its discovery document and its keys.

    Everything here runs on the reactor thread; ``keys`` is replaced, never mutated, so threads
    may read it.
    """

    def __init__(self, settings, reactor, clock=time.monotonic, fetcher=None):
        self.settings = settings
        self.reactor = reactor
        self.clock = clock
        self.fetcher = fetcher or HttpFetcher(reactor, settings.timeout)
        self.keys = {}
        self.keys_fetched = None
        self._last_attempt = None
        self._metadata = None
        self._pending = None
        self._waiters = []

    @defer.inlineCallbacks
    def metadata(self):
        """Deferred discovery document (fetched once, checked against the configured issuer)."""
        if self._metadata is None:
            document = yield self.fetcher.get_json(self.settings.discovery_url)
            if document.get("issuer") != self.settings.issuer:
                raise errors.Unavailable("the discovery document names issuer %r, not %r"
                                         % (document.get("issuer"), self.settings.issuer))
            self._metadata = document
        return self._metadata

    def cached_key(self, kid, alg):
        """The key for ``kid`` when no fetch is due, else None (safe from any thread)."""
        if self.keys_fetched is None or self.clock() - self.keys_fetched > self.settings.jwks_ttl:
            return None
        return _pick(self.keys, kid, alg)

    @defer.inlineCallbacks
    def key_for(self, kid, alg):
        """Deferred public key for a token's ``kid`` and ``alg`` (fetching keys when due).

        Keys are fetched when there are none yet, when they are older than ``jwks_ttl`` or when
        ``kid`` is unknown (rotation), but never twice within ``refresh_interval`` seconds, so a
        flood of tokens naming unknown keys costs the provider one request. Old keys that have
        the key id are still used when a refresh fails.
        """
        key = self.cached_key(kid, alg)
        if key is not None:
            return key
        due = (self._pending is not None or self._last_attempt is None
               or self.clock() - self._last_attempt >= self.settings.refresh_interval)
        if due:
            try:
                yield self._refresh()
            except errors.Unavailable:
                if _pick(self.keys, kid, alg) is None:
                    raise
                log.warn("using the provider's previous keys: they could not be fetched again")
        elif self.keys_fetched is None:
            raise errors.Unavailable("the identity provider's keys could not be fetched; "
                                     "trying again in a few seconds")
        key = _pick(self.keys, kid, alg)
        if key is None:
            raise InvalidToken("the token is signed with a key the provider does not publish")
        return key

    def _refresh(self):
        """Deferred that fires when one fetch of the keys (shared by concurrent callers) ends."""
        waiter = defer.Deferred()
        self._waiters.append(waiter)
        if self._pending is None:
            self._last_attempt = self.clock()
            self._pending = self._fetch_keys()
            self._pending.addBoth(self._fetched)
        return waiter

    def _fetched(self, result):
        self._pending = None
        waiters, self._waiters = self._waiters, []
        if isinstance(result, Failure):
            for waiter in waiters:
                waiter.errback(result)
            return None
        self.keys = result
        self.keys_fetched = self.clock()
        for waiter in waiters:
            waiter.callback(None)
        return None

    @defer.inlineCallbacks
    def _fetch_keys(self):
        settings = self.settings
        if settings.jwks_file:
            document = yield threads.deferToThreadPool(
                self.reactor, self.reactor.getThreadPool(), _read_json_file, settings.jwks_file)
        else:
            url = settings.jwks_url
            if not url:
                metadata = yield self.metadata()
                url = metadata.get("jwks_uri")
                if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                    raise errors.Unavailable("the discovery document has no jwks_uri")
            document = yield self.fetcher.get_json(url)
        return parse_jwks(document)


def _read_json_file(path):
    try:
        with open(path, "rb") as stream:
            return json.loads(stream.read(MAX_DOCUMENT + 1))
    except (OSError, ValueError) as error:
        raise errors.Unavailable("cannot read the key file %s: %s"
                                 % (path, type(error).__name__)) from None


def parse_jwks(document):
    """{kid or None: joserfc key} of a JWKS document; keys that cannot be used are skipped."""
    from joserfc.jwk import import_key

    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise errors.Unavailable("the provider's key set has no 'keys' list")
    keys = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC", "OKP"):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            key = import_key({k: v for k, v in entry.items()
                              if k not in ("d", "p", "q", "dp", "dq", "qi")})
        except Exception:  # joserfc raises many kinds of errors for a malformed key
            log.warn("skipping a malformed key of the provider's key set")
            continue
        keys[entry.get("kid")] = key
    return keys


def _pick(keys, kid, alg):
    """The key named ``kid``; without a kid, the only key of the algorithm's type."""
    if kid is not None:
        return keys.get(kid)
    kty = {"R": "RSA", "P": "RSA", "E": "EC" if alg.startswith("ES") else "OKP"}[alg[0]]
    matching = [key for key in keys.values() if key.key_type == kty]
    return matching[0] if len(matching) == 1 else None


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
