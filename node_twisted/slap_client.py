"""An asynchronous SLAP client: the node's calls to its master over HTTP(S) (spec section 2).

Requests go through ``twisted.web.client.Agent``; replies and form fields are (de)coded with the
project's own marshaller (``protocols.slap_marshal``) and instance XML (``protocols.instance_xml``).
Statuses map as upstream's ``ConnectionHelper`` maps them: 404 is :class:`NotFound`, 408
:class:`NotReady`, 5xx and connection failures :class:`MasterUnreachable` (the node goes offline
and keeps its instances running), any other non-2xx :class:`MasterRefused`.
"""

import io
from urllib.parse import urlencode, urljoin, urlsplit

from twisted.internet import defer, ssl
from twisted.web import client, http_headers, iweb
from zope.interface import implementer

from node_twisted.http_body import read_body
from protocols import slap_marshal

USER_AGENT = b"slapos.core/1.26.1 (slapgate node)"
UNREACHABLE_STATUSES = {500, 502, 503, 520, 523, 524, 526}


class SlapClientError(Exception):
    """A SLAP call that did not succeed."""


class MasterUnreachable(SlapClientError):
    """The master could not be reached or answered with a server error."""


class NotFound(SlapClientError):
    """The master answered 404."""


class NotReady(SlapClientError):
    """The master answered 408 (still processing)."""


class MasterRefused(SlapClientError):
    """The master answered another non-2xx status (400, 401, 403, ...)."""

    def __init__(self, status, body):
        super().__init__("HTTP %d: %s" % (status, body[:500].decode("utf-8", "replace")))
        self.status = status


@implementer(iweb.IPolicyForHTTPS)
class _ClientCertificatePolicy:
    """TLS with the node's certificate; the master's is not verified (as upstream's client)."""

    def __init__(self, key_file, cert_file):
        with open(key_file, "rb") as handle:
            key = handle.read()
        with open(cert_file, "rb") as handle:
            certificate = handle.read()
        self.options = ssl.PrivateCertificate.loadPEM(certificate + b"\n" + key).options()

    def creatorForNetloc(self, hostname, port):
        return self.options


@defer.inlineCallbacks
def tolerated_report(log, call, *args):
    """Make a report whose refusal by the master (a 404 on slapproxy, an unknown supply) is only
    logged; an unreachable master still raises :class:`MasterUnreachable`."""
    try:
        yield call(*args)
    except MasterUnreachable:
        raise
    except SlapClientError as error:
        log.warn("report ignored by the master: {error}", error=error)


class _QuietClientFactory(client._HTTP11ClientFactory):
    """The pool's connection factory without a log line for every connection it opens."""

    noisy = False


