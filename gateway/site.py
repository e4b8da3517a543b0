"""The one twisted.web site of a master: the root resource and what is mounted on it."""

import dataclasses
import json

from twisted.logger import Logger, LogLevel
from twisted.web import http, pages
from twisted.web.resource import Resource
from twisted.web.server import Site

from gateway.guard import DEFAULT_MAX_BODY, BoundedRequest, Face, Guard
from gateway.health import HealthResource
from gateway.version import VERSION
from gateway.auth import LocalPasswordAuthenticator, RequestAuthenticator, password_check, \
    peer_certificate
from gateway.ca_resource import CaResource
from gateway.dashboard import Dashboard
from gateway.content_type import memoize_content_type_parsing
from gateway.ldap_auth import LdapAuthenticator
from gateway.token_auth import TokenAuthenticator
from protocols.slap import AuthenticatedCallers, SlapResource
from protocols.slap.watch import Watcher
from slap_core.principals import User
from protocols.rest.resource import JSON_TYPES, ApiResource
from protocols.rest.resource import refusal as rest_refusal
from protocols.slap.resource import refusal as slap_refusal
from protocols.soap_api import refusal as soap_refusal
from protocols.soap_api import soap_resource
from protocols.syncml.message import MAX_MESSAGE
from protocols.syncml.resource import XML_TYPE as SYNCML_TYPE
from protocols.syncml.resource import SyncMLResource
from protocols.syncml.resource import refusal as syncml_refusal
from protocols.xmlrpc_api import XmlRpcResource
from protocols.xmlrpc_api import refusal as xmlrpc_refusal


class IndexResource(Resource):
    """``/``: a small JSON document naming the services mounted on this site."""

    def __init__(self):
        super().__init__()
        self.services = {}
        self.dashboard = None  # where a browser visiting / is sent

    def mount(self, path, resource, description):
        """Mount ``resource`` at ``/<path>`` and list it in the index."""
        self.putChild(path.encode(), resource)
        self.services[path] = description

    def getChild(self, path, request):
        """Unknown children get a plain 404 page."""
        if path == b"":
            return self
        return pages.notFound("No such resource", "There is nothing at this address.")

    def render_GET(self, request):
        """Describe the master and its services; a browser goes to the dashboard."""
        accept = request.getHeader(b"accept") or b""
        if b"text/html" in accept and self.dashboard is not None:
            request.redirect(b"/services")
            return b""
        request.setHeader(b"Content-Type", b"application/json")
        body = {
            "name": "slapgate",
            "version": VERSION,
            "services": {"/%s" % path: text for path, text in sorted(self.services.items())},
        }
        return json.dumps(body).encode()


class Channel(http.HTTPChannel):
    """HTTP/1.1 that answers a request line longer than MAX_LENGTH with 414 instead of hanging up."""

    def lineLengthExceeded(self, line):
        """Answer 414 with a problem document and close the connection."""
        body = json.dumps({"type": "about:blank", "title": "URI Too Long", "status": 414,
                           "detail": "the request line is longer than %d bytes" % self.MAX_LENGTH,
                           "code": "too_large"}).encode()
        self.transport.write(b"HTTP/1.1 414 URI Too Long\r\nContent-Type: application/problem+json"
                             b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                             % (len(body), body))
        self.transport.loseConnection()


def _plain_refusal(request, status, code, message):
    """A refusal of a face without an idiom of its own: a line of text."""
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
    return message.encode("utf-8") + b"\n"


# Every face, as the guard sees it: its refusal idiom, limit, body media types, XML rules.
FACES = {
    "xmlrpc": Face("XML-RPC", xmlrpc_refusal, xml="strict"),
    "soap": Face("SOAP", soap_refusal, xml="strict"),
    "api": Face("REST", rest_refusal, media_types=JSON_TYPES),
    "slap": Face("SLAP", slap_refusal),
    "syncml": Face("SyncML", syncml_refusal, limit=MAX_MESSAGE,
                   media_types=(SYNCML_TYPE.decode(),), xml="external"),
    # The dashboard refuses with a page of its own: build_site gives it its refusal.
    "pages": Face("dashboard", None, limit=1024 * 1024,
                  media_types=("application/x-www-form-urlencoded", "multipart/form-data")),
    "other": Face("other", _plain_refusal),
}


