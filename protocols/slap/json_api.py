"""Upstream SlapOS's JSON API (spec section 6, version 0.0.3) under the SLAP master URL.

``POST /slap/slapos.<verb>.v0.<entity>`` with a JSON body, as the upstream master's
``slapos_master_api`` and slapproxy serve it: bodies are checked against the request schema of
``schemas/slapos_json_api.json`` (400), replies against its 200 schema, errors are
``{"status", "type", "title"}`` documents, and "not found" answers 403 as upstream does. Each entry
point translates to the slap_core operations the SLAP adaptor calls, with the same callers
(:mod:`protocols.slap.callers`): node entry points act as the computer they name, instance entry
points as the node the instance runs on, requests as the partition of the ``X-SlapPartition``
header or else as the user.
"""

import inspect
import json
from http import HTTPStatus

import jsonschema
from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

import schemas
from protocols.statuses import retry_after, status_of
from slap_core import errors

JSON = b"application/json"
DOCUMENT = "slapos_json_api.json"
ENTRIES = {}


def entry(name):
    """Register the decorated generator as the handler of the entry point ``name``."""

    def register(function):
        ENTRIES[name] = (defer.inlineCallbacks(function) if inspect.isgeneratorfunction(function)
                         else function)
        return function

    return register


def _schemas():
    """{entry point: (request validator, reply validator)} from the checked-in document."""
    document = json.loads(schemas.path(DOCUMENT).read_text())
    validators = {}
    for path, item in document["paths"].items():
        post = item["post"]
        request = post["requestBody"]["content"]["application/json"]["schema"]
        reply = post["responses"]["200"]["content"]["application/json"]["schema"]
        validators[path.lstrip("/")] = tuple(
            jsonschema.Draft7Validator(dict(schema, components=document["components"]),
                                       format_checker=jsonschema.FormatChecker())
            for schema in (request, reply))
    return validators


class _Refused(Exception):
    """An answer of the API's own (a status and a title) rather than a core error."""

    def __init__(self, status, title):
        super().__init__(title)
        self.status, self.title = status, title


def ack(title):
    """The acknowledgement document."""
    return {"type": "success", "title": title}


class Entry:
    """One JSON API request being answered: its body, callers and the core."""

    def __init__(self, request, body, calls, callers):
        self.request, self.body, self.calls, self.callers = request, body, calls, callers

    def core(self, name, principal, **arguments):
        """Deferred result of a slap_core operation."""
        return self.calls.call(name, principal, **arguments)

    def node(self):
        """The caller acting as the computer the body names."""
        return self.callers.node(self.request, self.body["computer_guid"])

    def requester(self):
        """The partition of the X-SlapPartition header, else the user."""
        return self.callers.partition(self.request) or self.callers.user(self.request)

    @defer.inlineCallbacks
    def instance(self, guid=None):
        """The instance of ``instance_guid`` as the requester reads it."""
        view = yield self.core("instance.get", self.requester(),
                               reference=guid or self.body["instance_guid"])
        return view

    @defer.inlineCallbacks
    def placed(self):
        """(node caller, computer, partition, slave_reference) where the instance is deployed."""
        view = yield self.instance()
        if not view.allocated or not view.computer:
            raise _Refused(403, "instance %r is not allocated" % view.reference)
        caller = self.callers.node(self.request, view.computer)
        return caller, view.computer, view.partition, view.reference if view.shared else None


def instance_document(view):
    """An instance view as the API's instance document."""
    return {
        "title": view.title,
        "instance_guid": view.reference,
        "software_release_uri": view.software_release,
        "software_type": view.software_type or "",
        "state": view.requested_state,
        "connection_parameters": _texts(view.connection),
        "parameters": _texts(view.parameters),
        "shared": view.shared,
        "root_instance_title": view.tree,
        "ip_list": [list(pair) for pair in view.ip_list],
        "full_ip_list": [list(entry) for entry in view.full_ip_list],
        "sla_parameters": _texts(view.sla),
        "computer_guid": view.computer or "",
        "compute_partition_id": view.partition or "",
        "processing_timestamp": int(view.timestamp or 0),
        "access_status_message": view.status_text or "",
    }


