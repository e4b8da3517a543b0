"""Who is calling an HTTP adaptor: HTTP Basic checked against slapgate's local users.

The authenticator turns a request into a slap_core principal; slap_core then decides what that
principal may do. No credentials give :class:`Anonymous` (most operations then refuse);
wrong or malformed credentials are Unauthenticated. Successful checks are remembered for a short
time so that a script's every call does not pay for scrypt again. LDAP, SSO bearer tokens and
client certificates join here with the authentication issue.
"""

import base64
import hashlib
import time

from twisted.internet import defer

from slap_core import errors
from slap_core.principals import Anonymous, User


class LocalPasswordAuthenticator:
    """HTTP Basic against local users (``person.check_password``), cached for ``ttl`` seconds."""

    def __init__(self, calls, ttl=60.0, clock=time.monotonic, max_entries=10000):
        self.calls = calls
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self._cache = {}

    def principal(self, request):
        """Deferred principal of ``request``."""
        header = request.getHeader(b"authorization")
        if header is None or not header[:6].lower() == b"basic ":
            return defer.succeed(Anonymous())
        try:
            login, _, password = base64.b64decode(header[6:].strip(), validate=True) \
                .decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return defer.fail(errors.Unauthenticated("malformed Basic credentials"))
        key = (login, hashlib.sha256(password.encode("utf-8")).digest())
        cached = self._cache.get(key)
        now = self.clock()
        if cached is not None and cached[0] > now:
            return defer.succeed(cached[1])
        result = self.calls.call("person.check_password", Anonymous(), login=login,
                                 password=password)
        result.addCallback(self._remember, key)
        return result

    def _remember(self, person, key):
        user = User(person.login, roles=set(person.roles) or {"user"})
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        self._cache[key] = (self.clock() + self.ttl, user)
        return user
