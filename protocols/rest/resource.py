"""The ``/api/`` resource: routes, validation and responses driven by ``schemas/openapi.json``.

The checked-in OpenAPI document decides which paths and methods exist and what their parameters
and bodies must look like: a request is matched against its path templates (404 when none
matches, 405 with ``Allow`` when the method is not one the path takes), its credentials are
checked (401 for anonymous callers of secured routes), then its path parameters, query and JSON
body are validated with jsonschema (400 for a body that is not JSON, 413 beyond 4 MiB, 415 for
another media type, 422 for anything the document refuses) before the route's handler calls the
core. Errors are RFC 9457 problem documents; successful reads carry a strong ``ETag`` and answer
304 to a matching ``If-None-Match``.
"""

import dataclasses
import hashlib
import json
import re
from urllib.parse import urlencode

from jsonschema import Draft202012Validator
from referencing import Registry, Resource as SchemaResource
from referencing.jsonschema import DRAFT202012
from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

import schemas
from protocols.rest.openapi import DEFAULT_LIMIT, template_regex
from protocols.rest.problems import PROBLEM_TYPE, Problem, internal_problem, problem_for
from protocols.rest.routes import ROUTES, Context, Listing, Reply
from slap_core import errors
from slap_core.principals import Anonymous

MAX_ERRORS = 20
DOCUMENT_URI = "urn:slapgate:openapi"
JSON_TYPES = ("application/json",)
log = Logger()


def to_json(value):
    """``value`` (views, lists, dicts, scalars) as JSON bytes."""
    def default(item):
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return dataclasses.asdict(item)
        raise TypeError("%r is not JSON" % (item,))
    return json.dumps(value, default=default, ensure_ascii=False).encode("utf-8")


def plain(value):
    """``value`` as the plain dicts and lists it is on the wire (filters compare those)."""
    return json.loads(to_json(value))


def etag_of(body):
    """A strong entity tag of ``body``."""
    return '"%s"' % hashlib.sha256(body).hexdigest()[:40]


def etag_matches(header, tag):
    """True when an ``If-None-Match`` header value names ``tag`` (or is ``*``)."""
    candidates = [c.strip() for c in header.split(",")]
    return "*" in candidates or any(c.removeprefix("W/") == tag for c in candidates)


def schema_errors(validator, value, location):
    """Schema violations of ``value`` as problem ``errors`` entries (at most MAX_ERRORS)."""
    found = []
    for error in validator.iter_errors(value):
        where = "/".join([location] + [str(p) for p in error.absolute_path])
        message = error.message
        found.append({"location": where,
                      "message": message if len(message) <= 300 else message[:297] + "..."})
        if len(found) >= MAX_ERRORS:
            break
    return found


@dataclasses.dataclass
class Operation:
    """One method on one path of the document, ready to serve."""

    method: str
    operation_id: str
    secured: bool
    path_validators: dict
    query: list
    body: object
    route: object


class OpenApiDocument:
    """The checked-in document, its validators, and the path templates to match requests with."""

    def __init__(self, text):
        self.text = text
        self.body = text.encode("utf-8")
        self.document = json.loads(text)
        self.registry = Registry().with_resource(
            DOCUMENT_URI, SchemaResource(contents=self.document, specification=DRAFT202012))
        routes = {route.operation_id: route for route in ROUTES}
        self.paths = []
        for path, methods in self.document["paths"].items():
            operations = {}
            for method, spec in methods.items():
                route = routes.get(spec["operationId"])
                if route is None and spec["operationId"] != "getOpenApi":
                    raise ValueError("no route serves %s (regenerate schemas/openapi.json)"
                                     % spec["operationId"])
                operations[method.upper()] = self._operation(method.upper(), spec, route)
            self.paths.append((template_regex(path), operations))

    def validator(self, schema):
        """A jsonschema validator of ``schema``, whose references point into the document."""
        return Draft202012Validator(schema, registry=self.registry)

    def _resolve(self, schema):
        if "$ref" in schema:
            return self.validator({"$ref": DOCUMENT_URI + schema["$ref"]})
        return self.validator(schema)

    def _operation(self, method, spec, route):
        path_validators, query = {}, []
        for parameter in spec.get("parameters", []):
            validator = self._resolve(parameter["schema"])
            if parameter["in"] == "path":
                path_validators[parameter["name"]] = validator
            else:
                query.append((parameter["name"], parameter["schema"], validator))
        body = None
        if "requestBody" in spec:
            body = self._resolve(spec["requestBody"]["content"]["application/json"]["schema"])
        secured = spec.get("security", self.document.get("security")) != []
        return Operation(method, spec["operationId"], secured, path_validators, query, body,
                         route)

    def match(self, segments):
        """(operations by method, path parameters) of the first template matching, or None."""
        joined = "\x00".join(segments)
        for regex, operations in self.paths:
            found = regex.fullmatch(joined)
            if found:
                return operations, found.groupdict()
        return None


def load_document():
    """The OpenApiDocument of ``schemas/openapi.json``."""
    return OpenApiDocument(schemas.path("openapi.json").read_text("utf-8"))


def _coerce(text, schema):
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"-?[0-9]{1,40}", text):
        return int(text)
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    if kind == "number" and re.fullmatch(r"-?[0-9]{1,40}(\.[0-9]{1,40})?([eE][-+]?[0-9]{1,3})?",
                                         text):
        return float(text)
    return text