def _texts(mapping):
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in (mapping or {}).items()}


# -- software installations ----------------------------------------------------------------------

@entry("slapos.post.v0.software_installation")
def post_software_installation(call):
    state = call.body.get("state", "available")
    yield call.core("supply.supply", call.callers.user(call.request),
                    url=call.body["software_release_uri"], computer=call.body["computer_guid"],
                    state=state)
    return ack("Supplied %s to be %s" % (call.body["software_release_uri"], state))


@entry("slapos.allDocs.v0.compute_node_software_installation_list")
def software_installation_list(call):
    supplies = yield call.core("supply.list", call.node(), computer=call.body["computer_guid"])
    return {"result_list": [{"software_release_uri": s.url, "state": s.desired_state}
                            for s in supplies]}


@entry("slapos.put.v0.software_installation_reported_state")
def software_installation_reported_state(call):
    state = call.body["reported_state"]
    yield call.core("supply.report", call.node(), url=call.body["software_release_uri"],
                    computer=call.body["computer_guid"], state=state)
    return ack("Destroyed" if state == "destroyed" else "Reported %s" % state)


@entry("slapos.put.v0.software_installation_error")
def software_installation_error(call):
    yield call.core("supply.report", call.node(), url=call.body["software_release_uri"],
                    computer=call.body["computer_guid"], state="error",
                    error_text=call.body["message"])
    return ack("Error reported")


# -- compute nodes -------------------------------------------------------------------------------

@entry("slapos.allDocs.v0.compute_node_instance_list")
def compute_node_instance_list(call):
    information = yield call.core("computer.information", call.node(),
                                  reference=call.body["computer_guid"])
    return {"result_list": [{
        "title": p.title or "", "instance_guid": p.instance, "state": p.state,
        "compute_partition_id": p.reference, "software_release_uri": p.software_release or "",
    } for p in information.partitions if p.instance]}


@entry("slapos.get.v0.compute_partition")
def compute_partition(call):
    caller = call.node()
    partition = yield call.core("computer.partition", caller,
                                reference=call.body["computer_guid"],
                                partition=call.body["compute_partition_id"])
    if not partition.instance:
        raise _Refused(403, "no instance on partition %r" % partition.reference)
    view = yield call.core("instance.get", caller, reference=partition.instance)
    return instance_document(view)


@entry("slapos.put.v0.compute_node_format")
def compute_node_format(call):
    reference = call.body["computer_guid"]
    configuration = {"reference": reference, "partition_list": [{
        "reference": partition["partition_id"],
        "address_list": [{"addr": ip["ip-address"], "netmask": ip.get("netmask", ""),
                          **({"network_interface": ip["network-interface"]}
                             if ip.get("network-interface") else {})}
                         for ip in partition.get("ip_list", ())],
    } for partition in call.body["compute_partition_list"]]}
    yield call.core("computer.format", call.callers.registering_computer(call.request, reference),
                    reference=reference, configuration=configuration)
    return ack("Formatted")


@entry("slapos.put.v0.compute_node_bang")
def compute_node_bang(call):
    yield call.core("computer.bang", call.node(), reference=call.body["computer_guid"],
                    message=call.body["message"])
    return ack("Bang handled")


@entry("slapos.get.v0.compute_node_status")
def compute_node_status(call):
    status = yield call.core("computer.status", call.node(), reference=call.body["computer_guid"])
    return {"text": status["text"] if isinstance(status, dict) else str(status)}


@entry("slapos.post.v0.compute_node_certificate")
def compute_node_certificate(call):
    view = yield call.core("certificate.issue", call.node(), kind="computer",
                           computer=call.body["computer_guid"])
    return {"key": view.private_key, "certificate": view.certificate}


@entry("slapos.remove.v0.compute_node_certificate")
def remove_compute_node_certificate(call):
    yield call.core("certificate.revoke", call.node(), computer=call.body["computer_guid"])
    return ack("Certificate revoked")


