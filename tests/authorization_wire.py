"""How the wire authorization matrix calls an operation through each adaptor, and reads the answer.

Each adaptor class turns (operation, arguments) into one HTTP request, generated from that
adaptor's own registry where there is one: XML-RPC method names are the operation names, SOAP
requests are built from ``protocols.soap_api.OPERATIONS`` (argument names and types), REST
requests from ``protocols.rest.routes.ROUTES`` (path parameters, query filters and body). An
operation an adaptor claims but that cannot be called with the matrix's arguments raises
:class:`NoWireCall`. :meth:`call` runs blocking (``requests``, from a thread) and answers an
*outcome*: ``"allowed ..."`` (success, or an error that says the state said no: conflict, not
ready), ``"refused:<code> ..."`` (the protocol's idiom for the core's ``unauthenticated``,
``forbidden`` or ``not_found``; a 401 must carry an HTTP Basic challenge), or anything else, which is always a failure of the matrix (invalid arguments, a server fault, an
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
from protocols.rest.routes import PATH_ALIASES, ROUTES
from protocols.soap_api import NS, OPERATIONS
from tests.authorization_scenario import PASSWORDS

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
REFUSED_CODES = ("unauthenticated", "forbidden", "not_found")
HTTP_REFUSALS = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}
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
    return "refused:unauthenticated (401)"


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
            kind = {408: "allowed", 409: "allowed"}.get(fault.faultCode, "unexpected")
            if fault.faultCode in HTTP_REFUSALS:
                kind = "refused:" + HTTP_REFUSALS[fault.faultCode]
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
            kind = "refused:" + code
        elif faultcode == "Client" and code in STATE_CODES:
            kind = "allowed"
        return "%s (fault %s/%s: %s)" % (kind, faultcode, code, message)


PATH_PARAMETER = re.compile(r"{(\w+)}")


def _path_value(name, operation, arguments):
    """Take the value of path parameter ``name`` out of ``arguments`` (None when absent)."""
    if name in arguments:
        return arguments.pop(name)
    alias = PATH_ALIASES.get(operation.split(".", 1)[0], {}).get(name)
    if alias is not None and alias in arguments:
        return arguments.pop(alias)
    if name == "computer" and len(arguments.get("references", ())) == 1:
        return arguments.pop("references")[0]
    return None


class Rest:
    """``/api/``: the routes of ``ROUTES`` naming the operation whose parameters fit.

    Path parameters come from the arguments of the same name (``{computer}`` is also a computer
    operation's ``reference``, ``{token}`` a token operation's: PATH_ALIASES); what is left goes to the query of a GET or DELETE (only as the
    route's filters) or to the JSON body (unwrapped when it is one object the body schema is).
    """

    name = "REST"

    def __init__(self):
        from protocols.rest.resource import load_document

        self.schemas = load_document().document["components"]["schemas"]

    def plan(self, operation, arguments):
        """(method, path, query, body) of the request."""
        return self.plans(operation, arguments)[0]

    def plans(self, operation, arguments):
        """Every (method, path, query, body) of a route that takes the arguments, best first."""
        candidates = [r for r in ROUTES if operation in r.operations]
        if not candidates:
            raise NoWireCall("no REST route calls %s (protocols/rest/routes.py)" % operation)
        candidates.sort(key=lambda r: len(r.operations))
        found, reasons = [], []
        for route in candidates:
            try:
                found.append(self._fit(route, operation, dict(arguments)))
            except NoWireCall as reason:
                reasons.append("%s %s: %s" % (route.method, route.path, reason))
        if not found:
            raise NoWireCall("no REST route of %s takes %r (%s)"
                             % (operation, arguments, "; ".join(reasons)))
        return found

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
        """The outcome of calling ``operation`` (see the module docstring).

        Every GET route that takes the arguments is called (reading changes nothing), and all
        must agree; otherwise the first route only.
        """
        plans = self.plans(operation, arguments)
        if not all(plan[0] == "GET" for plan in plans):
            plans = plans[:1]
        outcomes = ["%s (%s %s)" % (self._call(scenario, base, plan, options), plan[0], plan[1])
                    for plan in plans]
        if len({outcome.split()[0] for outcome in outcomes}) > 1:
            return "routes disagree: " + "; ".join(outcomes)
        return outcomes[0]

    def _call(self, scenario, base, plan, options):
        method, path, query, body = plan
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
        if status in (403, 404) and problem.get("code") == HTTP_REFUSALS[status]:
            return "refused:%s (%s)" % (problem["code"], problem.get("detail"))
        if status < 300 or (status in (409, 503) and problem.get("code") in STATE_CODES):
            return "allowed (%d)" % status
        return "HTTP %d: %s" % (status, response.text[:300])


def _partition_form(**more):
    def form(arguments):
        fields = {"computer_id": arguments["computer"],
                  "computer_partition_id": arguments["partition"]}
        fields.update({wire: arguments[name] for wire, name in more.items()})
        return fields
    return form


def _fields(**names):
    """A form builder: each form field from the argument it names."""
    return lambda arguments: {wire: arguments[name] for wire, name in names.items()}


class SlapCall:
    """One operation's SLAP endpoint: method, name, form fields from the matrix's arguments.

    ``core`` gives the arguments the endpoint passes to the core when they differ from the
    matrix's (the expected answer is then the core's for those).
    """

    def __init__(self, method, endpoint, form, core=None):
        self.method = method
        self.endpoint = endpoint
        self.form = form
        self.core = core


# The SLAP counterparts of docs/operations.md (SLAP has no registry mapping endpoints to
# operations: an operation whose SLAP column names an endpoint needs its line here).
SLAP_CALLS = {
    "catalogue.product_release_urls": SlapCall(
        "GET", "getSoftwareReleaseListFromSoftwareProduct", _fields(software_release_url="url")),
    "certificate.issue": SlapCall("POST", "generateComputerCertificate",
                                  _fields(computer_id="computer")),
    "certificate.revoke": SlapCall("POST", "revokeComputerCertificate",
                                   lambda arguments: {"computer_id": "COMP-A"},
                                   core=lambda arguments: {"computer": "COMP-A"}),
    "computer.bang": SlapCall("POST", "computerBang", _fields(computer_id="reference")),
    "computer.create": SlapCall("POST", "requestComputer",
                                _fields(computer_title="reference"),
                                core=lambda arguments: {"title": arguments["reference"]}),
    "computer.format": SlapCall("POST", "loadComputerConfigurationFromXML",
                                lambda arguments: {"xml": slap_dumps(arguments["configuration"])}),
    "computer.information": SlapCall("GET", "getFullComputerInformation",
                                     _fields(computer_id="reference")),
    "computer.partition": SlapCall("GET", "registerComputerPartition",
                                   _fields(computer_reference="reference",
                                           computer_partition_reference="partition")),
    "computer.status": SlapCall("GET", "getComputerStatus", _fields(computer_id="reference")),
    "computer.revisions": SlapCall("GET", "watchComputer",
                                   lambda arguments: {"computer_id": arguments["references"][0],
                                                      "timeout": "0"}),
    "instance.bang": SlapCall("POST", "softwareInstanceBang", _partition_form(message="message")),
    "instance.hosting_ip_list": SlapCall("GET", "getHostingSubscriptionIpList",
                                         _partition_form()),
    "instance.rename": SlapCall("POST", "softwareInstanceRename",
                                _partition_form(new_name="new_name")),
    "instance.report_destroyed": SlapCall("POST", "destroyedComputerPartition",
                                          _partition_form()),
    "instance.report_error": SlapCall("POST", "softwareInstanceError",
                                      _partition_form(error_log="message")),
    "instance.report_started": SlapCall("POST", "startedComputerPartition", _partition_form()),
    "instance.report_stopped": SlapCall("POST", "stoppedComputerPartition", _partition_form()),
    "instance.request": SlapCall("POST", "requestComputerPartition",
                                 _fields(partition_reference="title",
                                         software_release="software_release")),
    "instance.set_connection": SlapCall(
        "POST", "setComputerPartitionConnectionXml",
        lambda arguments: dict(_partition_form()(arguments),
                               connection_xml=slap_dumps(arguments["connection"]))),
    "supply.report": SlapCall("POST", {"building": "buildingSoftwareRelease",
                                       "available": "availableSoftwareRelease",
                                       "destroyed": "destroyedSoftwareRelease",
                                       "error": "softwareReleaseError"},
                              _fields(url="url", computer_id="computer")),
    "supply.supply": SlapCall("POST", "supplySupply", _fields(url="url", computer_id="computer")),
    "usage.report": SlapCall("POST", "useComputer",
                             _fields(computer_id="computer", use_string="document")),
}


def slap_dumps(value):
    """``value`` as the marshal XML the upstream slap library posts."""
    from protocols.slap_wire.marshal import dumps

    text = dumps(value)
    return text.decode("utf-8") if isinstance(text, bytes) else text


def slap_claims():
    """The operations whose SLAP column in docs/operations.md names an endpoint."""
    from pathlib import Path

    claimed = set()
    text = (Path(__file__).parent.parent / "docs" / "operations.md").read_text("utf-8")
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 10 and cells[0].startswith("`") and not cells[5].startswith("—"):
            claimed.add(cells[0].strip("`"))
    return claimed


class Slap:
    """``/slap/``: the endpoint of ``SLAP_CALLS``, form fields as the upstream library sends."""

    name = "SLAP"

    def serves(self, operation):
        """True when docs/operations.md gives the operation a SLAP counterpart."""
        return operation in slap_claims()

    def plan(self, operation, arguments):
        """(SlapCall, endpoint name, form fields)."""
        call = SLAP_CALLS.get(operation)
        if call is None:
            raise NoWireCall("docs/operations.md names a SLAP endpoint for %s but SLAP_CALLS "
                             "of tests/authorization_wire.py has no line for it" % operation)
        endpoint = call.endpoint
        if isinstance(endpoint, dict):
            endpoint = endpoint[arguments["state"]]
        return call, endpoint, call.form(arguments)

    def core_arguments(self, operation, arguments):
        """The arguments the endpoint hands the core (the expected answer is the core's)."""
        call = SLAP_CALLS.get(operation)
        return call.core(arguments) if call is not None and call.core else arguments

    def call(self, scenario, base, operation, arguments, options):
        """The outcome of calling ``operation`` (see the module docstring)."""
        call, endpoint, form = self.plan(operation, arguments)
        where = "params" if call.method == "GET" else "data"
        response = http(scenario, call.method, base + "slap/" + endpoint, options,
                        **{where: form})
        status = response.status_code
        if status == 401:
            return _challenge(response)
        if status in (403, 404):
            return "refused:%s (%s)" % (HTTP_REFUSALS[status], response.text[:150])
        if status in (200, 408, 409):
            return "allowed (%d)" % status
        return "HTTP %d: %s" % (status, response.text[:300])


def _json_format(arguments):
    configuration = arguments["configuration"]
    return {"computer_guid": arguments["reference"], "compute_partition_list": [
        {"partition_id": p["reference"],
         "ip_list": [{"ip-address": a["addr"], "netmask": a.get("netmask", "")}
                     for a in p.get("address_list", ())]}
        for p in configuration["partition_list"]]}


def _json_format_core(arguments):
    body = _json_format(arguments)
    return {"reference": body["computer_guid"], "configuration": {
        "reference": body["computer_guid"], "partition_list": [
            {"reference": p["partition_id"],
             "address_list": [{"addr": ip["ip-address"], "netmask": ip["netmask"]}
                              for ip in p["ip_list"]]}
            for p in body["compute_partition_list"]]}}


class JsonCall:
    """One operation's entry point of the /slap/ JSON API: its name, body, core arguments."""

    def __init__(self, entry, body, core=None):
        self.entry = entry
        self.body = body
        self.core = core


# The JSON API entry points that call exactly one core operation, with arguments from the body.
JSON_CALLS = {
    "supply.supply": JsonCall("slapos.post.v0.software_installation",
                              _fields(software_release_uri="url", computer_guid="computer"),
                              core=lambda arguments: dict(arguments, state="available")),
    "supply.list": JsonCall("slapos.allDocs.v0.compute_node_software_installation_list",
                            _fields(computer_guid="computer")),
    "supply.report": JsonCall("slapos.put.v0.software_installation_reported_state",
                              _fields(software_release_uri="url", computer_guid="computer",
                                      reported_state="state")),
    "computer.information": JsonCall("slapos.allDocs.v0.compute_node_instance_list",
                                     _fields(computer_guid="reference")),
    "computer.format": JsonCall("slapos.put.v0.compute_node_format", _json_format,
                                core=_json_format_core),
    "computer.bang": JsonCall("slapos.put.v0.compute_node_bang",
                              lambda arguments: {"computer_guid": arguments["reference"],
                                                 "message": "again"},
                              core=lambda arguments: dict(arguments, message="again")),
    "computer.status": JsonCall("slapos.get.v0.compute_node_status",
                                _fields(computer_guid="reference")),
    "certificate.issue": JsonCall("slapos.post.v0.compute_node_certificate",
                                  _fields(computer_guid="computer")),
    "certificate.revoke": JsonCall("slapos.remove.v0.compute_node_certificate",
                                   lambda arguments: {"computer_guid": "COMP-A"},
                                   core=lambda arguments: {"computer": "COMP-A"}),
    "usage.report": JsonCall("slapos.post.v0.compute_node_usage",
                             _fields(computer_guid="computer", tioxml="document")),
    "computer.list": JsonCall("slapos.allDocs.WIP.compute_node_list", lambda arguments: {}),
    "tree.list": JsonCall("slapos.allDocs.v0.instance_tree_list", lambda arguments: {}),
    "instance.request": JsonCall(
        "slapos.post.v0.software_instance",
        lambda arguments: {"title": arguments["title"],
                           "software_release_uri": arguments["software_release"],
                           "software_type": ""},
        core=lambda arguments: dict(arguments, software_type=None, parameters={}, sla={},
                                    state="started", shared=False)),
}
# Entry points the matrix does not check, and why: each must be in JSON_CALLS or here.
JSON_UNCHECKED = {
    "slapos.get.v0.hateoas_url": "calls no core operation",
    "slapos.put.v0.software_installation_error": "supply.report, as reported_state",
    **{name: "two core calls: the instance as its requester reads it, then the operation"
       for name in ("slapos.get.v0.compute_partition", "slapos.get.v0.software_instance",
                    "slapos.allDocs.v0.instance_node_instance_list",
                    "slapos.get.v0.instance_tree",
                    "slapos.put.v0.software_instance_reported_state",
                    "slapos.put.v0.software_instance_connection_parameter",
                    "slapos.put.v0.software_instance_error",
                    "slapos.put.v0.software_instance_bang",
                    "slapos.put.v0.software_instance_title",
                    "slapos.get.v0.software_instance_certificate")},
}


class SlapJson:
    """``/slap/slapos.*``: the JSON API entry point of ``JSON_CALLS``.

    As upstream, "not found" is answered 403 like "forbidden": the core's ``not_found`` reads
    as ``forbidden`` here.
    """

    name = "SLAP JSON API"
    aliases = {"refused:not_found": "refused:forbidden"}

    def serves(self, operation):
        """True for the operations of JSON_CALLS."""
        return operation in JSON_CALLS

    def plan(self, operation, arguments):
        """(entry point, body)."""
        call = JSON_CALLS[operation]
        return call.entry, call.body(arguments)

    def core_arguments(self, operation, arguments):
        """The arguments the entry point hands the core."""
        call = JSON_CALLS[operation]
        return call.core(arguments) if call.core else arguments

    def call(self, scenario, base, operation, arguments, options):
        """The outcome of calling ``operation`` (see the module docstring)."""
        entry, body = self.plan(operation, arguments)
        response = http(scenario, "POST", base + "slap/" + entry, options, json=body)
        status = response.status_code
        if status == 401:
            return _challenge(response)
        if status == 403:
            return "refused:forbidden (%s)" % response.text[:150]
        if status in (200, 408, 409):
            return "allowed (%d)" % status
        return "HTTP %d: %s" % (status, response.text[:300])