class ApiResource(Resource):
    """``/api/``: every route of the OpenAPI document (HTTP Basic through ``authenticator``)."""

    isLeaf = True

    def __init__(self, calls, authenticator, document=None):
        super().__init__()
        self.calls = calls
        self.authenticator = authenticator
        self.document = document or load_document()

    def render(self, request):
        """Serve the request asynchronously; every outcome is written by :meth:`_respond`."""
        finished = []
        request.notifyFinish().addBoth(finished.append)
        result = defer.ensureDeferred(self._serve(request))
        result.addErrback(self._failure)
        result.addCallback(lambda reply: None if finished else self._respond(request, reply))
        result.addErrback(lambda failure: log.failure("writing a REST response failed", failure))
        return NOT_DONE_YET

    def _failure(self, failure):
        problem = problem_for(failure.value)
        if problem is None:
            log.failure("REST request failed", failure)
            problem = internal_problem()
        return problem

    async def _serve(self, request):
        try:
            segments = [s.decode("utf-8") for s in request.postpath]
        except UnicodeDecodeError:
            raise Problem(404, "not_found", "no such resource") from None
        matched = self.document.match(segments)
        if matched is None:
            raise Problem(404, "not_found", "there is nothing at this address")
        operations, params = matched
        method = request.method.decode("ascii", "replace")
        operation = operations.get(method)
        if operation is None:
            allow = ", ".join(sorted(operations))
            raise Problem(405, "method_not_allowed", "this path takes %s" % allow,
                          headers={"Allow": allow})
        if operation.operation_id == "getOpenApi":
            return Reply(200, self.document.body)
        principal = await self.authenticator.principal(request)
        if operation.secured and isinstance(principal, Anonymous):
            raise errors.Unauthenticated("this resource needs HTTP Basic credentials")
        found = []
        for name, validator in operation.path_validators.items():
            found += schema_errors(validator, params[name], "path/" + name)
        query = self._query(request, operation, found)
        body = self._body(request, operation, found)
        if found:
            raise Problem(422, "invalid", "the request does not match the API document",
                          errors=found)
        context = Context(self.calls, principal, params, query, body, operation.route)
        reply = await operation.route.handler(context)
        if isinstance(reply, Listing):
            reply = self._page(request, operation, query, reply.items)
        return reply

    def _query(self, request, operation, found):
        query = {}
        known = {name.encode() for name, _, _ in operation.query}
        for name in sorted(set(request.args) - known)[:MAX_ERRORS]:
            found.append({"location": "query/" + name.decode("utf-8", "replace")[:100],
                          "message": "unknown query parameter"})
        for name, schema, validator in operation.query:
            values = request.args.get(name.encode())
            if not values:
                continue
            try:
                text = values[-1].decode("utf-8")
            except UnicodeDecodeError:
                found.append({"location": "query/" + name, "message": "not UTF-8"})
                continue
            value = _coerce(text, schema)
            errors_here = schema_errors(validator, value, "query/" + name)
            found += errors_here
            if not errors_here:
                query[name] = value
        return query

    def _body(self, request, operation, found):
        if operation.body is None:
            return None
        raw = request.content.read()  # the guard bounded it and checked its media type
        try:
            body = json.loads(raw.decode("utf-8"))
            json.dumps(body, ensure_ascii=False).encode("utf-8")  # lone surrogates
        except (UnicodeError, ValueError, RecursionError) as error:
            raise Problem(400, "malformed", "the body is not UTF-8 JSON: %s"
                          % str(error)[:200]) from None
        found += schema_errors(operation.body, body, "body")
        return body

    def _page(self, request, operation, query, items):
        items = plain(items)
        for item in operation.route.filters:
            if item.match is not None and item.name in query:
                items = [i for i in items if item.match(i, query[item.name])]
        limit = query.get("limit", DEFAULT_LIMIT)
        offset = query.get("offset", 0)
        page = {"items": items[offset:offset + limit], "total": len(items), "limit": limit,
                "offset": offset, "next": None}
        if offset + limit < len(items):
            arguments = [(k.decode(), v.decode("utf-8")) for k, vs in request.args.items()
                         for v in vs if k not in (b"offset",)]
            arguments.append(("offset", str(offset + limit)))
            page["next"] = request.path.decode("ascii", "replace") + "?" + urlencode(arguments)
        return Reply(200, page)

    def _respond(self, request, reply):
        if isinstance(reply, Problem):
            request.setResponseCode(reply.status)
            for name, value in reply.headers.items():
                request.setHeader(name, value)
            request.setHeader(b"content-type", PROBLEM_TYPE.encode())
            request.write(reply.body())
            request.finish()
            return
        request.setResponseCode(reply.status)
        for name, value in reply.headers.items():
            request.setHeader(name, value)
        if reply.status == 204:
            request.finish()
            return
        body = reply.body if isinstance(reply.body, bytes) else to_json(reply.body)
        request.setHeader(b"content-type", reply.media_type.encode("ascii"))
        if request.method == b"GET" and reply.status == 200:
            tag = etag_of(body)
            request.setHeader(b"etag", tag.encode())
            match = request.getHeader(b"if-none-match")
            if match is not None and etag_matches(match.decode("latin-1"), tag):
                request.setResponseCode(304)
                request.responseHeaders.removeHeader(b"content-type")
                request.finish()
                return
        request.write(body)
        request.finish()


def refusal(request, status, code, message):
    """What the guard refuses, as a problem document."""
    problem = Problem(status, code, message)
    request.setResponseCode(status)
    request.setHeader(b"content-type", PROBLEM_TYPE.encode())
    return problem.body()
