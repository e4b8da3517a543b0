"""How the wire authorization matrix calls an operation through each adaptor, and reads the answer.

Each adaptor class turns (operation, arguments) into one HTTP request, generated from that
adaptor's own registry where there is one: XML-RPC method names are the operation names, SOAP
requests are built from ``protocols.soap_api.OPERATIONS`` (argument names and types), REST
requests from ``protocols.rest.routes.ROUTES`` (path parameters, query filters and body). An
operation an adaptor claims but that cannot be called with the matrix's arguments raises
:class:`NoWireCall`. :meth:`call` runs blocking (``requests``, from a thread) and answers an
*outcome*: ``"allowed ..."`` (success, or an error that says the state said no: conflict, not
ready), ``"refused ..."`` (the protocol's idiom for unauthenticated, forbidden or hidden), or
anything else, which is always a failure of the matrix (invalid arguments, a server fault, an
unexpected status, a 401 without a challenge).
"""

import re
import xmlrpc.client
from urllib.parse import quote
from xml.sax.saxutils import escape

import requests
from lxml import etree
from spyne.model.complex import ComplexModelBase

from protocols import soap_types
from protocols.rest.routes import ROUTES
from protocols.soap_api import NS, OPERATIONS
from tests.authorization_scenario import PASSWORDS

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
REFUSED_CODES = ("unauthenticated", "forbidden", "not_found")
STATE_CODES = ("conflict", "not_ready")  # authorization passed, the state said no


class NoWireCall(Exception):
    """The adaptor claims the operation but the matrix's arguments cannot be sent to it."""


def client_options(scenario, who):
    """``requests`` options that make the call as principal ``who`` (see authorization_scenario)."""
    if who in PASSWORDS:
        login, password, _ = PASSWORDS[who]
        return {"auth": (login, password)}
    if who in scenario.client_certificates:
        return {"cert": scenario.client_certificates[who]}
    return {}


def http(scenario, method, url, options, headers=None, **arguments):
    """One HTTPS request verified against the scenario's CA, on a connection closed after it."""
    headers = dict(headers or {}, Connection="close")
    return requests.request(method, url, verify=scenario.ca_file, timeout=60, headers=headers,
                            **options, **arguments)


def _challenge(response):
    """The outcome of a 401: refused only with an HTTP Basic challenge."""
    if not response.headers.get("WWW-Authenticate", "").startswith("Basic"):
        return "401 without a WWW-Authenticate: Basic challenge"
    return "refused (401)"


class XmlRpc:
    """``/xmlrpc``: the method is the operation's name, the arguments one struct."""

    name = "XML-RPC"

    def plan(self, operation, arguments):
        """The XML-RPC request body."""
        return xmlrpc.client.dumps((arguments,) if arguments else (), operation)

    def call(self, scenario, base, operation, arguments, options):
        """The outcome of calling ``operation`` (see the module docstring)."""
        response = http(scenario, "POST", base + "xmlrpc", options,
                        headers={"Content-Type": "text/xml"},
                        data=self.plan(operation, arguments))
        if response.status_code != 200:
            return "HTTP %d: %s" % (response.status_code, response.text[:200])
        try:
            xmlrpc.client.loads(response.content)
        except xmlrpc.client.Fault as fault:
            kind = {401: "refused", 403: "refused", 404: "refused", 408: "allowed",
                    409: "allowed"}.get(fault.faultCode, "unexpected")
            return "%s (fault %d: %s)" % (kind, fault.faultCode, fault.faultString)
        return "allowed"


def _is(model, base):
    return isinstance(model, type) and issubclass(model, base)


def soap_configuration(configuration):
    """The dict ``computer.format`` takes, in the shape of SOAP's ComputerConfiguration."""
    result = {k: configuration[k] for k in ("address", "netmask") if k in configuration}
    result["partition"] = [
        {"reference": p["reference"],
         "address": [{k: a[k] for k in ("addr", "netmask") if k in a}
                     for a in p.get("address_list", ())],
         "tap_name": p.get("tap", {}).get("name"),
         "capability": list(p.get("capability_list", ()))}
        for p in configuration.get("partition_list", ())]
    return result


