"""The dashboard: server-rendered pages for people, at ``/login``, ``/services``, ``/logout``,
``/servers``, ``/invoices``, ``/tickets`` (support), ``/signup`` and ``/admin``.

``/services/new`` adds a service: a product, one of its releases (newest first), a form made
from the release's parameter schema (``gateway.schema_form``; a JSON editor when it has none),
an optional node, a review, the request; the core's refusal comes back next to its fields.

Each page calls slap_core operations as the logged-in person, as every other face does; what a
person may see or do is the core's answer (another person's service is not found). Pages are
Jinja2 templates (``gateway/templates/``, autoescaped) with a little JavaScript (copy buttons,
revealing a masked value, confirming an action).

Logging in checks the login and password as HTTP Basic is checked everywhere (local users, the
directory, API tokens) and opens a session shared with the SSO login (``/auth``): an
``HttpOnly``, ``SameSite=Lax`` cookie (``Secure`` under TLS) that expires, ended server-side at
logout. Every form carries a CSRF token derived from the session (the login form's from a cookie
of its own); a POST without the right one is refused with 403 and changes nothing.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import quote, unquote

import jinja2
from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from gateway import schema_form
from gateway.web_login import SESSION_COOKIE, Sessions, local_path
from slap_core import errors
from slap_core.principals import ROLES, Anonymous
from slap_core.signups import SIGNUP, SignupSettings

log = Logger()
CSRF_COOKIE = b"slapgate_form"
SESSION_TTL = 8 * 3600.0
# Connection parameters whose name says they are secret are masked until clicked.
SECRET_WORDS = ("password", "secret", "passwd", "token", "key")

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("gateway", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined)
TEMPLATES.filters["day"] = lambda at: (time.strftime("%Y-%m-%d", time.gmtime(at))
                                       if at is not None else "")
TEMPLATES.filters["moment"] = lambda at: (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))
                                          if at is not None else "never")


def is_secret(name):
    """Whether a parameter's name says its value is secret."""
    return any(word in name.lower() for word in SECRET_WORDS)


def signup_settings_of(master):
    """The SignupSettings a master runs with (closed when it has none)."""
    return master.storage.session_info.get(SIGNUP) or SignupSettings()


def health_of(view):
    """ok, error or pending: an instance's state as its owner reads it."""
    if view.status_text and view.status_text.startswith("#error"):
        return "error"
    if view.state == "destroyed":
        return "destroyed"
    if not view.allocated or not view.status_text:
        return "pending"
    return "ok"


class Page(Exception):
    """An early answer: a redirect, or a status with a page."""

    def __init__(self, code, location=None, body=None, media_type=None):
        super().__init__(code)
        self.code, self.location, self.body = code, location, body
        self.media_type = media_type


