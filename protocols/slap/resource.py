"""The SLAP adaptor: the slap tool endpoints of spec section 2.2 under ``/slap/``.

Each endpoint decodes its form fields (marshal XML where upstream marshals), calls one slap_core
operation through CoreCalls, and answers marshal XML or plain text. slap_core errors become the
status codes the upstream client maps: NotFound 404, NotReady 408, Invalid 400, Unauthenticated
401, Forbidden 403, Conflict 409; anything unexpected is a 500 without a traceback.
"""

import inspect
from collections import OrderedDict

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import pages
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from protocols.slap import json_api, objects, watch
from protocols.slap.hateoas import HateoasResource
from protocols.statuses import retry_after, status_of
from protocols.slap_wire.marshal import MarshalError, dumps, loads
from slap_core import errors

XML = b"text/xml; charset=utf-8"
TEXT = b"text/plain; charset=utf-8"
ENDPOINTS = {}


def endpoint(method):
    """Register the decorated handler as the SLAP endpoint of its name, for ``method``."""

    def register(function):
        handler = defer.inlineCallbacks(function) if inspect.isgeneratorfunction(function) \
            else function
        ENDPOINTS[function.__name__] = (method, handler)
        return function

    return register


def _absent(value):
    return value in (None, "", "None", "none")


class Call:
    """One SLAP request being answered: its form fields, callers and the core."""

    def __init__(self, request, calls, callers, watcher=None):
        self.request = request
        self.calls = calls
        self.callers = callers
        self.watcher = watcher

    def field(self, name, required=True):
        """A form or query field as text; Invalid when required and missing."""
        values = self.request.args.get(name.encode())
        if not values or _absent(values[0].decode("utf-8", "replace")):
            if required:
                raise errors.Invalid("%s is required" % name)
            return None
        try:
            return values[0].decode("utf-8")
        except UnicodeDecodeError:
            raise errors.Invalid("%s is not UTF-8" % name) from None

    def marshalled(self, name, default=None):
        """A form field holding marshal XML, decoded; ``default`` when absent."""
        text = self.field(name, required=False)
        if text is None:
            return default
        try:
            return loads(text)
        except MarshalError as error:
            raise errors.Invalid("%s is not valid marshal XML: %s" % (name, error)) from None

    def node(self, field="computer_id"):
        """The caller of a node call, and the computer it names."""
        computer = self.field(field)
        return self.callers.node(self.request, computer), computer

    def partition_caller(self, computer_field="computer_id",
                         partition_field="computer_partition_id"):
        """(caller, computer, partition) of a partition-scoped node call.

        The caller is the partition when it calls for itself, else the node (or, for anyone
        else, the caller as itself: an admin, or refused by the core).
        """
        computer = self.field(computer_field)
        partition = self.field(partition_field)
        caller = self.callers.partition(self.request, computer, partition)
        if caller is None:
            caller = self.callers.node(self.request, computer)
        return caller, computer, partition

    def core(self, name, principal, **arguments):
        """Deferred result of a slap_core operation."""
        return self.calls.call(name, principal, **arguments)


def _flat_mapping(value, name):
    if not isinstance(value, dict):
        raise errors.Invalid("%s must be a marshalled dictionary" % name)
    return value


# -- what the node reads -----------------------------------------------------------------------

@endpoint(b"GET")
def getFullComputerInformation(call):
    """The node's poll (section 3.2)."""
    caller, computer = call.node()
    information = yield call.core("computer.information", caller, reference=computer)
    body = ENCODED.get(information)
    if body is None:
        # A poll answer is hundreds of kilobytes: encode it in the thread pool, not the reactor.
        body = yield call.calls.run(_encode_computer, information)
        ENCODED.put(information, body)
    return body, XML


def _encode_computer(information):
    return dumps(objects.computer(information))


class EncodedAnswers:
    """The marshalled bytes of the last poll answer of each computer.

    slap_core hands back the very same ComputerInformation object while a computer's revision
    does not move (its poll cache), so the object's identity says whether the bytes still hold.
    """

    def __init__(self, size=512):
        self.size = size
        self._entries = OrderedDict()

    def get(self, information):
        """The bytes encoded from this very object, or None."""
        entry = self._entries.get(information.reference)
        return entry[1] if entry is not None and entry[0] is information else None

    def put(self, information, body):
        """Keep ``body`` as the encoding of ``information`` (the reactor thread only)."""
        self._entries[information.reference] = (information, body)
        self._entries.move_to_end(information.reference)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


ENCODED = EncodedAnswers()


