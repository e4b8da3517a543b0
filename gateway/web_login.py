"""Browser login through the OpenID Connect authorization-code flow, mounted at ``/auth``.

``/auth/login`` sends the browser to the provider's authorization endpoint (found by discovery)
with a fresh ``state``, ``nonce`` and PKCE challenge; ``/auth/callback`` checks the state against
the browser's login cookie, exchanges the code at the token endpoint (asynchronously, with the
client secret), verifies the ID token (signature, issuer, audience = client id, expiry, nonce) and
opens a session (an ``HttpOnly``, ``SameSite=Lax`` cookie) before sending the browser back;
``/auth/me`` answers the logged-in person as JSON (the session, or a bearer token; 401 with a
``WWW-Authenticate: Bearer`` challenge otherwise); ``/auth/logout`` ends the session.
Sessions and logins in progress live in this process's memory: a restart logs everyone out.
"""

import base64
import dataclasses
import hashlib
import json
import secrets
import time
from urllib.parse import quote, urlencode

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from gateway.oidc import InvalidToken, bearer_token
from protocols.statuses import status_of
from slap_core import errors

SESSION_COOKIE = b"slapgate_session"
LOGIN_COOKIE = b"slapgate_login"
LOGIN_TTL = 600.0
MAX_PENDING = 10000
log = Logger()


class Sessions:
    """Logged-in browsers (session id -> (expiry, User)) and logins in progress (by state)."""

    def __init__(self, ttl, clock=time.monotonic, max_entries=MAX_PENDING):
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self._sessions = {}
        self._logins = {}

    def open(self, user):
        """A new session id for ``user``."""
        self._prune(self._sessions)
        session = secrets.token_urlsafe(32)
        self._sessions[session] = (self.clock() + self.ttl, user)
        return session

    def user(self, session):
        """The User of a live session, or None."""
        found = self._sessions.get(session)
        if found is None:
            return None
        if found[0] <= self.clock():
            self._sessions.pop(session, None)
            return None
        return found[1]

    def close(self, session):
        """End a session (unknown ones are ignored)."""
        self._sessions.pop(session, None)

    def start_login(self, **details):
        """Remember a login in progress; returns its ``state``."""
        self._prune(self._logins)
        state = secrets.token_urlsafe(24)
        self._logins[state] = (self.clock() + LOGIN_TTL, details)
        return state

    def finish_login(self, state):
        """The details of the login ``state`` (used once), or None when unknown or too old."""
        found = self._logins.pop(state, None)
        if found is None or found[0] <= self.clock():
            return None
        return found[1]

    def _prune(self, table):
        if len(table) < self.max_entries:
            return
        now = self.clock()
        for key in [k for k, (expiry, _) in table.items() if expiry <= now]:
            del table[key]
        if len(table) >= self.max_entries:
            table.clear()


