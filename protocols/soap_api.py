"""The SOAP adaptor at ``/soap`` (WSDL at ``/soap?wsdl``): SOAP 1.1, document/literal wrapped.

Built with spyne 2.14 and served as a WSGI application under ``twisted.web.wsgi.WSGIResource``
(spyne's own Twisted transport does not work with current Twisted, see PITFALLS.md). WSGI runs
in the reactor's thread pool, so this module is synchronous: it authenticates HTTP Basic with
:meth:`gateway.auth.LocalPasswordAuthenticator.principal_blocking` and calls ``Master.call``
directly.

:data:`OPERATIONS` is derived from every operation's declaration in slap_core (its arguments'
kinds, its result; :mod:`slap_core.declarations`), plus the little SOAP needs beyond it
(:data:`STRUCTURE_ARGUMENTS`, :data:`STRUCTURE_RESULTS`, :data:`EMPTY_IS_TEXT`); result types are
derived from the dataclasses of ``slap_core.views`` (see :mod:`protocols.soap_types`). Every operation becomes one spyne method named in camelCase
(``instance.request`` is ``instanceRequest``) whose answer carries the result in ``result``.

Faults: ``faultcode`` ``Client`` for slap_core errors and refused or invalid requests,
``Server`` for internal errors; ``faultstring`` is the message and ``detail`` holds
``<slap:error><slap:code>not_found</slap:code><slap:message>...</slap:message></slap:error>``
(namespace :data:`NS`), the element each operation's ``wsdl:fault`` declares. Bodies over 4 MiB and bodies with a DTD are refused before parsing;
spyne's lxml parser is left with DTD loading, entity resolution and network access off.
"""

import ast
import io
import logging
import re
import threading
from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree
from twisted.logger import Logger
import spyne.const
from spyne import Application, ServiceBase, rpc
from spyne.error import Fault
from spyne.model.binary import ByteArray
from spyne.model.primitive import Boolean, Double, Long, Unicode
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

import schemas
from protocols import soap_types as types
from slap_core import errors
from slap_core.declarations import (ADDRESS_PAIRS, ATTACHMENT, CREDENTIAL, DECIMAL, DOCUMENT,
                                    FLAG, INTEGER, NOTHING, NUMBER, PARAMETERS, STRUCTURE,
                                    STRUCTURES, TEXT, TEXTS)
from slap_core.master import load_all
from slap_core.principals import Anonymous

# spyne runs a full gc.collect() when a method context closes, at most once per MIN_GC_INTERVAL
# (1 s), "to have file descriptors returned in a timely manner": in the master, which holds its
# poll caches, that stopped the whole process for a third of the SOAP adaptor's time and gave
# every adaptor latency spikes (make bench). Our SOAP calls open no files: never.
spyne.const.MIN_GC_INTERVAL = float("inf")

NS = "urn:slapgate:soap"
PRINCIPAL_KEY = "slapgate.principal"
# The TLS client certificate of the request (a ``cryptography`` certificate), when one was sent.
CERTIFICATE_KEY = "slapgate.client_certificate"
log = logging.getLogger(__name__)
# One line per refused call (a client's error), in the master's log; a traceback is for a bug.
refusals = Logger(namespace="slapgate.soap")


class _NoClientTracebacks(logging.Filter):
    """spyne logs every ``Client`` fault with its traceback (``logger_client.exception``): a
    caller's mistake (an unknown computer) is not a bug; :func:`_method` logs it in one line."""

    def filter(self, record):
        return False


logging.getLogger("spyne.application.client").addFilter(_NoClientTracebacks())


@dataclass(frozen=True)
class Argument:
    """One argument of an operation: its name, spyne type, and how to turn it into core input."""

    name: str
    model: object
    convert: object = None
    empty: object = None  # the value given to the core when the element is empty