class SlapClient:
    """The SLAP calls a node makes, each returning a Deferred."""

    def __init__(self, reactor, master_url, computer_id, key_file=None, cert_file=None,
                 timeout=60):
        self.reactor = reactor
        self.base = master_url if master_url.endswith("/") else master_url + "/"
        self.computer_id = computer_id
        self.timeout = timeout
        pool = client.HTTPConnectionPool(reactor, persistent=False)
        pool._factory = _QuietClientFactory  # no "Starting factory" line per request
        if urlsplit(self.base).scheme == "https":
            policy = _ClientCertificatePolicy(key_file, cert_file)
            self.agent = client.Agent(reactor, contextFactory=policy, pool=pool,
                                      connectTimeout=timeout)
        else:
            self.agent = client.Agent(reactor, pool=pool, connectTimeout=timeout)

    @defer.inlineCallbacks
    def _request(self, method, path, fields, partition=None, wait=0):
        url = urljoin(self.base, path)
        headers = http_headers.Headers({b"Accept": [b"*/*"], b"User-Agent": [USER_AGENT]})
        body = None
        if method == b"GET":
            if fields:
                url += "?" + urlencode(fields)
        else:
            headers.addRawHeader(b"Content-Type", b"application/x-www-form-urlencoded")
            body = client.FileBodyProducer(io.BytesIO(urlencode(fields).encode("utf-8")))
            if partition is not None:
                headers.addRawHeader(b"Authorization", (
                    "X-SlapPartition computer_id=%s, computer_partition_id=%s"
                    % (self.computer_id, partition)).encode("utf-8"))
        try:
            call = self.agent.request(method, url.encode("utf-8"), headers, body)
            call.addTimeout(self.timeout + wait, self.reactor)
            response = yield call
            data = yield read_body(response)
        except defer.TimeoutError:
            raise MasterUnreachable("%s %s: no answer in %d s" % (
                method.decode(), url, self.timeout)) from None
        except Exception as error:  # connection refused, reset, DNS, TLS...
            raise MasterUnreachable("%s %s: %s" % (method.decode(), url, error)) from None
        status = response.code
        if 200 <= status < 300:
            return data
        if status == 404:
            raise NotFound("%s %s: %s" % (method.decode(), path, data[:300].decode(
                "utf-8", "replace")))
        if status == 408:
            raise NotReady("%s %s: not ready" % (method.decode(), path))
        if status in UNREACHABLE_STATUSES or status >= 500:
            raise MasterUnreachable("%s %s: HTTP %d" % (method.decode(), path, status))
        raise MasterRefused(status, data)

    def get(self, path, **fields):
        """GET ``path`` with ``fields`` as the query; the body (bytes)."""
        return self._request(b"GET", path, fields)

    def post(self, path, partition=None, **fields):
        """POST ``fields`` (form-encoded) to ``path``; ``partition`` adds X-SlapPartition auth."""
        return self._request(b"POST", path, fields, partition)

    # -- the computer --------------------------------------------------------------------------

    @defer.inlineCallbacks
    def computer_information(self):
        """The computer as ``getFullComputerInformation`` gives it: a ``SlapObject`` Computer."""
        try:
            data = yield self.get("getFullComputerInformation", computer_id=self.computer_id)
        except NotFound:
            data = yield self.get("getComputerInformation", computer_id=self.computer_id)
        try:
            computer = slap_marshal.loads(data)
        except slap_marshal.MarshalError as error:
            raise MasterRefused(200, b"unreadable computer information: "
                                + str(error).encode()) from None
        if not isinstance(computer, slap_marshal.SlapObject) or computer.class_name != "Computer":
            raise MasterRefused(200, b"the computer information is not a Computer")
        return computer

    @defer.inlineCallbacks
    def watch(self, revision=None, timeout=0):
        """The computer's revision, once it differs from ``revision`` (slapgate's watchComputer).

        Waits at most ``timeout`` seconds. None when the master does not serve the call (an
        upstream master): the caller then falls back to polling.
        """
        fields = {"computer_id": self.computer_id, "timeout": "%g" % timeout}
        if revision is not None:
            fields["revision"] = str(revision)
        try:
            call = self._request(b"GET", "watchComputer", fields, wait=timeout)
            data = yield call
        except NotFound:
            return None
        try:
            return int(data.strip())
        except ValueError:
            return None

    def load_computer_configuration(self, xml):
        """Post what ``format`` laid out, as marshal XML (``loadComputerConfigurationFromXML``)."""
        return self.post("loadComputerConfigurationFromXML", xml=xml)

    def use_computer(self, journal):
        """Send a usage journal (TioXML) with ``useComputer``."""
        return self.post("useComputer", computer_id=self.computer_id, use_string=journal)

    # -- software releases ---------------------------------------------------------------------

    def software_building(self, url):
        """Report a release being built."""
        return self.post("buildingSoftwareRelease", url=url, computer_id=self.computer_id)

    def software_available(self, url):
        """Report a release built."""
        return self.post("availableSoftwareRelease", url=url, computer_id=self.computer_id)

    def software_destroyed(self, url):
        """Report a release removed."""
        return self.post("destroyedSoftwareRelease", url=url, computer_id=self.computer_id)

    def software_error(self, url, log):
        """Report a release that failed to build, with the output tail."""
        return self.post("softwareReleaseError", url=url, computer_id=self.computer_id,
                         error_log=log)

    # -- partitions ----------------------------------------------------------------------------

    def _partition_post(self, path, partition, **fields):
        return self.post(path, partition=partition, computer_id=self.computer_id,
                         computer_partition_id=partition, **fields)

    def partition_started(self, partition):
        """Report the partition deployed and started."""
        return self._partition_post("startedComputerPartition", partition)

    def partition_stopped(self, partition):
        """Report the partition's processes stopped."""
        return self._partition_post("stoppedComputerPartition", partition)

    def partition_destroyed(self, partition):
        """Report the partition wiped."""
        return self._partition_post("destroyedComputerPartition", partition)

    def partition_error(self, partition, log):
        """Report the partition failed to deploy, with the message."""
        return self._partition_post("softwareInstanceError", partition, error_log=log)

    def partition_related_instances(self, partition, titles):
        """Tell the master which instances the partition requested during its run."""
        return self._partition_post("updateComputerPartitionRelatedInstanceList", partition,
                                    instance_reference_xml=slap_marshal.dumps(list(titles)))