class Dashboard(Resource):
    """The pages' resource tree: one child per top-level page."""

    def __init__(self, calls, authenticate, sessions=None, ttl=SESSION_TTL, sso=False):
        super().__init__()
        self.calls = calls
        self.sso = sso  # the login page offers the SSO login (/auth/login)
        self.authenticate = authenticate  # gateway.auth.password_check
        self.sessions = sessions or Sessions(ttl)
        self.ttl = ttl
        self.secret = secrets.token_bytes(32)
        for name, handler in (("login", self.login), ("logout", self.logout),
                              ("services", self.services), ("servers", self.servers),
                              ("invoices", self.invoices), ("admin", self.admin),
                              ("signup", self.signup), ("tickets", self.tickets)):
            self.putChild(name.encode(), _PageResource(self, handler))

    # -- sessions and forms

    def user(self, request):
        """The User of the request's session, or None."""
        session = request.getCookie(SESSION_COOKIE)
        return self.sessions.user(session.decode("latin-1")) if session else None

    def csrf_for(self, request):
        """The CSRF token of the request's session (or login form cookie)."""
        key = request.getCookie(SESSION_COOKIE) or request.getCookie(CSRF_COOKIE) or b""
        return base64.urlsafe_b64encode(hmac.new(self.secret, key, hashlib.sha256).digest()
                                        ).decode().rstrip("=")

    def check_csrf(self, request):
        """403 unless the form's token is the session's."""
        given = _argument(request, "csrf")
        # As bytes: compare_digest refuses str with non-ASCII characters (a forged token may
        # hold any).
        if not given or not hmac.compare_digest(given.encode("utf-8"),
                                                self.csrf_for(request).encode("utf-8")):
            raise Page(403, body=self.render(request, "error.html", title="Forbidden",
                                             message="This form has expired or did not come "
                                                     "from this site: go back, reload the page "
                                                     "and try again."))

    def require_user(self, request):
        """The logged-in User, or a redirect to the login page."""
        user = self.user(request)
        if user is None:
            raise Page(303, location="/login?next=" + quote(request.uri.decode("latin-1"),
                                                            safe="/"))
        return user

    def cookie(self, request, name, value, max_age):
        """Set an HttpOnly, SameSite=Lax cookie (Secure under TLS) for the whole site."""
        request.addCookie(name, value, path=b"/", max_age=str(int(max_age)), httpOnly=True,
                          secure=request.isSecure(), sameSite="lax")

    def render(self, request, template, **values):
        """A page, with what every page shows (who is logged in, the CSRF token)."""
        user = self.user(request)
        return TEMPLATES.get_template(template).render(
            user=user, csrf=self.csrf_for(request), is_secret=is_secret, **values).encode()

    def form_cookie(self, request):
        """Give an anonymous visitor the cookie their form's CSRF token derives from."""
        if not request.getCookie(CSRF_COOKIE):
            token = secrets.token_urlsafe(24).encode()
            self.cookie(request, CSRF_COOKIE, token, 3600)
            request.received_cookies[CSRF_COOKIE] = token

    def refusal(self, request, status, code, message):
        """What the guard refuses (a form too large, not a form), as a page."""
        request.setResponseCode(status)
        request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-store")
        return self.render(request, "error.html", title="Refused",
                           message="This form was refused: %s." % message)

    def signup_open(self):
        """Whether this master takes sign-ups (the login page then offers it)."""
        return signup_settings_of(self.calls.master).mode is not None

    # -- pages

    @defer.inlineCallbacks
    def login(self, request, path):
        """GET: the form; POST: check the credentials, open a session, go on."""
        target = local_path(_argument(request, "next") or "/services")
        if request.method == b"POST":
            self.check_csrf(request)
            login, password = _argument(request, "login"), _argument(request, "password")
            user = None
            if login and password:
                try:
                    user = yield self.calls.run(self.authenticate, login, password)
                except errors.Unavailable:
                    return 503, self.render(
                        request, "login.html", next=target, login=login, sso=self.sso,
                        signup=self.signup_open(), message="The directory that checks "
                        "passwords does not answer: try again in a moment.")
                except errors.SlapError:
                    user = None
            if user is None or not getattr(user, "login", None):
                log.info("dashboard login refused for {login}", login=login[:60])
                return 401, self.render(request, "login.html", next=target, login=login,
                                        message="Wrong login or password.", sso=self.sso,
                                        signup=self.signup_open())
            session = self.sessions.open(user)
            self.cookie(request, SESSION_COOKIE, session.encode(), self.ttl)
            log.info("dashboard login of {login}", login=user.login)
            raise Page(303, location=target)
        self.form_cookie(request)
        return 200, self.render(request, "login.html", next=target, login="", message=None,
                                sso=self.sso, signup=self.signup_open())

    def logout(self, request, path):
        """POST: end the session and go to the login page."""
        if request.method != b"POST":
            raise Page(405, body=self.render(request, "error.html", title="Not allowed",
                                             message="Log out with the button."))
        self.check_csrf(request)
        session = request.getCookie(SESSION_COOKIE)
        if session:
            self.sessions.close(session.decode("latin-1"))
        self.cookie(request, SESSION_COOKIE, b"", 0)
        raise Page(303, location="/login")

    @defer.inlineCallbacks
    def services(self, request, path):
        """``/services``: the person's services; ``/services/<title>``: one, and its actions."""
        user = self.require_user(request)
        if not path:
            trees = yield self.calls.call("tree.list", user)
            # One listing for every tree's root, rather than one call per tree.
            views = {view.reference: view
                     for view in (yield self.calls.call("instance.list", user))}
            releases = yield self.calls.call("catalogue.list_releases", user)
            products = {release.url: release for release in releases}
            rows = []
            for tree in trees:
                root = views.get(tree.root)
                rows.append((tree, root, health_of(root) if root else "destroyed",
                             products.get(root.software_release) if root else None))
            return 200, self.render(request, "services.html", rows=rows)
        if path == ["new"]:
            return (yield self.new_service(request, user))
        title = unquote(path[0])
        if len(path) == 2 and request.method == b"POST":
            yield self.act(request, user, title, path[1])
            if path[1] == "destroy":  # the service is going: back to the list, which says so
                raise Page(303, location="/services")
            raise Page(303, location="/services/" + quote(title, safe=""))
        if len(path) != 1:
            raise errors.NotFound("no such page")
        tree = yield self.calls.call("tree.get", user, title=title)  # another's: NotFound
        # An admin's listing by title may hold other people's trees of that title too.
        views = {view.reference: view
                 for view in (yield self.calls.call("instance.list", user, tree=title))}
        instances = [views[reference] for reference in tree.instances if reference in views]
        root = next((i for i in instances if i.reference == tree.root), None)
        waiting = any(health_of(i) == "pending" for i in instances)
        return 200, self.render(request, "service.html", tree=tree, root=root,
                                instances=instances, health_of=health_of, waiting=waiting)

    @defer.inlineCallbacks
    def new_service(self, request, user):
        """``/services/new``: product, release, parameters and node, review, request."""
        if request.method == b"POST":
            self.check_csrf(request)
        form = {key.decode("utf-8", "replace"): values[-1].decode("utf-8", "replace")
                for key, values in request.args.items() if values}
        product_reference, release = form.get("product", ""), form.get("release", "")
        if not release:
            products = yield self.calls.call("catalogue.list_products", user)
            if not product_reference:
                return 200, self.render(request, "new_service.html", step="product",
                                        products=products)
            product = next((p for p in products if p.reference == product_reference), None)
            if product is None:
                raise errors.NotFound("no product %r" % product_reference)
            return 200, self.render(request, "new_service.html", step="release",
                                    product=product, releases=product.releases)
        try:
            schema = yield self.calls.call("catalogue.release_schema", user, url=release)
        except errors.NotFound:
            schema = None
        types = [t for t in schema.types if not t.shared] if schema else []
        entry = next((t for t in types if t.id == form.get("type")), types[0] if types else None)
        request_schema = json.loads(entry.request) if entry else None
        filled = schema_form.answers(form)
        step = form.get("step", "")
        page = dict(step="parameters", product_reference=product_reference, release=release,
                    schema=schema, types=types, type_id=entry.id if entry else "",
                    title=form.get("title", "").strip(), computer=form.get("computer", ""),
                    raw=form.get("raw", "{}"), general_errors=[], title_error="")
        field_errors = {}
        if request.method == b"POST" and step in ("review", "request"):
            try:
                if entry is not None:
                    parameters = schema_form.parameters(request_schema, entry.serialisation,
                                                        filled)
                else:
                    parameters = json.loads(page["raw"] or "{}")
                    if not isinstance(parameters, dict):
                        raise ValueError("a JSON object of names to values")
                    parameters = {str(k): v if isinstance(v, str) else json.dumps(v)
                                  for k, v in parameters.items()}
            except ValueError as problem:
                page["general_errors"].append("The parameters are not JSON: %s" % problem)
                step = "edit"
            if not page["title"]:
                page["title_error"] = "A service needs a title."
                step = "edit"
            if step == "review":
                hidden = {name: value for name, value in form.items()
                          if name not in ("csrf", "step", "product", "release")}
                shown = ({pointer: value for pointer, value in filled.items()}
                         if entry is not None else parameters)
                page.update(step="review", hidden=hidden, shown=shown)
                return 200, self.render(request, "new_service.html", **page)
            if step == "request":
                arguments = dict(title=page["title"], software_release=release,
                                 parameters=parameters)
                if entry is not None:
                    arguments["software_type"] = entry.software_type
                if page["computer"]:
                    arguments["sla"] = {"computer_guid": page["computer"]}
                try:
                    yield self.calls.call("instance.request", user, **arguments)
                except errors.NotReady:
                    pass  # recorded, waiting for a partition: the service page says so
                except errors.Invalid as refusal:
                    field_errors, general = schema_form.errors_of(str(refusal))
                    page["general_errors"].extend(general)
                else:
                    raise Page(303, location="/services/" + quote(page["title"], safe=""))
        computers = yield self.calls.call("computer.list", user)
        page.update(computers=computers, form_fields=schema_form.fields(
            request_schema, filled, field_errors) if entry is not None else None)
        code = 422 if field_errors or page["general_errors"] else 200
        return code, self.render(request, "new_service.html", **page)

    @defer.inlineCallbacks
    def servers(self, request, path):
        """``/servers``: the computers the person may see (all for admins and operators), a
        form to register one; ``/servers/<reference>``: its partitions and supplies."""
        user = self.require_user(request)
        if request.method == b"POST":
            self.check_csrf(request)
            if path == ["new"]:
                title = _argument(request, "title").strip()
                view = yield self.calls.call("computer.create", user,
                                             **({"title": title} if title else {}))
                raise Page(303, location="/servers/" + quote(view.reference, safe=""))
            if len(path) == 2 and path[1] == "supply":
                url, state = _argument(request, "url").strip(), _argument(request, "state")
                yield self.calls.call("supply.supply", user, url=url, computer=path[0],
                                      state=state or "available")
                raise Page(303, location="/servers/" + quote(path[0], safe=""))
            raise errors.NotFound("no such page")
        if not path:
            computers = yield self.calls.call("computer.list", user)
            return 200, self.render(request, "servers.html", computers=computers)
        if len(path) != 1:
            raise errors.NotFound("no such page")
        computer = yield self.calls.call("computer.get", user, reference=path[0])
        supplies = yield self.calls.call("supply.list", user, computer=path[0])
        releases = yield self.calls.call("catalogue.list_releases", user)
        return 200, self.render(request, "server.html", computer=computer, supplies=supplies,
                                releases=releases)

    @defer.inlineCallbacks
    def invoices(self, request, path):
        """``/invoices``: the person's invoices and this month so far; ``/invoices/<number>``:
        one; ``/invoices/<number>/pdf``: its PDF."""
        user = self.require_user(request)
        if not path:
            invoices = yield self.calls.call("invoice.list", user)
            try:
                current = yield self.calls.call("consumption.current", user)
            except errors.NotFound:
                current = None  # no price list yet
            return 200, self.render(request, "invoices.html", invoices=invoices,
                                    current=current)
        if len(path) == 2 and path[1] == "pdf":
            document = yield self.calls.call("invoice.document", user, number=path[0],
                                             format="pdf")
            request.setHeader(b"Content-Disposition",
                              b'attachment; filename="%s"' % document.filename.encode())
            raise Page(200, body=document.content, media_type=document.media_type)
        if len(path) != 1:
            raise errors.NotFound("no such page")
        invoice = yield self.calls.call("invoice.get", user, number=path[0])
        return 200, self.render(request, "invoice.html", invoice=invoice)

    @defer.inlineCallbacks
    def admin(self, request, path):
        """``/admin/people``: people, a form to create one, disabling and enabling;
        ``/admin/catalogue``: releases, a form to add one (with its schema). The core decides
        who may (admins; operators for the catalogue)."""
        user = self.require_user(request)
        if not path:
            raise Page(303, location="/admin/people")
        section, rest = path[0], path[1:]
        if request.method == b"POST":
            self.check_csrf(request)
        if section == "people":
            if request.method == b"POST" and not rest:
                password = _argument(request, "password")
                roles = [r.decode() for r in request.args.get(b"roles", [])] or ["user"]
                yield self.calls.call("person.create", user, login=_argument(request, "login"),
                                      full_name=_argument(request, "full_name"),
                                      email=_argument(request, "email"), roles=roles,
                                      **({"password": password} if password else {}))
                raise Page(303, location="/admin/people")
            if request.method == b"POST" and len(rest) == 2 and rest[1] == "roles":
                roles = [r.decode() for r in request.args.get(b"roles", [])]
                yield self.calls.call("person.update", user, login=rest[0], roles=roles)
                raise Page(303, location="/admin/people")
            if request.method == b"POST" and len(rest) == 2 and rest[1] in ("disable",
                                                                             "enable"):
                yield self.calls.call("person.update", user, login=rest[0],
                                      disabled=rest[1] == "disable")
                raise Page(303, location="/admin/people")
            if rest:
                raise errors.NotFound("no such page")
            people = yield self.calls.call("person.list", user)
            return 200, self.render(request, "admin_people.html", people=people,
                                    roles=ROLES)
        if section == "signups" and not rest:
            signups = yield self.calls.call("signup.list", user)
            return 200, self.render(request, "admin_signups.html", signups=signups)
        if section == "signups" and len(rest) == 2 and request.method == b"POST":
            if rest[1] == "accept":
                yield self.calls.call("signup.accept", user, reference=rest[0])
            elif rest[1] == "reject":
                reason = _argument(request, "reason").strip()
                yield self.calls.call("signup.reject", user, reference=rest[0],
                                      **({"reason": reason} if reason else {}))
            else:
                raise errors.NotFound("no such page")
            raise Page(303, location="/admin/signups")
        if section == "catalogue" and not rest:
            added = None
            if request.method == b"POST":
                schema = _argument(request, "schema").strip()
                arguments = {name: _argument(request, name).strip()
                             for name in ("url", "product", "version", "product_title")}
                arguments = {k: v for k, v in arguments.items() if v}
                if schema:
                    arguments["schema"] = schema
                added = yield self.calls.call("catalogue.add_release", user, **arguments)
            products = yield self.calls.call("catalogue.list_products", user)
            return 200, self.render(request, "admin_catalogue.html", products=products,
                                    added=added)
        raise errors.NotFound("no such page")

    @defer.inlineCallbacks
    def signup(self, request, path):
        """``/signup``: the sign-up form (when the master takes sign-ups);
        ``/signup/confirm?key=...``: the mailed link, confirmed with a button (a link a mail
        scanner follows must not confirm anything)."""
        visitor = Anonymous(address=getattr(request.getClientAddress(), "host", None))
        if not self.signup_open():
            raise errors.NotFound("this master takes no sign-up: ask its administrator")
        if path == ["confirm"]:
            key = _argument(request, "key")
            if request.method != b"POST":
                self.form_cookie(request)
                return 200, self.render(request, "signup.html", step="confirm", key=key,
                                        form={}, message=None)
            self.check_csrf(request)
            confirmed = yield self.calls.call("signup.confirm", visitor, key=key)
            return 200, self.render(request, "signup.html", step="done", request_view=confirmed,
                                    form={}, message=None)
        if path:
            raise errors.NotFound("no such page")
        form = {name: _argument(request, name) for name in (
            "login", "email", "full_name", "organisation")}
        if request.method != b"POST":
            self.form_cookie(request)
            return 200, self.render(request, "signup.html", step="form", form=form,
                                    message=None)
        self.check_csrf(request)
        message = None
        if _argument(request, "password") != _argument(request, "password_again"):
            message = "The two passwords differ."
        else:
            arguments = {k: v.strip() for k, v in form.items() if v.strip() or k in (
                "login", "email")}
            try:
                view = yield self.calls.call("signup.request", visitor,
                                             password=_argument(request, "password"),
                                             **arguments)
            except (errors.Invalid, errors.Conflict, errors.TooManyRequests) as refusal:
                message = str(refusal)
            else:
                return 200, self.render(request, "signup.html", step="done",
                                        request_view=view, form={}, message=None)
        return 422, self.render(request, "signup.html", step="form", form=form,
                                message=message)

    @defer.inlineCallbacks
    def tickets(self, request, path):
        """``/tickets``: the person's tickets (support: everyone's); ``/tickets/new``: open one
        (``?tree=`` or ``?computer=`` names its subject); ``/tickets/<reference>``: its thread,
        a reply form, close or reopen; ``.../attachments/<n>``: a message's file."""
        user = self.require_user(request)
        if request.method == b"POST":
            self.check_csrf(request)
        if not path:
            every = _argument(request, "all") == "1"
            tickets = yield self.calls.call("ticket.list", user, include_closed=every)
            return 200, self.render(request, "tickets.html", tickets=tickets, every=every)
        if path == ["new"]:
            return (yield self.new_ticket(request, user))
        reference = path[0]
        if len(path) == 3 and path[1] == "attachments" and path[2].isdigit():
            document = yield self.calls.call("ticket.attachment", user, reference=reference,
                                             message=int(path[2]))
            request.setHeader(b"Content-Disposition", b"attachment; filename*=UTF-8''"
                              + quote(document.filename, safe="").encode())
            request.setHeader(b"X-Content-Type-Options", b"nosniff")
            raise Page(200, body=document.content, media_type="application/octet-stream")
        if len(path) == 2 and request.method == b"POST":
            text = _argument(request, "text")
            if path[1] == "reply":
                yield self.calls.call("ticket.post", user, reference=reference, text=text)
            elif path[1] in ("close", "reopen"):
                yield self.calls.call("ticket." + path[1], user, reference=reference,
                                      **({"text": text.strip()} if text.strip() else {}))
            else:
                raise errors.NotFound("no such page")
            raise Page(303, location="/tickets/" + quote(reference, safe=""))
        if len(path) != 1:
            raise errors.NotFound("no such page")
        ticket = yield self.calls.call("ticket.get", user, reference=reference)
        return 200, self.render(request, "ticket.html", ticket=ticket)

    @defer.inlineCallbacks
    def new_ticket(self, request, user):
        """``/tickets/new``: a title, a kind, the first message, about a service or a server."""
        form = {name: _argument(request, name).strip() for name in (
            "title", "kind", "tree", "computer")}
        form["text"] = _argument(request, "text")
        message = None
        if request.method == b"POST":
            arguments = {k: v for k, v in form.items() if v}
            try:
                ticket = yield self.calls.call("ticket.create", user, **{
                    "title": "", "text": "", **arguments})
            except (errors.Invalid, errors.NotFound) as refusal:
                message = str(refusal)
            else:
                raise Page(303, location="/tickets/" + quote(ticket.reference, safe=""))
        trees = yield self.calls.call("tree.list", user)
        return (422 if message else 200), self.render(
            request, "new_ticket.html", form=form, trees=trees, message=message)

    @defer.inlineCallbacks
    def act(self, request, user, title, action):
        """Start, stop or destroy a service (its root instance, hence its tree)."""
        self.check_csrf(request)
        if action not in ("start", "stop", "destroy"):
            raise errors.NotFound("no such action")
        tree = yield self.calls.call("tree.get", user, title=title)
        if action == "destroy":
            yield self.calls.call("instance.destroy", user, reference=tree.root)
            return
        try:
            yield self.calls.call("instance.change", user, reference=tree.root,
                                  state="started" if action == "start" else "stopped")
        except errors.NotReady:
            pass  # recorded, waiting for a partition: the page says so