@dataclass(frozen=True)
class SoapOperation:
    """A slap_core operation served over SOAP, with its typed arguments and result type."""

    operation: str
    arguments: tuple
    returns: object
    encode: object

    @property
    def soap_name(self):
        """``instance.set_connection`` -> ``instanceSetConnection``."""
        return soap_name(self.operation)


def soap_name(operation):
    """The SOAP operation name of a slap_core operation: ``a.b_c`` -> ``aBC`` (camelCase)."""
    words = operation.replace(".", "_").split("_")
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])


def required(model=Unicode):
    """A mandatory, non-nillable element."""
    return model(min_occurs=1, nillable=False)


def optional(model=Unicode):
    """An element that may be left out (left out means: the core's default)."""
    return model(min_occurs=0, nillable=False)


def repeated(model=Unicode):
    """An element repeated zero or more times (a list argument; left out: the core's default)."""
    return model(min_occurs=0, max_occurs="unbounded", nillable=False)


# What SOAP needs beyond an operation's declaration: the element type of a structure argument,
# the type of a structure answer, and the arguments whose empty element is the empty string (a
# password, a message, a document) rather than "left out".
STRUCTURE_ARGUMENTS = {"configuration": (types.ComputerConfiguration,
                                         types.configuration_to_dict),
                       "subscriptions": (types.SubscriptionPriceInput, types.structures),
                       "usage": (types.UsagePriceInput, types.structures)}
STRUCTURE_RESULTS = {"computer.status": (types.ComputerStatus, types.encode_status)}
EMPTY_IS_TEXT = {("instance.report_error", "message"), ("person.set_password", "password"),
                 ("person.check_password", "password"), ("usage.report", "document"),
                 ("sync.set_secret", "secret"), ("sync.check_md5", "nonce"),
                 ("signup.request", "password"), ("signup.confirm", "key")}
SCALARS = {TEXT: Unicode, DOCUMENT: Unicode, CREDENTIAL: Unicode, DECIMAL: Unicode,
           INTEGER: Long, NUMBER: Double, FLAG: Boolean}


def soap_argument(op, declared):
    """The SOAP Argument of a declared argument of ``op``."""
    kind, name = declared.kind, declared.name
    empty = "" if (op.name, name) in EMPTY_IS_TEXT else None
    if kind is PARAMETERS or kind is STRUCTURE:
        model, convert = ((types.ParameterList, types.to_dict) if kind is PARAMETERS
                          else STRUCTURE_ARGUMENTS[name])
        if declared.required:
            model = model.customize(min_occurs=1)
        return Argument(name, model, convert, empty)
    if kind is TEXTS:
        return Argument(name, repeated(), list, empty)
    if kind is ATTACHMENT:  # xs:base64Binary, which spyne hands over as a list of chunks
        return Argument(name, optional(ByteArray), b"".join, empty)
    if kind is STRUCTURES:
        model, convert = STRUCTURE_ARGUMENTS[name]
        return Argument(name, model.customize(min_occurs=1 if declared.required else 0,
                                              max_occurs="unbounded", nillable=False),
                        convert, empty)
    model = SCALARS[kind]
    return Argument(name, required(model) if declared.required else optional(model), None,
                    empty)


def soap_result(op):
    """(spyne model or None, encoder) of ``op``'s answer."""
    result = op.result
    if op.name in STRUCTURE_RESULTS:
        return STRUCTURE_RESULTS[op.name]
    if result.item is NOTHING:
        return None, types.encode_nothing
    if result.item is ADDRESS_PAIRS:
        return types.IpAddressList, types.encode_ip_list
    if result.item is TEXT and result.many:
        return types.StringList, types.encode_strings
    if result.item is INTEGER and not result.many:
        return Long, types.encode_value
    model = types.model_of(result.item)
    if result.many:
        return types.list_of(model), types.encode_list
    return model, types.encode