@entry("slapos.get.v0.software_instance_certificate")
def software_instance_certificate(call):
    caller, computer, partition, shared = yield call.placed()
    if shared:
        raise _Refused(403, "a shared instance has no certificate of its own")
    view = yield call.core("certificate.issue", caller, kind="partition", computer=computer,
                           partition=partition)
    return {"key": view.private_key, "certificate": view.certificate}


@entry("slapos.post.v0.compute_node_usage")
def compute_node_usage(call):
    yield call.core("usage.report", call.node(), computer=call.body["computer_guid"],
                    document=call.body["tioxml"])
    return ack("Usage recorded")


@entry("slapos.allDocs.WIP.compute_node_list")
def compute_node_list(call):
    computers = yield call.core("computer.list", call.callers.user(call.request))
    return {"result_list": [{"computer_guid": c.reference} for c in computers]}


@entry("slapos.get.v0.hateoas_url")
def hateoas_url(call):
    return {"hateoas_url": str(call.request.URLPath().sibling(b"hateoas").child(b""))}


# -- instances -----------------------------------------------------------------------------------

@entry("slapos.post.v0.software_instance")
def post_software_instance(call):
    body = call.body
    view = yield call.core(
        "instance.request", call.requester(), title=body["title"],
        software_release=body["software_release_uri"], software_type=body["software_type"] or None,
        parameters=body.get("parameters", {}),
        sla={k: v for k, v in body.get("sla_parameters", {}).items() if v not in (None, "")},
        state=body.get("state", "started"), shared=body.get("shared", False))
    return instance_document(view)


@entry("slapos.get.v0.software_instance")
def get_software_instance(call):
    view = yield call.instance()
    return instance_document(view)


@entry("slapos.get.v0.instance_tree")
def get_instance_tree(call):
    tree = yield call.core("tree.get", call.callers.user(call.request), title=call.body["title"])
    view = yield call.instance(tree.root)
    return instance_document(view)


@entry("slapos.allDocs.v0.instance_tree_list")
def instance_tree_list(call):
    trees = yield call.core("tree.list", call.callers.user(call.request))
    return {"result_list": [{"title": tree.title} for tree in trees]}


@entry("slapos.allDocs.v0.instance_node_instance_list")
def instance_node_instance_list(call):
    view = yield call.instance()
    if view.shared or not view.allocated:
        raise _Refused(403, "no software instance %r hosting shared instances" % view.reference)
    caller = call.callers.node(call.request, view.computer)
    partition = yield call.core("computer.partition", caller, reference=view.computer,
                                partition=view.partition)
    hosted = []
    for shared in partition.parameter_dict.get("slave_instance_list") or ():
        shared = dict(shared)
        title, guid = shared.pop("slave_title"), shared.pop("slave_reference")
        software_type = shared.pop("slap_software_type", "") or ""
        shared.pop("timestamp", None)
        hosted.append({"title": title, "instance_guid": guid, "software_type": software_type,
                       "state": "started", "parameters": _texts(shared),
                       "compute_partition_id": view.partition})
    return {"result_list": hosted}


REPORTS = {"started": "instance.report_started", "stopped": "instance.report_stopped",
           "destroyed": "instance.report_destroyed"}


@entry("slapos.put.v0.software_instance_reported_state")
def software_instance_reported_state(call):
    caller, computer, partition, shared = yield call.placed()
    state = call.body["reported_state"]
    outcome = yield call.core(REPORTS[state], caller, computer=computer, partition=partition,
                              slave_reference=shared)
    if shared is not None:
        return ack("Ignored")  # the core accepted it and changed nothing
    if state == "destroyed" and not outcome.freed:
        raise _Refused(403, outcome.message)
    return ack("Destroyed" if state == "destroyed" else "Reported %s" % state)


@entry("slapos.put.v0.software_instance_connection_parameter")
def software_instance_connection_parameter(call):
    caller, computer, partition, shared = yield call.placed()
    connection = call.body["connection_parameter_dict"]
    yield call.core("instance.set_connection", caller, computer=computer, partition=partition,
                    connection=_texts(connection),
                    slave_reference=shared)
    return ack("Updated")