ENDPOINTS["getComputerInformation"] = ENDPOINTS["getFullComputerInformation"]  # older name


@endpoint(b"GET")
def watchComputer(call):
    """slapgate's extension: the computer's revision, once it differs from ``revision``."""
    caller, computer = call.node()
    try:
        known = call.field("revision", required=False)
        known = None if known is None else int(known)
        timeout = float(call.field("timeout", required=False) or watch.DEFAULT_TIMEOUT)
    except ValueError:
        raise errors.Invalid("revision is a whole number and timeout a number of seconds") \
            from None
    if not 0 <= timeout <= watch.MAX_TIMEOUT:
        raise errors.Invalid("timeout is between 0 and %d seconds" % watch.MAX_TIMEOUT)
    (current,) = yield call.core("computer.revisions", caller, references=[computer])
    revision = current.revision
    if known == revision and call.watcher is not None and timeout > 0:
        waiting = call.watcher.wait(computer, known, timeout)
        call.request.notifyFinish().addErrback(lambda _: waiting.cancel())
        try:
            revision = yield waiting
        except defer.CancelledError:  # the node went away: nobody to answer
            return b"", TEXT
    return str(revision).encode(), TEXT


@endpoint(b"GET")
def getHateoasUrl(call):
    """Where the HATEOAS root is (``slapos service|computer list|info`` navigate from there)."""
    return str(call.request.URLPath().sibling(b"hateoas").child(b"")).encode(), TEXT


@endpoint(b"GET")
def registerComputerPartition(call):
    """One partition, as a recipe reads its own (``slapconfiguration``)."""
    caller, computer, partition = call.partition_caller("computer_reference",
                                                        "computer_partition_reference")
    view = yield call.core("computer.partition", caller, reference=computer, partition=partition)
    return dumps(objects.computer_partition(view, synced=True)), XML


@endpoint(b"GET")
def getComputerStatus(call):
    """The computer's latest news."""
    caller, computer = call.node()
    status = yield call.core("computer.status", caller, reference=computer)
    return dumps({"text": status["text"]}), XML


@endpoint(b"GET")
def getHostingSubscriptionIpList(call):
    """Every (interface, address) of the caller's instance tree."""
    caller, computer, partition = call.partition_caller()
    addresses = yield call.core("instance.hosting_ip_list", caller, computer=computer,
                                partition=partition)
    return dumps([tuple(pair) for pair in addresses]), XML


@endpoint(b"GET")
def getSoftwareReleaseListFromSoftwareProduct(call):
    """A product's release URLs, best first."""
    product = call.field("software_product_reference", required=False)
    url = call.field("software_release_url", required=False)
    urls = yield call.core("catalogue.product_release_urls", call.callers.user(call.request),
                           product=product, url=url)
    return dumps(list(urls)), XML


# -- what the node reports ---------------------------------------------------------------------

def _software_report(state):
    def report(call):
        caller, computer = call.node()
        error_text = call.field("error_log", required=False) if state == "error" else None
        yield call.core("supply.report", caller, url=call.field("url"), computer=computer,
                        state=state, error_text=error_text)
        return b"OK", TEXT

    return report


for _name, _state in (("buildingSoftwareRelease", "building"),
                      ("availableSoftwareRelease", "available"),
                      ("destroyedSoftwareRelease", "destroyed"),
                      ("softwareReleaseError", "error")):
    _handler = _software_report(_state)
    _handler.__name__ = _name
    _handler.__doc__ = "The node reports a software release %s." % _state
    endpoint(b"POST")(_handler)


@endpoint(b"POST")
def startedComputerPartition(call):
    """The node started a partition."""
    caller, computer, partition = call.partition_caller()
    yield call.core("instance.report_started", caller, computer=computer, partition=partition)
    return b"OK", TEXT


@endpoint(b"POST")
def stoppedComputerPartition(call):
    """The node stopped a partition."""
    caller, computer, partition = call.partition_caller()
    yield call.core("instance.report_stopped", caller, computer=computer, partition=partition)
    return b"OK", TEXT


@endpoint(b"POST")
def destroyedComputerPartition(call):
    """The node wiped a partition; the answer says whether it was freed."""
    caller, computer, partition = call.partition_caller()
    outcome = yield call.core("instance.report_destroyed", caller, computer=computer,
                              partition=partition)
    return outcome.message.encode("utf-8"), TEXT


@endpoint(b"POST")
def softwareInstanceError(call):
    """The node failed to deploy a partition (or a shared instance on it)."""
    caller, computer, partition = call.partition_caller()
    yield call.core("instance.report_error", caller, computer=computer, partition=partition,
                    message=call.field("error_log", required=False) or "",
                    slave_reference=call.field("slave_reference", required=False))
    return b"OK", TEXT