def soap_operations(operations):
    """A SoapOperation for each declared operation, in name order."""
    served = []
    for name, op in sorted(operations.items()):
        returns, encode = soap_result(op)
        served.append(SoapOperation(name, tuple(soap_argument(op, a) for a in op.declared),
                                    returns, encode))
    return tuple(served)


OPERATIONS = soap_operations(load_all())


class ErrorDetail(Fault):
    """The ``<slap:error>`` element a fault's ``detail`` carries, declared in the WSDL.

    Every operation lists it in ``_throws``, so the WSDL has a ``wsdl:fault`` named ``error``
    whose element is ``slap:error`` (``code``, ``message``); faults are raised as plain spyne
    Faults with :func:`error_detail` as their detail.
    """

    __namespace__ = NS
    __type_name__ = "error"
    _type_info = [("code", Unicode(min_occurs=1, nillable=False)),
                  ("message", Unicode(min_occurs=1, nillable=False))]


def error_detail(code, message):
    """The ``<detail>`` content of a fault: ``<slap:error>`` with the core's code and message."""
    error = etree.Element("{%s}error" % NS, nsmap={"slap": NS})
    etree.SubElement(error, "{%s}code" % NS).text = code
    etree.SubElement(error, "{%s}message" % NS).text = message
    return error


def client_fault(code, message):
    """A ``Client`` fault for a slap_core error code (``invalid``, ``not_found``, ...).

    ``unavailable`` (a directory that did not answer) is the server's trouble: a ``Server`` fault.
    """
    faultcode = "Server" if code == errors.Unavailable.code else "Client"
    return Fault(faultcode, message, detail=error_detail(code, message))


def server_fault():
    """The ``Server`` fault of an unexpected error (details stay in the log)."""
    return Fault("Server", "internal error", detail=error_detail("internal", "internal error"))


def fault_for(error):
    """The spyne Fault to answer for any exception raised while serving a call."""
    if isinstance(error, errors.SlapError):
        return client_fault(error.code, error.message)
    if isinstance(error, Fault):
        if isinstance(error.detail, etree._Element) and error.detail.tag == "{%s}error" % NS:
            return error
        message = _plain_message(error.faultstring)
        if str(error.faultcode).startswith("Client"):
            return client_fault("invalid", message)
        log.error("SOAP server fault: %r", error)
        return server_fault()
    log.error("SOAP call failed: %r", error, exc_info=error)
    return server_fault()


def _plain_message(text):
    """spyne's fault text without lxml's bytes repr and position prefix (schema errors)."""
    text = str(text or "invalid request")
    if text[:2] in ('b"', "b'"):
        try:
            text = ast.literal_eval(text).decode("utf-8", "replace")
        except (ValueError, SyntaxError):
            pass
    return re.sub(r"^<string>:\d+:\d+:ERROR:\w+:\w+: ", "", text)


def _method(spec):
    """The spyne method serving ``spec``: decode arguments, call the core, encode the result."""

    def serve(ctx, *values):
        environ = ctx.transport.req_env
        try:
            arguments = {}
            for argument, value in zip(spec.arguments, values):
                if value is None:
                    value = argument.empty
                if value is not None:
                    arguments[argument.name] = (argument.convert(value) if argument.convert
                                                else value)
            result = environ["slapgate.master"].call(spec.operation, environ[PRINCIPAL_KEY],
                                                     **arguments)
            return types.answer_value(spec.returns, spec.encode(spec.returns, result))
        except Exception as error:  # every failure answers a fault of ours
            fault = fault_for(error)
            if isinstance(error, errors.SlapError):
                refusals.info("SOAP {operation} refused: {code}: {why}",
                              operation=spec.soap_name, code=error.code, why=error.message)
            raise fault from None

    serve.__name__ = spec.soap_name
    serve.__doc__ = spec.operation
    answer = {} if spec.returns is None else {"_returns": types.answer_type(spec.returns),
                                               "_out_variable_name": "result"}
    return rpc(*[a.model for a in spec.arguments], _args=[a.name for a in spec.arguments],
               _operation_name=spec.soap_name, _throws=[ErrorDetail], **answer)(serve)


