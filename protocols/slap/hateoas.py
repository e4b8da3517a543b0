"""The HATEOAS subset upstream clients navigate (spec sections 2.4 and 4.5).

``slapos service list|info`` and ``slapos computer list|info`` read a root document with
``raw_search`` and ``traverse`` URI templates, run a few fixed catalog queries, and read documents
as ERP5 forms (``_embedded._view`` fields ``my_*``). Only those queries are understood; anything
else is a 400. Every answer comes from slap_core operations called as the request's user.
"""

import json
import re
from urllib.parse import quote, unquote

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from protocols.slap_wire import instance_xml
from protocols.statuses import status_of
from slap_core import errors

JSON = b"application/json"
_VALIDATED = r'validation_state:validated'
_QUOTED = r'"(?P<{0}>[^"]*)"'
QUERIES = {
    "trees": re.compile(r'^portal_type:"Instance Tree" AND %s(?: AND title:=%s)?$'
                        % (_VALIDATED, _QUOTED.format("title"))),
    "computers": re.compile(r'^portal_type:"Compute Node" AND %s(?: AND title:=%s)?'
                            r'(?: AND reference:=%s)?$'
                            % (_VALIDATED, _QUOTED.format("title"), _QUOTED.format("reference"))),
    "instances": re.compile(r'^portal_type:\("Software Instance", "Slave Instance"\) AND %s'
                            r' AND default_specialise_title:=%s$'
                            % (_VALIDATED, _QUOTED.format("tree"))),
    "installations": re.compile(r'^portal_type:"Software Installation" AND %s'
                                r'(?: AND default_aggregate_reference:=%s)?$'
                                % (_VALIDATED, _QUOTED.format("computer"))),
}
log = Logger()


def _field(name, value, kind="StringField"):
    return {"key": "field_" + name, "default": value, "type": kind}


def _news(text, at):
    return {"text": text or "", "created_at": at}