@endpoint(b"POST")
def softwareInstanceBang(call):
    """Process the caller's whole tree again."""
    caller, computer, partition = call.partition_caller()
    yield call.core("instance.bang", caller, computer=computer, partition=partition,
                    message=call.field("message", required=False) or "")
    return b"OK", TEXT


@endpoint(b"POST")
def softwareInstanceRename(call):
    """Rename the caller's instance (or a shared instance it hosts)."""
    caller, computer, partition = call.partition_caller()
    yield call.core("instance.rename", caller, computer=computer, partition=partition,
                    new_name=call.field("new_name"),
                    slave_reference=call.field("slave_reference", required=False))
    return b"done", TEXT


@endpoint(b"POST")
def setComputerPartitionConnectionXml(call):
    """Publish connection parameters (``connection_xml`` is a marshalled dict)."""
    caller, computer, partition = call.partition_caller()
    connection = _flat_mapping(call.marshalled("connection_xml", {}), "connection_xml")
    yield call.core("instance.set_connection", caller, computer=computer, partition=partition,
                    connection=connection,
                    slave_reference=call.field("slave_reference", required=False))
    return b"done", TEXT


@endpoint(b"POST")
def updateComputerPartitionRelatedInstanceList(call):
    """Accepted and ignored, as the master does now (the list is not used for anything)."""
    call.partition_caller()
    call.marshalled("instance_reference_xml", [])
    return b"", TEXT


@endpoint(b"POST")
def computerBang(call):
    """Process every instance of the computer again."""
    caller, computer = call.node()
    yield call.core("computer.bang", caller, reference=computer,
                    message=call.field("message", required=False) or "")
    return dumps(""), XML


@endpoint(b"POST")
def useComputer(call):
    """The node's usage journal (TioXML); 400 when it does not validate."""
    caller, computer = call.node()
    yield call.core("usage.report", caller, computer=computer,
                    document=call.field("use_string"))
    return b"OK", TEXT


@endpoint(b"POST")
def loadComputerConfigurationFromXML(call):
    """What ``slapos node format`` found, as a marshalled dict."""
    configuration = _flat_mapping(call.marshalled("xml"), "xml")
    reference = configuration.get("reference")
    if not isinstance(reference, str) or not reference:
        raise errors.Invalid("the computer configuration has no reference")
    caller = call.callers.registering_computer(call.request, reference)
    yield call.core("computer.format", caller, reference=reference, configuration=configuration)
    return b"Content properly posted.", TEXT


# -- certificates ---------------------------------------------------------------------------------

@endpoint(b"GET")
def getComputerPartitionCertificate(call):
    """The partition's key and certificate, as the node writes them into its repository."""
    caller, computer, partition = call.partition_caller()
    view = yield call.core("certificate.issue", caller, kind="partition", computer=computer,
                           partition=partition)
    return dumps({"certificate": view.certificate, "key": view.private_key}), XML


@endpoint(b"POST")
def generateComputerCertificate(call):
    """A new key and certificate for the computer (``Computer.generateCertificate``)."""
    caller, computer = call.node()
    view = yield call.core("certificate.issue", caller, kind="computer", computer=computer)
    return dumps({"certificate": view.certificate, "key": view.private_key}), XML


@endpoint(b"POST")
def revokeComputerCertificate(call):
    """Revoke the computer's certificates (``Computer.revokeCertificate``)."""
    caller, computer = call.node()
    yield call.core("certificate.revoke", caller, computer=computer)
    return b"", TEXT


# -- what users ask ------------------------------------------------------------------------------

@endpoint(b"POST")
def supplySupply(call):
    """Install (available) or remove (destroyed) a release on a computer."""
    url, computer = call.field("url"), call.field("computer_id")
    state = call.field("state", required=False) or "available"
    yield call.core("supply.supply", call.callers.user(call.request), url=url,
                    computer=computer, state=state)
    return ("Supplied %r to be %s" % (url, state)).encode("utf-8"), TEXT