class _PageResource(Resource):
    """One page handler ``handler(request, path) -> (code, body)`` (may return a Deferred)."""

    isLeaf = True

    def __init__(self, dashboard, handler):
        super().__init__()
        self.dashboard = dashboard
        self.handler = handler

    def render(self, request):
        """Run the handler; errors become pages, never tracebacks."""
        path = [unquote(p.decode("utf-8", "replace")) for p in request.postpath if p]
        answer = defer.maybeDeferred(self.handler, request, path)
        answer.addCallbacks(lambda result: self._write(request, *result),
                            lambda failure: self._failed(request, failure))
        return NOT_DONE_YET

    def _write(self, request, code, body, location=None, media_type=None):
        if request._disconnected or request.finished:
            return
        request.setResponseCode(code)
        request.setHeader(b"Cache-Control", b"no-store")
        request.setHeader(b"X-Frame-Options", b"DENY")
        request.setHeader(b"Referrer-Policy", b"same-origin")
        if location:
            request.setHeader(b"Location", location.encode("utf-8"))
        if body is not None:
            request.setHeader(b"Content-Type", (media_type or "text/html; charset=utf-8")
                              .encode())
            request.write(body)
        request.finish()

    def _failed(self, request, failure):
        error = failure.value
        if isinstance(error, Page):
            return self._write(request, error.code, error.body, error.location,
                               error.media_type)
        render = self.dashboard.render
        if isinstance(error, errors.NotFound):
            return self._write(request, 404, render(request, "error.html", title="Not found",
                                                    message=str(error)))
        if isinstance(error, errors.SlapError):
            code = 403 if isinstance(error, errors.Forbidden) else 409 if isinstance(
                error, errors.Conflict) else 400
            return self._write(request, code, render(request, "error.html",
                                                     title="Refused", message=str(error)))
        log.failure("dashboard page failed", failure)
        return self._write(request, 500, render(request, "error.html", title="Error",
                                                message="Something went wrong on the master."))


def _argument(request, name):
    """A query or (url-encoded POST) form field, or "" (twisted.web puts both in args)."""
    values = request.args.get(name.encode())
    return values[0].decode("utf-8", "replace") if values else ""