SlapgateService = type("SlapgateService", (ServiceBase,), {
    spec.soap_name: _method(spec) for spec in OPERATIONS})


class _Wsgi(WsgiApplication):
    """spyne's WSGI application, with every error answered as one of our faults."""

    def handle_error(self, p_ctx, others, error, start_response):
        fault = fault_for(error)
        p_ctx.out_error = fault
        p_ctx.out_document = None
        p_ctx.out_string = None
        return super().handle_error(p_ctx, others, fault, start_response)


def build_application():
    """The spyne Application of the SOAP adaptor (SOAP 1.1 in and out, lxml schema validation)."""
    return Application([SlapgateService], tns=NS, name="Slapgate",
                       in_protocol=Soap11(validator="lxml"), out_protocol=Soap11())


WSDL_PLACEHOLDER = "http://slapgate.invalid/soap"
WSDL_FILE = "slapgate.wsdl"


def generated_wsdl():
    """The WSDL spyne derives from :data:`OPERATIONS`, indented, addressed to the placeholder.

    ``schemas/slapgate.wsdl`` is this document, checked in: it is what ``?wsdl`` serves and what
    clients are written against, and a test fails when the two differ. After changing an
    operation or a type, regenerate it with ``python -m protocols.soap_api > schemas/slapgate.wsdl``.
    """
    application = WsgiApplication(build_application())
    application.doc.wsdl11.build_interface_document(WSDL_PLACEHOLDER)
    document = etree.fromstring(application.doc.wsdl11.get_interface_document())
    etree.indent(document, space="  ")
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8") + b"\n"
FAULT_TEMPLATE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<soap11env:Envelope xmlns:soap11env="http://schemas.xmlsoap.org/soap/envelope/">'
    "<soap11env:Body><soap11env:Fault><faultcode>soap11env:%(faultcode)s</faultcode>"
    "<faultstring>%(message)s</faultstring><detail>"
    '<slap:error xmlns:slap="%(ns)s"><slap:code>%(code)s</slap:code>'
    "<slap:message>%(message)s</slap:message></slap:error></detail></soap11env:Fault>"
    "</soap11env:Body></soap11env:Envelope>"
)


UTF8_LABELS = ("utf-8", "utf8", "us-ascii", "ascii")


def _text_problem(content_type, body):
    """Why ``body`` is not text this adaptor reads (UTF-8, as WS-I Basic Profile allows), or
    None."""
    charset = "utf-8"
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if charset not in UTF8_LABELS:
        return "SOAP requests are UTF-8 here, not %s" % charset[:40]
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        return "the body is not UTF-8 text (byte %d)" % error.start
    return None


