"""The XML-RPC adaptor at ``/xmlrpc``: every slap_core operation as a namespaced method.

Each operation ``ns.name`` of the registry is the method ``ns.name``, called with no argument or
one struct of named arguments (``instance.request({"title": ..., "software_release": ...})``).
Results are structs, arrays and scalars: dataclasses become structs, tuples arrays, integers
beyond XML-RPC's 32 bits (timestamps) strings; ``None`` is left out of structs and an operation
with no result answers ``True``, unless the client posts to ``/xmlrpc/nil`` where ``<nil/>`` is
used. ``system.listMethods``, ``system.methodHelp``, ``system.methodSignature`` and
``system.multicall`` are served. slap_core errors are faults whose codes are the HTTP statuses of
``protocols.statuses`` (404 NotFound, 408 NotReady, 400 Invalid, 401 Unauthenticated, 403
Forbidden, 409 Conflict); protocol errors use the usual -32xxx codes, except a body that is not
XML-RPC at all, which Twisted answers with fault 8002.
"""

import dataclasses
import xmlrpc.client

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import xmlrpc as twisted_xmlrpc

from protocols.statuses import STATUS, status_of
from slap_core.declarations import NOTHING

INT_MIN, INT_MAX = -2**31, 2**31 - 1
PARSE_ERROR, INVALID_REQUEST, NO_SUCH_METHOD, INVALID_PARAMS, INTERNAL_ERROR = (
    -32700, -32600, -32601, -32602, -32603)
log = Logger()


