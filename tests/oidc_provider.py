"""A real OpenID Connect provider for the tests, built with authlib's Flask integration.

It serves discovery (``/.well-known/openid-configuration``), its key set (``/jwks``), the
authorization endpoint (``/authorize``: no form, it approves at once for the person named by
``login_hint`` or for ``default_user``), the token endpoint (``/token``: the authorization-code
grant with PKCE and OpenID Connect ID tokens, and client credentials) on 127.0.0.1 with werkzeug
in a thread. Access tokens are JWTs (RFC 9068) signed with the current key. ``rotate()`` publishes
a new key and signs with it from then on; clients can be registered with a wrong audience, a
wrong issuer, a lifetime already over, or a signing key the key set does not publish, so that the
tests obtain every kind of bad token from the provider itself.
"""

import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

# authlib refuses plain http unless told otherwise; this provider only listens on loopback.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

from authlib.integrations.flask_oauth2 import AuthorizationServer  # noqa: E402
from authlib.oauth2.rfc6749 import grants  # noqa: E402
from authlib.oauth2.rfc7636 import CodeChallenge  # noqa: E402
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator  # noqa: E402
from authlib.oidc.core import UserInfo  # noqa: E402
from authlib.oidc.core.grants import OpenIDCode  # noqa: E402
from flask import Flask, jsonify, request  # noqa: E402
from joserfc.jwk import KeySet, RSAKey  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

AUDIENCE = "slapgate"
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@dataclass
class ProviderUser:
    """A person of the provider: ``login`` (preferred_username), ``groups``, ``sub``."""

    login: str
    groups: list = field(default_factory=list)
    email: str = ""

    @property
    def sub(self):
        """The subject identifier (opaque, unlike the login)."""
        return "sub-" + self.login

    def get_user_id(self):
        """authlib's name for the subject."""
        return self.sub


@dataclass
class ProviderClient:
    """A registered client and how its tokens are (mis)issued."""

    client_id: str
    client_secret: str
    redirect_uris: list = field(default_factory=list)
    audience: str = AUDIENCE
    lifetime: int = 3600
    issuer: str = ""
    rogue_key: object = None
    acts_for: str = ""
    scope: str = "openid profile email groups"

    def get_client_id(self):
        """The client's id."""
        return self.client_id

    def get_default_redirect_uri(self):
        """The first registered redirect URI."""
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope):
        """The requested scopes this client may have."""
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        """Only registered redirect URIs."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        """Compare the secret in constant time."""
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        """Secrets by HTTP Basic or in the form."""
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        """The code flow only."""
        return response_type == "code"

    def check_grant_type(self, grant_type):
        """Authorization code and client credentials."""
        return grant_type in ("authorization_code", "client_credentials")


@dataclass
class AuthorizationCode:
    """An issued code, kept until it is exchanged."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: ProviderUser
    nonce: str = ""
    code_challenge: str = ""
    code_challenge_method: str = ""
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        """The redirect URI the code was issued for."""
        return self.redirect_uri

    def get_scope(self):
        """The scopes granted with the code."""
        return self.scope

    def get_nonce(self):
        """The OpenID Connect nonce of the authorization request."""
        return self.nonce

    def get_auth_time(self):
        """When the person was authenticated."""
        return self.auth_time

    def get_acr(self):
        """No authentication context class."""
        return None

    def get_amr(self):
        """No authentication methods."""
        return None


def user_info(user, scope):
    """The claims describing ``user`` in tokens."""
    info = UserInfo(sub=user.sub, preferred_username=user.login, groups=list(user.groups))
    if user.email:
        info["email"] = user.email
    return info