def build_site(calls, slap_callers=None, ldap=None, oidc=None, max_body=DEFAULT_MAX_BODY):
    """The Site of a master whose slap_core calls go through ``calls`` (a CoreCalls).

    ``slap_callers`` decides who calls SLAP endpoints (default: the principal of each request's
    client certificate or credentials); ``ldap`` (LdapSettings) checks HTTP Basic logins against a
    directory instead of local users; ``oidc`` (OidcSettings) accepts the provider's bearer tokens
    too, and mounts the web login at ``/auth/``. Personal API tokens are accepted in any case.
    The master's CA, when it has one, is at ``/ca/``. Every face sits behind a guard
    (:mod:`gateway.guard`): no body is kept past ``max_body`` bytes.
    """
    memoize_content_type_parsing()
    root = IndexResource()

    def mount(path, resource, description, face="other"):
        root.mount(path, Guard(resource, FACES[face], max_body), description)

    directory = LdapAuthenticator(calls, ldap) if ldap else None
    passwords = directory or LocalPasswordAuthenticator(calls)
    sessions = None
    if oidc:
        passwords, sessions = mount_sso(mount, calls, oidc, passwords)  # Bearer, else the above
    # API tokens (Bearer or Basic password sgt_...) come before every other kind of credential.
    passwords = TokenAuthenticator(calls, passwords, other_bearers=bool(oidc))
    authenticator = RequestAuthenticator(calls, passwords)  # a client certificate comes first
    mount("health", HealthResource(calls), "liveness and database check")
    # The watch of waiting nodes reads every waiting computer's revision at once, as the master.
    watcher = Watcher(calls, User("slapgate-watch", {"admin"}), calls.reactor)
    mount("slap", SlapResource(calls, slap_callers or AuthenticatedCallers(authenticator),
                               watcher),
          "SLAP: the master URL for upstream SlapOS tools", "slap")
    if calls.master.authority is not None:
        mount("ca", CaResource(calls, calls.master.authority),
              "the master's CA certificate (ca.crt) and revocation list (crl.pem)")
    mount("xmlrpc", XmlRpcResource(calls, authenticator, calls.master.operations),
          "XML-RPC: every operation as a namespaced method (HTTP Basic)", "xmlrpc")
    mount("soap", soap_resource(calls.master, authenticator, calls.reactor, calls.threadpool,
                                client_certificate=peer_certificate),
          "SOAP 1.1 document/literal; WSDL at /soap?wsdl (HTTP Basic or client certificate)",
          "soap")
    mount("api", ApiResource(calls, authenticator),
          "REST/JSON; OpenAPI 3.1 at /api/openapi.json (HTTP Basic, bearer token or certificate)",
          "api")
    check_password = password_check(passwords)  # the dashboard's form and SyncML's Cred
    root.dashboard = Dashboard(calls, check_password, sessions, sso=sessions is not None)
    pages = dataclasses.replace(FACES["pages"], refuse=root.dashboard.refusal)
    for name, page in root.dashboard.children.items():
        root.putChild(name, Guard(page, pages, max_body))
    mount("syncml", SyncMLResource(calls, check_password, VERSION),
          "SyncML 1.2 (XML): contacts kept in step with devices and ERPs (Basic in Cred)",
          "syncml")
    site = GatewaySite(root)
    site.requestFactory = BoundedRequest
    site.max_body = max_body
    site.protocol = Channel
    site.displayTracebacks = False
    site.watcher = watcher
    site.directory = directory  # its own thread pool, stopped with the master
    return site


# What nodes ask again and again: answered well, a line each at debug, not at info (a node
# polling every few seconds filled the log with them).
ROUTINE_PATHS = (b"/slap/getFullComputerInformation", b"/slap/watchComputer")


def routine(request):
    """Whether ``request`` was a node's routine poll, answered without error."""
    if request.method not in (b"GET", b"HEAD") or (request.code or 500) >= 400:
        return False
    path = request.path or b""
    return path in ROUTINE_PATHS or (path.startswith(b"/api/computers/") and path.endswith(
        (b"/information", b"/revision")))


# Module level: a Logger that is a class attribute takes its class's name as namespace.
ACCESS = Logger(namespace="slapgate.access")


class GatewaySite(Site):
    """The site, its access log lines in the master's log: routine polls at debug, every other
    request at info."""

    def log(self, request):
        """One access log line (combined log format) for ``request``."""
        ACCESS.emit(LogLevel.debug if routine(request) else LogLevel.info, "{line}",
                         line=self._logFormatter(self._logDateTime, request))


def mount_sso(mount, calls, oidc, authenticator):
    """Bearer tokens of the OIDC provider before ``authenticator``; ``/auth`` for browsers."""
    from gateway.oidc import BearerAuthenticator, Provider, TokenVerifier
    from gateway.web_login import WebLogin

    provider = Provider(oidc, calls.reactor)
    verifier = TokenVerifier(oidc, provider)
    sessions = None
    if oidc.client_id:
        login = WebLogin(calls, oidc, provider, verifier)
        sessions = login.sessions  # one session for the SSO login and the dashboard
        mount("auth", login, "browser login with OpenID Connect (login, callback, me, logout)")
    return BearerAuthenticator(verifier, authenticator), sessions