def to_wire(value, allow_none=False):
    """A slap_core result as XML-RPC values (see the module docstring)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_wire(v, allow_none) for k, v in value.items()
                if allow_none or v is not None}
    if isinstance(value, (list, tuple)):
        return [to_wire(v, allow_none) for v in value if allow_none or v is not None]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and not INT_MIN <= value <= INT_MAX:
        return str(value)
    return value


def method_help(op):
    """``system.methodHelp`` of an operation, from its declaration."""
    lines = [op.summary, "", "Who may call: %s." % op.callers]
    if op.declared:
        lines.append("Arguments, as one struct of named arguments:")
        lines.extend("- " + argument.describe() for argument in op.declared)
    else:
        lines.append("No argument.")
    lines.append("Answers %s." % ("true" if op.result.item is NOTHING and not op.result.many
                                 else op.result.describe()))
    if op.errors:
        lines.append("Faults beyond 401 and 403: %s." % ", ".join(
            "%s %s" % (STATUS[error], error.__name__) for error, _ in op.errors))
    return "\n".join(lines)


def method_signature(op):
    """``system.methodSignature`` of an operation: the struct of named arguments may be left
    out when none is required."""
    answer = op.result.wire
    with_struct = [answer, "struct"]
    if any(argument.required for argument in op.declared):
        return [with_struct]
    return [[answer], with_struct]


def fault_for(error):
    """The xmlrpc Fault for an exception raised by an operation."""
    status = status_of(error)
    if status is not None:
        return xmlrpc.client.Fault(status, "%s: %s" % (error.code, error))
    log.failure("XML-RPC call failed", Failure(error))
    return xmlrpc.client.Fault(INTERNAL_ERROR, "internal error")


class XmlRpcResource(twisted_xmlrpc.XMLRPC):
    """The XML-RPC endpoint; one instance without ``<nil/>``, one (at ``nil``) with it."""

    def __init__(self, calls, authenticator, operations, allow_none=False):
        super().__init__(allowNone=allow_none, useDateTime=False)
        self.calls = calls
        self.authenticator = authenticator
        self.operations = operations
        self.putSubHandler("system", SystemHandler(self))
        self.with_nil = None if allow_none else XmlRpcResource(calls, authenticator, operations,
                                                               allow_none=True)

    def render_POST(self, request):
        """Answer an undecodable call with our own fault (the guard bounded the body)."""
        if self.with_nil is not None and request.postpath == [b"nil"]:
            return self.with_nil.render_POST(request)
        body = request.content.read()
        request.content.seek(0)
        # twisted.web answers an undecodable call with its own fault 8002 and the Python
        # exception's text ("list index out of range"): decode first, answer in our words.
        try:
            xmlrpc.client.loads(body, use_datetime=False)
        except Exception:  # expat, ValueError, IndexError, TypeError...: all the client's
            request.setHeader(b"content-type", b"text/xml; charset=utf-8")
            return xmlrpc.client.dumps(xmlrpc.client.Fault(
                PARSE_ERROR, "the body is not a well-formed XML-RPC call"),
                methodresponse=True).encode("utf-8")
        return super().render_POST(request)

    def listProcedures(self):
        """Every operation name (``system.*`` comes from the sub-handler)."""
        return sorted(self.operations)

    def lookupProcedure(self, procedurePath):
        """Operations by their dotted name; ``system.*`` by the sub-handler, its arguments
        checked first (twisted's introspection would raise a TypeError on any other)."""
        if procedurePath.startswith("system."):
            try:
                return _checked(procedurePath, super().lookupProcedure(procedurePath))
            except twisted_xmlrpc.NoSuchFunction:
                raise twisted_xmlrpc.NoSuchFunction(
                    NO_SUCH_METHOD, "no method %r" % (procedurePath,)) from None
        op = self.operations.get(procedurePath)
        if op is None:
            raise twisted_xmlrpc.NoSuchFunction(NO_SUCH_METHOD,
                                                "no method %r" % (procedurePath,))

        def procedure(request, *params):
            return self.invoke(request, op.name, params)

        procedure.withRequest = True
        procedure.help = method_help(op)
        procedure.signature = method_signature(op)
        return procedure

    def invoke(self, request, name, params):
        """Deferred wire result of operation ``name`` called with XML-RPC ``params``."""
        if len(params) > 1 or (params and not isinstance(params[0], dict)):
            return defer.fail(xmlrpc.client.Fault(
                INVALID_PARAMS, "%s takes one struct of named arguments" % name))
        arguments = {key: value.data if isinstance(value, xmlrpc.client.Binary) else value
                     for key, value in (params[0] if params else {}).items()}
        result = self.authenticator.principal(request)
        result.addCallback(lambda principal: self.calls.call(name, principal, **arguments))
        result.addCallbacks(self._wire, lambda failure: defer.fail(fault_for(failure.value)))
        return result

    def _wire(self, value):
        if value is None and not self.allowNone:
            return True
        return to_wire(value, self.allowNone)


# What each system method takes: its parameters' types, in order.
SYSTEM_PARAMS = {"system.listMethods": (), "system.methodHelp": (str,),
                 "system.methodSignature": (str,), "system.multicall": (list,)}


def _checked(name, procedure):
    """``procedure`` (a system method) refusing with INVALID_PARAMS what it does not take."""
    expected = SYSTEM_PARAMS.get(name)
    if expected is None:
        return procedure

    def checked(*params):
        given = params[1:] if getattr(procedure, "withRequest", False) else params
        if len(given) != len(expected) or not all(
                isinstance(value, kind) for value, kind in zip(given, expected)):
            raise xmlrpc.client.Fault(INVALID_PARAMS, "%s takes %s" % (
                name, ", ".join("a " + {str: "string", list: "array"}[k] for k in expected)
                or "no parameter"))
        return procedure(*params)

    for attribute in ("withRequest", "help", "signature"):
        if hasattr(procedure, attribute):
            setattr(checked, attribute, getattr(procedure, attribute))
    return checked


class SystemHandler(twisted_xmlrpc.XMLRPCIntrospection):
    """``system.listMethods``, ``methodHelp``, ``methodSignature`` and ``multicall``."""

    def __init__(self, parent):
        super().__init__(parent)
        self.parent = parent

    @twisted_xmlrpc.withRequest
    def xmlrpc_multicall(self, request, calls):
        """Run several calls in order: ``[{"methodName": ..., "params": [...]}, ...]``.

        Each answer is ``[result]`` or a fault struct ``{"faultCode", "faultString"}``.
        """
        if not isinstance(calls, list):
            raise xmlrpc.client.Fault(INVALID_PARAMS, "system.multicall takes an array")
        return self._multicall(request, calls)

    xmlrpc_multicall.signature = [["array", "array"]]

    @defer.inlineCallbacks
    def _multicall(self, request, calls):
        answers = []
        for call in calls:
            try:
                if not isinstance(call, dict) or not isinstance(call.get("methodName"), str):
                    raise xmlrpc.client.Fault(INVALID_PARAMS, "each call needs a methodName")
                name = call["methodName"]
                if name == "system.multicall":
                    raise xmlrpc.client.Fault(INVALID_REQUEST, "multicall cannot nest")
                params = call.get("params", [])
                if not isinstance(params, list):
                    raise xmlrpc.client.Fault(INVALID_PARAMS, "params is an array")
                if name not in self.parent.operations:
                    raise xmlrpc.client.Fault(NO_SUCH_METHOD, "no method %r" % (name,))
                result = yield self.parent.invoke(request, name, tuple(params))
                answers.append([result])
            except xmlrpc.client.Fault as fault:
                answers.append({"faultCode": fault.faultCode, "faultString": fault.faultString})
        return answers


def refusal(request, status, code, message):
    """What the guard refuses, as an XML-RPC fault (invalid request) in an HTTP 200."""
    request.setHeader(b"content-type", b"text/xml; charset=utf-8")
    return xmlrpc.client.dumps(xmlrpc.client.Fault(INVALID_REQUEST, message),
                               methodresponse=True).encode("utf-8")