@entry("slapos.put.v0.software_instance_error")
def software_instance_error(call):
    caller, computer, partition, shared = yield call.placed()
    yield call.core("instance.report_error", caller, computer=computer, partition=partition,
                    message=call.body["message"],
                    slave_reference=shared)
    return ack("Error reported")


@entry("slapos.put.v0.software_instance_bang")
def software_instance_bang(call):
    caller, computer, partition, shared = yield call.placed()
    yield call.core("instance.bang", caller, computer=computer, partition=partition,
                    message=call.body["message"], slave_reference=shared)
    return ack("Bang handled")


@entry("slapos.put.v0.software_instance_title")
def software_instance_title(call):
    caller, computer, partition, shared = yield call.placed()
    yield call.core("instance.rename", caller, computer=computer, partition=partition,
                    new_name=call.body["title"],
                    slave_reference=shared)
    return ack("Renamed")


# -- the resource --------------------------------------------------------------------------------

def _status_for(error):
    """(status, title) of a failure: 403 for "not found" as upstream, else the shared table."""
    if isinstance(error, _Refused):
        return error.status, error.title
    if isinstance(error, errors.NotFound):
        return 403, str(error)
    status = status_of(error)
    return (status, str(error)) if status is not None else (None, None)


class JsonEntryResource(Resource):
    """One entry point of the JSON API."""

    isLeaf = True
    log = Logger()
    VALIDATORS = None

    def __init__(self, name, calls, callers):
        super().__init__()
        self.name, self.calls, self.callers = name, calls, callers
        if JsonEntryResource.VALIDATORS is None:
            JsonEntryResource.VALIDATORS = _schemas()
        self.request_schema, self.reply_schema = self.VALIDATORS[name]

    def render(self, request):
        """Check method, size and body; run the entry point; answer JSON."""
        if request.method != b"POST":
            request.setHeader(b"Allow", b"POST")
            return self.error(request, 405, "use POST")
        body = request.content.read() if request.content is not None else b""
        try:
            document = json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, ValueError) as error:
            return self.error(request, 400, "the body is not JSON: %s" % error)
        problem = jsonschema.exceptions.best_match(self.request_schema.iter_errors(document))
        if problem is not None:
            return self.error(request, 400, problem.message)
        handler = ENTRIES[self.name]
        result = self.callers.for_request(request)
        result.addCallback(lambda callers: defer.maybeDeferred(
            handler, Entry(request, document, self.calls, callers)))
        result.addCallbacks(self._answer, self._fail, callbackArgs=(request,),
                            errbackArgs=(request,))
        result.addErrback(self.log.failure, "answering {name}", name=self.name)
        return NOT_DONE_YET

    def _answer(self, document, request):
        problem = jsonschema.exceptions.best_match(self.reply_schema.iter_errors(document))
        if problem is not None:
            self.log.error("{name} produced an invalid reply: {problem}", name=self.name,
                           problem=problem.message)
            self._write(request, self.error(request, 500, "internal error"))
            return
        request.setHeader(b"Content-Type", JSON)
        self._write(request, json.dumps(document).encode("utf-8"))

    def _fail(self, failure, request):
        status, title = _status_for(failure.value)
        if status is None:
            self.log.failure("JSON API {name} failed", failure, name=self.name)
            status, title = 500, "internal error"
        if retry_after(failure.value) is not None:
            request.setHeader(b"Retry-After", retry_after(failure.value))
        self._write(request, self.error(request, status, title))

    @staticmethod
    def error(request, status, title):
        """Set ``status`` and return the error document's bytes."""
        request.setResponseCode(status)
        request.setHeader(b"Content-Type", JSON)
        if status == 401:
            request.setHeader(b"WWW-Authenticate", b'Basic realm="slapgate"')
        return json.dumps({"status": status, "type": HTTPStatus(status).phrase,
                           "title": title}).encode("utf-8")

    @staticmethod
    def _write(request, body):
        if not request._disconnected:
            request.write(body)
            request.finish()