class SoapApplication:
    """The WSGI callable mounted at ``/soap``.

    It serves the WSDL (with ``soap:address`` set to the URL it was asked at), refuses oversized
    and DTD-carrying bodies with a fault before any parsing, authenticates the caller and hands
    the request to spyne with the principal and the master in the environ.
    """

    def __init__(self, master, authenticator):
        self.master = master
        self.authenticator = authenticator
        # The guard (gateway.guard) bounds the body before it gets here.
        self.spyne = _Wsgi(build_application(), max_content_length=2**31)
        self._wsdl = None
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method == "GET" and environ.get("QUERY_STRING", "").split("=")[0].lower() == "wsdl":
            return self.wsdl(environ, start_response)
        if method != "POST":
            start_response("405 Method Not Allowed", [("Allow", "POST"),
                                                      ("Content-Type", "text/plain")])
            return [b"POST SOAP 1.1 envelopes here; the WSDL is at ?wsdl\n"]
        body = environ["wsgi.input"].read()
        if not body.strip():  # spyne would raise StopIteration on it: a bare 500
            return self.fault(start_response, "invalid", "the body is empty: a SOAP 1.1 "
                                                         "request is an envelope")
        if not environ.get("CONTENT_TYPE"):
            return self.fault(start_response, "invalid", "a SOAP 1.1 request needs a Content-Type")
        problem = _text_problem(environ["CONTENT_TYPE"], body)
        if problem is not None:  # spyne would raise UnicodeDecodeError on it: a bare 500
            return self.fault(start_response, "invalid", problem)
        try:
            principal = self.authenticator.principal_blocking(
                environ.get("HTTP_AUTHORIZATION"), environ.get(CERTIFICATE_KEY))
            if isinstance(principal, Anonymous):
                principal = Anonymous(address=environ.get("REMOTE_ADDR"))
        except errors.SlapError as error:
            return self.fault(start_response, error.code, error.message,
                              faultcode="Server" if isinstance(error, errors.Unavailable)
                              else "Client")
        except Exception as error:
            log.error("SOAP authentication failed: %r", error, exc_info=error)
            return self.fault(start_response, "internal", "internal error", faultcode="Server")
        environ = dict(environ, **{
            "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
            PRINCIPAL_KEY: principal, "slapgate.master": self.master})
        return self.spyne(environ, start_response)

    def wsdl(self, environ, start_response):
        """The WSDL of ``schemas/``, its service address the URL of this request (no query)."""
        with self._lock:
            if self._wsdl is None:
                self._wsdl = schemas.path(WSDL_FILE).read_bytes()
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST") or "%s:%s" % (environ["SERVER_NAME"],
                                                      environ["SERVER_PORT"])
        url = "%s://%s%s%s" % (scheme, host, environ.get("SCRIPT_NAME", ""),
                               environ.get("PATH_INFO", ""))
        body = self._wsdl.replace(WSDL_PLACEHOLDER.encode(),
                                  escape(url, {'"': "&quot;"}).encode("utf-8"))
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def fault(start_response, code, message, faultcode="Client"):
        """A SOAP fault written without spyne (for requests refused before parsing)."""
        body = (FAULT_TEMPLATE % {"faultcode": faultcode, "code": escape(code),
                                  "message": escape(message), "ns": NS}).encode("utf-8")
        start_response("500 Internal Server Error", [
            ("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]


def soap_resource(master, authenticator, reactor=None, threadpool=None,
                  client_certificate=None):
    """The twisted.web resource serving :class:`SoapApplication` from the reactor's thread pool.

    ``client_certificate(request)`` gives the request's TLS client certificate (or None); it is
    handed to the application in the environ, which WSGI has no standard key for.
    """
    from twisted.web.server import NOT_DONE_YET
    from twisted.web.wsgi import WSGIResource, _WSGIResponse

    if reactor is None:
        from twisted.internet import reactor

    class CertificateWSGIResource(WSGIResource):
        """WSGIResource whose environ also carries the request's client certificate."""

        def render(self, request):
            # Twisted builds the environ in _WSGIResponse: adding a key before start() is the
            # only way to hand the application something WSGI has no variable for.
            response = _WSGIResponse(self._reactor, self._threadpool, self._application,
                                     request)
            if client_certificate is not None:
                response.environ[CERTIFICATE_KEY] = client_certificate(request)
            response.start()
            return NOT_DONE_YET

    return CertificateWSGIResource(reactor, threadpool or reactor.getThreadPool(),
                                   SoapApplication(master, authenticator))


if __name__ == "__main__":
    import sys

    sys.stdout.buffer.write(generated_wsdl())


def refusal(request, status, code, message):
    """What the guard refuses, as a SOAP 1.1 Client fault (detail code invalid)."""
    body = (FAULT_TEMPLATE % {"faultcode": "Client", "code": "invalid",
                              "message": escape(message), "ns": NS}).encode("utf-8")
    request.setResponseCode(500)
    request.setHeader(b"Content-Type", b"text/xml; charset=utf-8")
    return body