def soap_element(name, model, value):
    """``value`` as the XML of element ``name`` of spyne type ``model`` (our namespace, ``s:``)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "".join(soap_element(name, model, item) for item in value)
    if _is(model, soap_types.ParameterList):
        inner = "".join("<s:entry><s:key>%s</s:key><s:value>%s</s:value></s:entry>"
                        % (escape(str(k)), escape(str(v))) for k, v in value.items())
    elif _is(model, ComplexModelBase):
        if _is(model, soap_types.ComputerConfiguration) and "partition_list" in value:
            value = soap_configuration(value)
        unknown = set(value) - set(model._type_info)
        if unknown:
            raise NoWireCall("SOAP type %s has no %s" % (model.__name__, sorted(unknown)))
        inner = "".join(soap_element(field, field_model, value[field])
                        for field, field_model in model._type_info.items() if field in value)
    elif isinstance(value, bool):
        inner = "true" if value else "false"
    else:
        inner = escape(str(value))
    return "<s:%s>%s</s:%s>" % (name, inner, name)


class Soap:
    """``/soap``: the operation's entry in ``OPERATIONS``, raw SOAP 1.1 envelopes."""

    name = "SOAP"

    def __init__(self):
        self.specs = {spec.operation: spec for spec in OPERATIONS}

    def plan(self, operation, arguments):
        """The SOAP envelope (str)."""
        spec = self.specs.get(operation)
        if spec is None:
            raise NoWireCall("no SOAP operation serves %s (protocols/soap_api.py OPERATIONS)"
                             % operation)
        unknown = set(arguments) - {a.name for a in spec.arguments}
        if unknown:
            raise NoWireCall("SOAP %s takes no %s" % (spec.soap_name, sorted(unknown)))
        body = "".join(soap_element(a.name, a.model, arguments[a.name])
                       for a in spec.arguments if a.name in arguments)
        return ('<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="%s" '
                'xmlns:s="%s"><soap:Body><s:%s>%s</s:%s></soap:Body></soap:Envelope>'
                % (SOAP_ENV, NS, spec.soap_name, body, spec.soap_name))

    def call(self, scenario, base, operation, arguments, options):
        """The outcome of calling ``operation`` (see the module docstring)."""
        response = http(scenario, "POST", base + "soap", options,
                        headers={"Content-Type": "text/xml; charset=utf-8",
                                 "SOAPAction": self.specs[operation].soap_name},
                        data=self.plan(operation, arguments).encode("utf-8"))
        if response.status_code == 200:
            return "allowed"
        try:
            document = etree.fromstring(response.content)
        except etree.XMLSyntaxError:
            return "HTTP %d, not XML: %s" % (response.status_code, response.text[:200])
        fault = document.find(".//{%s}Fault" % SOAP_ENV)
        if response.status_code != 500 or fault is None:
            return "HTTP %d: %s" % (response.status_code, response.text[:200])
        faultcode = (fault.findtext("faultcode") or "").rpartition(":")[2]
        code = fault.findtext(".//{%s}code" % NS)
        message = fault.findtext("faultstring")
        kind = "unexpected"
        if faultcode == "Client" and code in REFUSED_CODES:
            kind = "refused"
        elif faultcode == "Client" and code in STATE_CODES:
            kind = "allowed"
        return "%s (fault %s/%s: %s)" % (kind, faultcode, code, message)


PATH_PARAMETER = re.compile(r"{(\w+)}")


def _path_value(name, operation, arguments):
    """Take the value of path parameter ``name`` out of ``arguments`` (None when absent)."""
    if name in arguments:
        return arguments.pop(name)
    if name == "computer" and operation.startswith("computer.") and "reference" in arguments:
        return arguments.pop("reference")
    if name == "computer" and len(arguments.get("references", ())) == 1:
        return arguments.pop("references")[0]
    return None


class Rest:
    """``/api/``: the first route of ``ROUTES`` naming the operation whose parameters fit.

    Path parameters come from the arguments of the same name (``{computer}`` is also a computer
    operation's ``reference``); what is left goes to the query of a GET or DELETE (only as the
    route's filters) or to the JSON body (unwrapped when it is one object the body schema is).
    """

    name = "REST"

    def __init__(self):
        from protocols.rest.resource import load_document

        self.schemas = load_document().document["components"]["schemas"]

    def plan(self, operation, arguments):
        """(method, path, query, body) of the request."""
        candidates = [r for r in ROUTES if operation in r.operations]
        if not candidates:
            raise NoWireCall("no REST route calls %s (protocols/rest/routes.py)" % operation)
        candidates.sort(key=lambda r: len(r.operations))
        reasons = []
        for route in candidates:
            try:
                return self._fit(route, operation, dict(arguments))
            except NoWireCall as reason:
                reasons.append("%s %s: %s" % (route.method, route.path, reason))
        raise NoWireCall("no REST route of %s takes %r (%s)"
                         % (operation, arguments, "; ".join(reasons)))

    def _fit(self, route, operation, arguments):
        segments = []
        for segment in route.path.strip("/").split("/"):
            found = PATH_PARAMETER.fullmatch(segment)
            if found:
                value = _path_value(found.group(1), operation, arguments)
                if value is None:
                    raise NoWireCall("nothing for {%s}" % found.group(1))
                segment = quote(str(value), safe="")
            segments.append(segment)
        path = "api/" + "/".join(segments)
        if route.method in ("GET", "DELETE"):
            filters = {f.name for f in route.filters}
            if set(arguments) - filters:
                raise NoWireCall("no filter %s" % sorted(set(arguments) - filters))
            return route.method, path, arguments, None
        if route.body is None:
            if arguments:
                raise NoWireCall("no body for %s" % sorted(arguments))
            return route.method, path, {}, None
        properties = set(self.schemas[route.body].get("properties", {}))
        if set(arguments) - properties and len(arguments) == 1:
            (value,) = arguments.values()
            if isinstance(value, dict) and not set(value) - properties:
                arguments = value
        if set(arguments) - properties:
            raise NoWireCall("body %s has no %s" % (route.body,
                                                    sorted(set(arguments) - properties)))
        return route.method, path, arguments, arguments

    def call(self, scenario, base, operation, arguments, options):
        """The outcome of calling ``operation`` (see the module docstring)."""
        method, path, query, body = self.plan(operation, arguments)
        extra = {"json": body} if body is not None else {}
        response = http(scenario, method, base + path, options,
                        params=query if method in ("GET", "DELETE") else None, **extra)
        status = response.status_code
        if status == 401:
            return _challenge(response)
        try:
            problem = response.json() if status >= 400 else {}
        except ValueError:
            return "HTTP %d, not JSON: %s" % (status, response.text[:200])
        if status in (403, 404) and problem.get("code") in REFUSED_CODES:
            return "refused (%d: %s)" % (status, problem.get("detail"))
        if status < 300 or (status in (409, 503) and problem.get("code") in STATE_CODES):
            return "allowed (%d)" % status
        return "HTTP %d: %s" % (status, response.text[:300])