class HateoasResource(Resource):
    """``/slap/hateoas/``: the root document, ``?mode=search`` and ``?mode=traverse``."""

    isLeaf = True

    def __init__(self, calls, callers):
        super().__init__()
        self.calls, self.callers = calls, callers

    def render_GET(self, request):
        """Dispatch on ``mode``; answer JSON; map slap_core errors to statuses."""
        mode = _arg(request, "mode")
        base = _base_url(request)
        if mode is None:
            result = defer.succeed(self.root_document(base))
        elif mode == "search":
            result = defer.maybeDeferred(self.search, request, base)
        elif mode == "traverse":
            result = defer.maybeDeferred(self.traverse, request)
        else:
            result = defer.fail(errors.Invalid("unknown mode %r" % (mode,)))
        result.addCallbacks(self._answer, self._fail, callbackArgs=(request,),
                            errbackArgs=(request,))
        return NOT_DONE_YET

    @staticmethod
    def root_document(base):
        """The templates clients expand (RFC 6570)."""
        return {
            "_links": {
                "self": {"href": base},
                "raw_search": {
                    "href": base + "?mode=search&query={query}&select_list={select_list}"},
                "traverse": {
                    "href": base + "?mode=traverse&relative_url={relative_url}&view={view}"},
            }
        }

    @defer.inlineCallbacks
    def search(self, request, base):
        """One of the four catalog queries the upstream client sends."""
        query = _arg(request, "query") or ""
        user = (yield self.callers.for_request(request)).user(request)
        for kind, pattern in QUERIES.items():
            match = pattern.match(query)
            if match:
                break
        else:
            raise errors.Invalid("unsupported query %r" % (query,))
        rows = yield getattr(self, "_search_" + kind)(user, **match.groupdict())
        return {"_embedded": {"contents": rows}}

    @defer.inlineCallbacks
    def _search_trees(self, user, title=None):
        trees = yield self.calls.call("tree.list", user)
        trees = [t for t in trees if title is None or t.title == title]
        # One listing gives every root's release, instead of one call per tree.
        instances = yield self.calls.call("instance.list", user) if trees else []
        releases = {i.reference: i.software_release for i in instances}
        rows = []
        for tree in trees:
            release = releases.get(tree.root)
            if release is None:
                release = (yield self.calls.call("instance.get", user,
                                                 reference=tree.root)).software_release
            rows.append({"title": tree.title, "url_string": release,
                         "relative_url": "trees/" + quote(tree.title, safe="")})
        return rows

    @defer.inlineCallbacks
    def _search_computers(self, user, title=None, reference=None):
        computers = yield self.calls.call("computer.list", user)
        return [{"title": c.title, "reference": c.reference,
                 "relative_url": "computers/" + quote(c.reference, safe="")}
                for c in computers
                if (title is None or c.title == title)
                and (reference is None or c.reference == reference)]

    @defer.inlineCallbacks
    def _search_instances(self, user, tree):
        instances = yield self.calls.call("instance.list", user, tree=tree)
        return [{
            "uid": i.reference,
            "title": i.title,
            "relative_url": "instances/" + i.reference,
            "portal_type": "Slave Instance" if i.shared else "Software Instance",
            "url_string": i.software_release,
            "text_content": instance_xml.dumps(i.parameters),
            "getConnectionXmlAsDict": dict(i.connection),
            "SoftwareInstance_getNewsDict": _news(i.status_text, i.status_at),
        } for i in instances]

    @defer.inlineCallbacks
    def _search_installations(self, user, computer=None):
        supplies = yield self.calls.call("supply.list", user, computer=computer)
        return [{
            "uid": "%s %s" % (s.computer, s.url),
            "relative_url": "installations/%s/%s" % (quote(s.computer, safe=""),
                                                     quote(s.url, safe="")),
            "url_string": s.url,
            "SoftwareInstallation_getNewsDict": _news(
                "#error " + s.error_text if s.reported_state == "error"
                else "#access software release %s" % (s.reported_state or "requested"),
                s.reported_at),
        } for s in supplies]

    @defer.inlineCallbacks
    def traverse(self, request):
        """A document as an ERP5 form: an instance tree or a computer."""
        relative_url = _arg(request, "relative_url") or ""
        kind, _, key = relative_url.partition("/")
        user = (yield self.callers.for_request(request)).user(request)
        key = unquote(key)
        if kind == "trees" and key:
            document = yield self._tree_document(user, key)
        elif kind == "computers" and key:
            computer = yield self.calls.call("computer.get", user, reference=key)
            document = _form("Compute Node", "Computer_viewAsHateoas", {
                "my_reference": _field("my_reference", computer.reference),
                "my_title": _field("my_title", computer.title),
            })
        else:
            raise NoSuchDocument("no document %r" % (relative_url,))
        return document

    @defer.inlineCallbacks
    def _tree_document(self, user, title):
        tree = yield self.calls.call("tree.get", user, title=title)
        root = yield self.calls.call("instance.get", user, reference=tree.root)
        return _form("Instance Tree", "InstanceTree_viewAsHateoas", {
            "my_reference": _field("my_reference", root.reference),
            "my_title": _field("my_title", root.title),
            "my_slap_state": _field("my_slap_state", root.state),
            "my_text_content": _field("my_text_content", instance_xml.dumps(root.parameters),
                                      "TextAreaField"),
            "my_connection_parameter_list": _field(
                "my_connection_parameter_list", instance_xml.dumps(root.connection),
                "TextAreaField"),
            "my_url_string": _field("my_url_string", root.software_release),
            "my_source_reference": _field("my_source_reference", root.software_type),
            "my_root_slave": _field("my_root_slave", 1 if root.shared else 0, "IntegerField"),
        })

    @staticmethod
    def _answer(document, request):
        request.setHeader(b"Content-Type", JSON)
        if not request._disconnected:
            request.write(json.dumps(document).encode())
            request.finish()

    def _fail(self, failure, request):
        error = failure.value
        status = 404 if isinstance(error, NoSuchDocument) else status_of(error)
        if status is None:
            log.failure("HATEOAS request failed", failure)
            status, error = 500, "internal error"
        request.setResponseCode(status)
        self._answer({"status": status, "title": str(error)}, request)


class NoSuchDocument(Exception):
    """A ``relative_url`` that names no kind of document this subset serves (404)."""


def _form(portal_type, form_id, fields):
    view = {"form_id": {"key": "form_id", "default": form_id, "type": "StringField"}}
    view.update(fields)
    return {"_embedded": {"_view": view}, "_links": {"type": {"name": portal_type}}}


def _arg(request, name):
    values = request.args.get(name.encode())
    if not values:
        return None
    return values[0].decode("utf-8", "replace")


def _base_url(request):
    """The absolute URL of the HATEOAS root, as this request reached it."""
    url = request.URLPath()
    return str(url.sibling(b"")) if url.path.endswith(b"/") else str(url.child(b""))