class OidcProvider:
    """The provider; ``start()`` serves it on 127.0.0.1, ``stop()`` ends it (blocking)."""

    def __init__(self, users=(), default_user=None):
        self.users = {user.login: user for user in users}
        self.default_user = default_user
        self.clients = {}
        self.codes = {}
        self.keys = [self._new_key()]
        self.requests = []
        self.lock = threading.Lock()
        self.issued = threading.local()
        self.server = None
        self.thread = None
        self.issuer = None

    @staticmethod
    def _new_key():
        return RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8)}, private=True)

    @property
    def signing_key(self):
        """The key new tokens are signed with (the newest)."""
        return self.keys[-1]

    def rotate(self, retire=False):
        """Publish a new key and sign with it; ``retire``: stop publishing the older ones."""
        with self.lock:
            self.keys = [self._new_key()] if retire else self.keys + [self._new_key()]
        return self.signing_key

    def jwks(self):
        """The published key set (public parts)."""
        return KeySet(list(self.keys)).as_dict(private=False)

    def register(self, client_id, **settings):
        """Register a client (ProviderClient fields); returns it."""
        settings.setdefault("client_secret", client_id + "-secret")
        client = ProviderClient(client_id, **settings)
        self.clients[client_id] = client
        return client

    def count(self, path):
        """How many requests were made for ``path``."""
        return sum(1 for p in self.requests if p == path)

    # -- serving

    def start(self, port=0):
        """Listen on 127.0.0.1 (``port``, or a free one); returns the issuer URL."""
        app = self.application()
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.issuer = "http://127.0.0.1:%d" % self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        return self.issuer

    def stop(self):
        """Stop serving (blocking; call it from a thread in a reactor test)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
            self.server = None

    def application(self):
        """The Flask application with authlib's authorization server."""
        app = Flask("oidc-provider")
        provider = self
        server = AuthorizationServer(app, query_client=self.clients.get,
                                     save_token=lambda token, request: None)

        class Tokens(JWTBearerTokenGenerator):
            def get_jwks(self):
                client = provider.issued.client
                # A key set (of one) makes joserfc name the key's kid in the header.
                return KeySet([client.rogue_key or provider.signing_key])

            def get_audiences(self, client, user, scope):
                return client.audience

            def get_extra_claims(self, client, grant_type, user, scope):
                claims = {}
                if user is None and client.acts_for:
                    user = provider.users[client.acts_for]
                    claims["sub"] = user.sub
                if user is not None:
                    claims.update(user_info(user, scope))
                if client.issuer:
                    claims["iss"] = client.issuer
                return claims

            def access_token_generator(self, client, grant_type, user, scope):
                provider.issued.client = client
                self.issuer = provider.issuer
                return super().access_token_generator(client, grant_type, user, scope)

        server.register_token_generator("default", Tokens(
            issuer="unused", expires_generator=lambda client, grant_type: client.lifetime))

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code, request):
                payload = request.payload
                provider.codes[code] = AuthorizationCode(
                    code=code, client_id=request.client.client_id,
                    redirect_uri=payload.redirect_uri, scope=payload.scope, user=request.user,
                    nonce=payload.data.get("nonce") or "",
                    code_challenge=payload.data.get("code_challenge") or "",
                    code_challenge_method=payload.data.get("code_challenge_method") or "")

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                if found is not None and found.client_id == client.client_id:
                    return found
                return None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.user

        class OpenID(OpenIDCode):
            def exists_nonce(self, nonce, request):
                return any(c.nonce == nonce for c in provider.codes.values())

            def resolve_client_private_key(self, client):
                return client.rogue_key or provider.signing_key

            def get_client_claims(self, client):
                return {"iss": client.issuer or provider.issuer, "aud": [client.client_id]}

            def get_client_algorithm(self, client):
                return "RS256"

            def get_encode_header(self, client):
                key = client.rogue_key or provider.signing_key
                return {"alg": "RS256", "kid": key.kid}

            def generate_user_info(self, user, scope):
                return user_info(user, scope)

        server.register_grant(CodeGrant, [OpenID(require_nonce=False), CodeChallenge(
            required=False)])
        server.register_grant(grants.ClientCredentialsGrant)

        @app.before_request
        def record():
            provider.requests.append(request.path)

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify({
                "issuer": provider.issuer,
                "authorization_endpoint": provider.issuer + "/authorize",
                "token_endpoint": provider.issuer + "/token",
                "jwks_uri": provider.issuer + "/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code", "client_credentials"],
            })

        @app.get("/jwks")
        def jwks():
            return jsonify(provider.jwks())

        @app.get("/authorize")
        def authorize():
            login = request.args.get("login_hint") or provider.default_user
            user = provider.users.get(login)
            grant = server.get_consent_grant(end_user=user)
            return server.create_authorization_response(grant_user=user, grant=grant)

        @app.post("/token")
        def token():
            return server.create_token_response()

        return app

    # -- getting tokens, as a client would (blocking: call from a thread)

    def client_credentials(self, client_id, scope="profile"):
        """The token response of the client-credentials grant for ``client_id``."""
        import requests

        client = self.clients[client_id]
        response = requests.post(self.issuer + "/token", data={
            "grant_type": "client_credentials", "scope": scope},
            auth=(client.client_id, client.client_secret), timeout=10)
        response.raise_for_status()
        return response.json()

    def code_flow(self, client_id, login, scope="openid profile groups", nonce=None):
        """The token response of the authorization-code flow run for ``login`` over HTTP."""
        import requests

        client = self.clients[client_id]
        redirect_uri = client.redirect_uris[0]
        state = secrets.token_urlsafe(8)
        answer = requests.get(self.issuer + "/authorize", params=dict(
            response_type="code", client_id=client_id, redirect_uri=redirect_uri, scope=scope,
            state=state, login_hint=login, **({"nonce": nonce} if nonce else {})),
            allow_redirects=False, timeout=10)
        if answer.status_code != 302:
            raise AssertionError("authorize answered %s: %s" % (answer.status_code, answer.text))
        query = parse_qs(urlparse(answer.headers["Location"]).query)
        assert query["state"] == [state], query
        response = requests.post(self.issuer + "/token", data={
            "grant_type": "authorization_code", "code": query["code"][0],
            "redirect_uri": redirect_uri}, auth=(client.client_id, client.client_secret),
            timeout=10)
        response.raise_for_status()
        return response.json()


