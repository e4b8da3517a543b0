"""Who is calling an HTTP adaptor: a client certificate of the master's CA, or HTTP Basic.

The authenticator turns a request into one slap_core principal; slap_core then decides what that
principal may do. A TLS client certificate (already verified against the CA by the handshake)
is looked up by serial (``certificate.authenticate``): a computer, a partition or a person, or
Unauthenticated when revoked. Without one, HTTP Basic is checked against local users; no
credentials give :class:`Anonymous` (most operations then refuse); wrong or malformed credentials
are Unauthenticated. Successful password checks are remembered for a short time so that a
script's every call does not pay for scrypt again. LDAP and SSO bearer tokens join here later.
"""

import base64
import hashlib
import time

from twisted.internet import defer
from twisted.internet.interfaces import ISSLTransport

from slap_core import errors
from slap_core.principals import Anonymous, ComputerAgent, PartitionAgent, User


def basic_credentials(header):
    """(login, password) of an ``Authorization: Basic`` header value (bytes), None without one.

    Malformed credentials are Unauthenticated. suds encodes with the URL-safe Base64 alphabet,
    which plain Base64 never uses, so both are accepted.
    """
    if header is None or not header[:6].lower() == b"basic ":
        return None
    try:
        token = header[6:].strip()
        altchars = b"-_" if b"-" in token or b"_" in token else None
        login, _, password = base64.b64decode(token, altchars=altchars, validate=True) \
            .decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        raise errors.Unauthenticated("malformed Basic credentials") from None
    return login, password


def login_key(login, password):
    """The key under which a successful login is remembered (the password only as a digest)."""
    return login, hashlib.sha256(password.encode("utf-8")).digest()


class BasicAuthenticator:
    """HTTP Basic credentials checked by a subclass, successful logins remembered for ``ttl`` s.

    Subclasses give :meth:`check` (blocking: login, password -> User, or a SlapError) and may
    give :meth:`check_deferred` (the same from the reactor; by default ``check`` in the pool).
    No credentials give Anonymous; malformed ones are Unauthenticated.
    """

    def __init__(self, calls, ttl=60.0, clock=time.monotonic, max_entries=10000):
        self.calls = calls
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self._cache = {}

    def check(self, login, password):
        """The User these credentials stand for, blocking; raises a SlapError otherwise."""
        raise NotImplementedError

    def check_deferred(self, login, password):
        """Deferred :meth:`check`, from the reactor thread."""
        return self.calls.run(self.check, login, password)

    def principal(self, request):
        """Deferred principal of ``request``."""
        try:
            parsed = self._parse(request.getHeader(b"authorization"))
        except errors.SlapError as error:
            return defer.fail(error)
        if not isinstance(parsed, tuple):
            return defer.succeed(parsed)
        login, password, key = parsed
        return self.check_deferred(login, password).addCallback(self._remember, key)

    def principal_blocking(self, header):
        """The principal for an ``Authorization`` header value (bytes, str or None), blocking.

        For adaptors that already run in a thread (the WSGI-served SOAP adaptor); shares the
        cache with :meth:`principal`. Raises Unauthenticated for wrong or malformed credentials.
        """
        if isinstance(header, str):
            header = header.encode("latin-1")
        parsed = self._parse(header)
        if not isinstance(parsed, tuple):
            return parsed
        login, password, key = parsed
        return self._remember(self.check(login, password), key)

    def _parse(self, header):
        """Anonymous, a cached User, or (login, password, cache key) to check; may raise."""
        credentials = basic_credentials(header)
        if credentials is None:
            return Anonymous()
        key = login_key(*credentials)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        return credentials + (key,)

    def _remember(self, user, key):
        if self.ttl > 0:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            self._cache[key] = (self.clock() + self.ttl, user)
        return user


class LocalPasswordAuthenticator(BasicAuthenticator):
    """HTTP Basic against local users (``person.check_password``), cached for ``ttl`` seconds."""

    def check(self, login, password):
        """The local user, if the password is theirs (``Master.call`` directly: from a thread)."""
        return _user(self.calls.master.call("person.check_password", Anonymous(), login=login,
                                            password=password))

    def check_deferred(self, login, password):
        """The same through CoreCalls (the thread pool)."""
        return self.calls.call("person.check_password", Anonymous(), login=login,
                               password=password).addCallback(_user)


def password_check(authenticator):
    """``authenticate(login, password)``: the principal a login and password stand for through
    ``authenticator``'s HTTP Basic chain (local users, the directory, API tokens), blocking;
    raises a SlapError when they stand for no one. For what takes a login and a password in
    its own form (the dashboard's login page, SyncML's Cred)."""

    def authenticate(login, password):
        header = b"Basic " + base64.b64encode(("%s:%s" % (login, password)).encode("utf-8"))
        return authenticator.principal_blocking(header)

    return authenticate


def _user(person):
    return User(person.login, roles=set(person.roles) or {"user"})


def peer_certificate(request):
    """The client certificate of a TLS request as a ``cryptography`` certificate, else None."""
    transport = getattr(request.channel, "transport", None) if request.channel else None
    if transport is None or not ISSLTransport.providedBy(transport):
        return None
    certificate = transport.getPeerCertificate()
    return certificate.to_cryptography() if certificate is not None else None


def principal_of(identity):
    """The principal a CertificateIdentity stands for."""
    if identity.kind == "computer":
        return ComputerAgent(identity.computer)
    if identity.kind == "partition":
        return PartitionAgent(identity.computer, identity.partition)
    return User(identity.login, roles=set(identity.roles) or {"user"})


def _addressed(principal, request):
    """An Anonymous principal with the request's client address (what sign-ups throttle on)."""
    if isinstance(principal, Anonymous):
        return Anonymous(address=getattr(request.getClientAddress(), "host", None))
    return principal


class RequestAuthenticator:
    """One principal per request: the client certificate's when one was sent, else Basic's.

    A certificate is checked against the database on every request, so a revocation takes effect
    on the next call.
    """

    def __init__(self, calls, passwords=None):
        self.calls = calls
        self.passwords = passwords or LocalPasswordAuthenticator(calls)

    def principal(self, request):
        """Deferred principal of ``request``."""
        from gateway.ca import identity_of

        certificate = peer_certificate(request)
        if certificate is None:
            return self.passwords.principal(request).addCallback(_addressed, request)
        serial, common_name = identity_of(certificate)
        result = self.calls.call("certificate.authenticate", Anonymous(), serial=serial,
                                 common_name=common_name)
        return result.addCallback(principal_of)

    def principal_blocking(self, header, certificate=None):
        """The principal for adaptors running in a thread (SOAP), blocking.

        ``certificate`` is the request's client certificate (see :func:`peer_certificate`), else
        ``header`` (the ``Authorization`` value) is checked as LocalPasswordAuthenticator does.
        """
        from gateway.ca import identity_of

        if certificate is None:
            return self.passwords.principal_blocking(header)
        serial, common_name = identity_of(certificate)
        return principal_of(self.calls.master.call(
            "certificate.authenticate", Anonymous(), serial=serial, common_name=common_name))