@endpoint(b"POST")
def requestComputerPartition(call):
    """Request an instance, as a user (OpenOrder) or as a partition (ComputerPartition.request).

    As the master: a missing state means ``started``; 408 while it waits for a partition.
    """
    caller = call.callers.partition(call.request, call.field("computer_id", required=False),
                                    call.field("computer_partition_id", required=False))
    if caller is None:
        caller = call.callers.user(call.request)
    state = call.marshalled("state")
    shared = call.marshalled("shared_xml", False)
    parameters = _flat_mapping(call.marshalled("partition_parameter_xml", {}),
                               "partition_parameter_xml")
    sla = _flat_mapping(call.marshalled("filter_xml", {}), "filter_xml")
    if not isinstance(shared, bool):
        raise errors.Invalid("shared_xml must be a marshalled boolean")
    view = yield call.core(
        "instance.request", caller, title=call.field("partition_reference"),
        software_release=call.field("software_release"),
        software_type=call.field("software_type", required=False), parameters=parameters,
        sla=sla, state=state or "started", shared=shared)
    return dumps(objects.software_instance(view)), XML


@endpoint(b"POST")
def requestComputer(call):
    """Register a new computer titled ``computer_title``, owned by the caller."""
    view = yield call.core("computer.create", call.callers.user(call.request),
                           title=call.field("computer_title"))
    return dumps(objects.bare_computer(view.reference)), XML


class EndpointResource(Resource):
    """One SLAP endpoint."""

    isLeaf = True
    log = Logger()

    def __init__(self, name, method, handler, calls, callers, watcher=None):
        super().__init__()
        self.name, self.method, self.handler = name, method, handler
        self.calls, self.callers, self.watcher = calls, callers, watcher

    def render(self, request):
        """Run the handler; map errors to statuses; never show a traceback."""
        if request.method not in (self.method, b"HEAD" if self.method == b"GET" else None):
            request.setResponseCode(405)
            request.setHeader(b"Allow", self.method)
            request.setHeader(b"Content-Type", TEXT)
            return b"use %s" % self.method
        result = self.callers.for_request(request)
        result.addCallback(lambda callers: defer.maybeDeferred(
            self.handler, Call(request, self.calls, callers, self.watcher)))
        result.addCallbacks(self._answer, self._fail, callbackArgs=(request,),
                            errbackArgs=(request,))
        result.addErrback(self.log.failure, "writing the answer to {name}", name=self.name)
        return NOT_DONE_YET

    def _answer(self, result, request):
        body, content_type = result
        request.setHeader(b"Content-Type", content_type)
        self._finish(request, body)

    def _fail(self, failure, request):
        error = failure.value
        status = status_of(error)
        if status is None:
            self.log.failure("SLAP {name} failed", failure, name=self.name)
            status, message = 500, "internal error"
        else:
            message = str(error)
        request.setResponseCode(status)
        request.setHeader(b"Content-Type", TEXT)
        if status == 401:
            request.setHeader(b"WWW-Authenticate", b'Basic realm="slapgate"')
        if retry_after(error) is not None:
            request.setHeader(b"Retry-After", retry_after(error))
        self._finish(request, message.encode("utf-8"))

    @staticmethod
    def _finish(request, body):
        if not request._disconnected:
            # With its length known, twisted.web sends the body as it is instead of as one
            # HTTP/1.1 chunk plus a terminator, which cost a copy of a poll's 320 kB tail.
            request.setHeader(b"Content-Length", b"%d" % len(body))
            request.write(body)
            request.finish()


class SlapResource(Resource):
    """``/slap/``: the master URL given to upstream SlapOS tools."""

    def __init__(self, calls, callers, watcher=None):
        super().__init__()
        self.calls, self.callers, self.watcher = calls, callers, watcher

    def getChild(self, name, request):
        """Each known endpoint name is a leaf; anything else is 404."""
        if name == b"":
            return self
        if name == b"hateoas":
            return HateoasResource(self.calls, self.callers)
        if name.decode("ascii", "replace") in json_api.ENTRIES:
            return json_api.JsonEntryResource(name.decode("ascii"), self.calls, self.callers)
        try:
            method, handler = ENDPOINTS[name.decode("ascii")]
        except (KeyError, UnicodeDecodeError):
            return pages.notFound("No such SLAP call", "This master does not serve it.")
        return EndpointResource(name, method, handler, self.calls, self.callers, self.watcher)

    def render_GET(self, request):
        """The bare master URL answers with the list of calls served."""
        request.setHeader(b"Content-Type", TEXT)
        return ("\n".join(sorted(ENDPOINTS) + sorted(json_api.ENTRIES)) + "\n").encode()


def refusal(request, status, code, message):
    """What the guard refuses, as SLAP answers errors: a status and a line of text (a JSON
    error document for an entry of the JSON API)."""
    entry = request.postpath[0].decode("ascii", "replace") if request.postpath else ""
    if entry in json_api.ENTRIES:
        return json_api.JsonEntryResource.error(request, status, message)
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", TEXT)
    return message.encode("utf-8")