def start_provider(testcase, users=(), default_user=None):
    """An OidcProvider serving on 127.0.0.1, stopped (in a thread) when ``testcase`` ends."""
    from twisted.internet import threads

    provider = OidcProvider(users, default_user)
    provider.start()
    testcase.addCleanup(lambda: threads.deferToThread(provider.stop))
    return provider





def main(argv=None):
    """``python -m tests.oidc_provider [--port P] [MASTER_URL]``: a provider to try SSO by hand.

    Serves alice (group slapgate-admins) and carol (no group) until Ctrl-C, with a web client
    ``slapgate-web`` (redirect URI ``MASTER_URL/auth/callback``) and a client ``alice-cli`` whose
    client-credentials tokens speak for alice; prints the [oidc] section for the master.
    """
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("master_url", nargs="?", default="http://127.0.0.1:8080")
    parser.add_argument("--port", type=int, default=9400, help="port on 127.0.0.1 (9400)")
    args = parser.parse_args(argv)
    provider = OidcProvider([ProviderUser("alice", ["slapgate-admins"], "alice@example.org"),
                             ProviderUser("carol", [])], default_user="alice")
    master = args.master_url.rstrip("/")
    provider.register("slapgate-web", redirect_uris=[master + "/auth/callback"])
    provider.register("alice-cli", acts_for="alice")
    issuer = provider.start(args.port)
    print("[oidc]\nissuer = %s\naudience = %s\nrole.admin = slapgate-admins\n"
          "client_id = slapgate-web\nclient_secret = slapgate-web-secret\n" % (issuer, AUDIENCE))
    print("# a token for alice: curl -s -u alice-cli:alice-cli-secret "
          "-d grant_type=client_credentials %s/token" % issuer, flush=True)
    try:
        provider.thread.join()
    except KeyboardInterrupt:
        provider.stop()


if __name__ == "__main__":
    main()