def pkce_pair():
    """(code_verifier, S256 code_challenge) of RFC 7636."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def local_path(value):
    """``value`` if it is a path on this site (not ``//host`` nor a URL), else ``/``."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _argument(request, name):
    values = request.args.get(name.encode())
    if not values:
        return ""
    try:
        return values[0].decode("utf-8")
    except UnicodeDecodeError:
        return ""


class WebLogin(Resource):
    """``/auth``: ``login``, ``callback``, ``me`` and ``logout`` of the browser login."""

    def __init__(self, calls, settings, provider, verifier, sessions=None):
        super().__init__()
        self.calls = calls
        self.settings = settings
        self.provider = provider
        self.verifier = verifier
        self.sessions = sessions or Sessions(settings.session_ttl)
        for name, render in ((b"login", self.login), (b"callback", self.callback),
                             (b"me", self.me), (b"logout", self.logout)):
            self.putChild(name, _Endpoint(render))

    # -- helpers

    def redirect_uri(self, request):
        """Where the provider sends the browser back."""
        if self.settings.redirect_uri:
            return self.settings.redirect_uri
        scheme = "https" if request.isSecure() else "http"
        host = (request.getHeader(b"host") or b"").decode("latin-1")
        if not host:
            address = request.getHost()
            host = "%s:%d" % (address.host, address.port)
        return "%s://%s/auth/callback" % (scheme, host)

    def _cookie(self, request, name, value, path, max_age):
        request.addCookie(name, value, path=path, max_age=str(int(max_age)), httpOnly=True,
                          sameSite="lax", secure=request.isSecure() or None)

    def session_user(self, request):
        """The User of the request's session cookie, or None."""
        session = request.getCookie(SESSION_COOKIE)
        if not session:
            return None
        return self.sessions.user(session.decode("latin-1"))

    # -- endpoints

    @defer.inlineCallbacks
    def login(self, request):
        """Redirect to the provider's authorization endpoint."""
        metadata = yield self.provider.metadata()
        endpoint = metadata.get("authorization_endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            raise errors.Unavailable("the discovery document has no authorization_endpoint")
        verifier, challenge = pkce_pair()
        nonce = secrets.token_urlsafe(24)
        redirect_uri = self.redirect_uri(request)
        state = self.sessions.start_login(nonce=nonce, verifier=verifier,
                                          redirect_uri=redirect_uri,
                                          next=local_path(_argument(request, "next")))
        query = {"response_type": "code", "client_id": self.settings.client_id,
                 "redirect_uri": redirect_uri, "scope": self.settings.scopes, "state": state,
                 "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"}
        hint = _argument(request, "login_hint")
        if hint:
            query["login_hint"] = hint
        self._cookie(request, LOGIN_COOKIE, state.encode(), b"/auth", LOGIN_TTL)
        separator = "&" if "?" in endpoint else "?"
        return 302, {"Location": endpoint + separator + urlencode(query)}, None

    @defer.inlineCallbacks
    def callback(self, request):
        """Check the state, exchange the code, verify the ID token, open a session."""
        state = _argument(request, "state")
        cookie = (request.getCookie(LOGIN_COOKIE) or b"").decode("latin-1")
        details = self.sessions.finish_login(state) if state else None
        if details is None or not secrets.compare_digest(cookie.encode("utf-8"),
                                                         state.encode("utf-8")):
            raise errors.Invalid("unknown or expired login attempt: start again at /auth/login")
        self._cookie(request, LOGIN_COOKIE, b"", b"/auth", 0)
        if _argument(request, "error"):
            raise errors.Unauthenticated("the identity provider refused the login: %s"
                                         % _argument(request, "error")[:100])
        code = _argument(request, "code")
        if not code:
            raise errors.Invalid("the identity provider sent no code")
        metadata = yield self.provider.metadata()
        endpoint = metadata.get("token_endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            raise errors.Unavailable("the discovery document has no token_endpoint")
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": details["redirect_uri"], "code_verifier": details["verifier"]}
        headers = {}
        if self.settings.client_secret:
            pair = "%s:%s" % (quote(self.settings.client_id, safe=""),
                              quote(self.settings.client_secret, safe=""))
            headers[b"Authorization"] = b"Basic " + base64.b64encode(pair.encode())
        else:
            form["client_id"] = self.settings.client_id
        answer = yield self.provider.fetcher.request(b"POST", endpoint,
                                                     urlencode(form).encode(), headers)
        if "error" in answer:
            raise errors.Unauthenticated("the identity provider refused the code: %s"
                                         % str(answer["error"])[:100])
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise errors.Unauthenticated("the identity provider sent no ID token")
        claims = yield self.verifier.verify(id_token, audience=self.settings.client_id,
                                            nonce=details["nonce"])
        user = self.verifier.user(claims)
        session = self.sessions.open(user)
        self._cookie(request, SESSION_COOKIE, session.encode(), b"/", self.settings.session_ttl)
        log.info("web login of {login}", login=user.login)
        return 302, {"Location": details["next"]}, None

    @defer.inlineCallbacks
    def me(self, request):
        """The logged-in person as JSON."""
        user = self.session_user(request)
        if user is None:
            token = bearer_token(request.getHeader(b"authorization"))
            if token is None:
                raise errors.Unauthenticated("not logged in: see /auth/login")
            user = yield self.verifier.principal(token)
        person = yield self.calls.call("person.me", user)
        body = dataclasses.asdict(person)
        body["roles"] = sorted(user.roles)
        return 200, {"Content-Type": "application/json"}, body

    def logout(self, request):
        """End the session and go back to ``/``."""
        session = request.getCookie(SESSION_COOKIE)
        if session:
            self.sessions.close(session.decode("latin-1"))
        self._cookie(request, SESSION_COOKIE, b"", b"/", 0)
        return defer.succeed((302, {"Location": "/"}, None))


class _Endpoint(Resource):
    """One ``/auth`` endpoint: runs its handler and writes the answer or the refusal."""

    isLeaf = True

    def __init__(self, handler):
        super().__init__()
        self.handler = handler

    def render_GET(self, request):
        """Run the handler; the answer is written when its Deferred fires."""
        finished = []
        request.notifyFinish().addBoth(finished.append)
        result = defer.maybeDeferred(self.handler, request)
        result.addCallbacks(lambda answer: self._write(request, *answer),
                            lambda failure: self._refuse(request, failure))
        result.addErrback(lambda failure: log.failure("writing an /auth answer", failure))
        result.addCallback(lambda _: None if finished else request.finish())
        return NOT_DONE_YET

    render_POST = render_GET

    @staticmethod
    def _write(request, status, headers, body):
        request.setResponseCode(status)
        request.setHeader(b"Cache-Control", b"no-store")
        for name, value in headers.items():
            request.setHeader(name.encode(), value.encode())
        if body is not None:
            request.write(json.dumps(body).encode())

    def _refuse(self, request, failure):
        error = failure.value
        status = status_of(error)
        if status is None:
            log.failure("/auth failed", failure)
            status, error = 500, errors.SlapError("internal error")
        if status == 401:
            request.setHeader(b"WWW-Authenticate", error.challenge if isinstance(
                error, InvalidToken) else b'Bearer realm="slapgate"')
        code = getattr(error, "code", "error")
        self._write(request, status, {"Content-Type": "application/json"},
                    {"error": code, "message": str(error)})
