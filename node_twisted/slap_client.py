"""An asynchronous SLAP client: the node's calls to its master over HTTP(S) (spec section 2).

Requests go through ``twisted.web.client.Agent``; replies and form fields are (de)coded with the
project's own marshaller (``protocols.slap_wire.marshal``) and instance XML (``protocols.slap_wire.instance_xml``).
Statuses map as upstream's ``ConnectionHelper`` maps them: 404 is :class:`NotFound`, 408
:class:`NotReady`, 5xx and connection failures :class:`MasterUnreachable` (the node goes offline
and keeps its instances running), any other non-2xx :class:`MasterRefused`. Over HTTPS the node
presents its computer certificate and, given ``master_ca_file``, checks the master's certificate
against that CA (upstream's library does not); a failed TLS handshake (our certificate revoked or
of another CA, the master's not matching the CA) is :class:`HandshakeFailed`, a refusal.
"""

import io
import os
from urllib.parse import urlencode, urljoin, urlsplit

from OpenSSL import SSL
from twisted.internet import defer, ssl
from twisted.web import client, http_headers, iweb
from zope.interface import implementer

from node_twisted.http_body import read_body
from protocols.slap_wire import marshal as slap_marshal

USER_AGENT = b"slapos.core/1.26.1 (slapgate node)"
UNREACHABLE_STATUSES = {500, 502, 503, 520, 523, 524, 526}


def clip(text, size, keep="start"):
    """``text`` cut to about ``size`` characters with a marker saying how much went (its start
    or its end kept), so a cut line never passes for the whole answer."""
    if len(text) <= size:
        return text
    cut = len(text) - size
    if keep == "end":
        return "[%d characters cut] %s" % (cut, text[-size:])
    return "%s [%d characters cut]" % (text[:size], cut)


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

    def __init__(self, status, body, hint=""):
        super().__init__("HTTP %d: %s%s" % (status, clip(body.decode("utf-8", "replace"), 500),
                                            hint))
        self.status = status


class Throttled(SlapClientError):
    """The master answered 429: this node asks too often; ``retry_after`` seconds to wait."""

    def __init__(self, message, retry_after):
        super().__init__(message)
        self.retry_after = retry_after


DEFAULT_RETRY_AFTER = 60


def retry_after_seconds(value):
    """Seconds a ``Retry-After`` value (delay-seconds; an HTTP date is read as the default)
    asks for, at least 1 and at most an hour."""
    try:
        seconds = int(value.strip())
    except (AttributeError, ValueError):
        seconds = DEFAULT_RETRY_AFTER
    return min(max(seconds, 1), 3600)


class HandshakeFailed(SlapClientError):
    """The TLS handshake with the master failed: a refusal of our certificate, or theirs."""


class CredentialsError(SlapClientError):
    """The node's key, certificate or CA file cannot be read."""


def _read_pem(path, what):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise CredentialsError("cannot read the %s %s: %s" % (what, path, error.strerror)) \
            from None


def _stamp(path):
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino


@implementer(iweb.IPolicyForHTTPS)
class _ClientCertificatePolicy:
    """TLS with the node's certificate; the master's is checked against ``ca_file`` when given
    (hostname included), else not at all (as upstream's client).

    The files are read again when they change, so a renewed or corrected certificate is used
    from the next connection on without restarting the node.
    """

    def __init__(self, key_file, cert_file, ca_file=None):
        self.files = (key_file, cert_file, ca_file)
        self.stamps = None
        self._load()

    def _load(self):
        key_file, cert_file, ca_file = self.files
        stamps = tuple(_stamp(path) if path else None for path in self.files)
        if stamps == self.stamps:
            return
        pem = _read_pem(cert_file, "certificate") + b"\n" + _read_pem(key_file, "key")
        try:
            certificate = ssl.PrivateCertificate.loadPEM(pem)
            authority = ssl.Certificate.loadPEM(_read_pem(ca_file, "master CA file")) \
                if ca_file else None
        except (SSL.Error, ValueError) as error:
            raise CredentialsError("unusable key_file/cert_file/master_ca_file (%s, %s, %s): %s"
                                   % (key_file, cert_file, ca_file, _ssl_reasons(error))) from None
        self.certificate, self.authority = certificate, authority
        subject = certificate.getSubject()
        self.subject = "%s %s" % (subject.organizationalUnitName or "certificate",
                                  subject.commonName or "?")
        self.unchecked = None if authority else certificate.options()
        self.stamps = stamps

    def creatorForNetloc(self, hostname, port):
        """The TLS connection creator for ``hostname``."""
        self._load()
        if self.authority is None:
            return self.unchecked
        return ssl.optionsForClientTLS(hostname.decode("ascii"), trustRoot=self.authority,
                                       clientCertificate=self.certificate)


def _ssl_reasons(error):
    """The reasons an OpenSSL error gives, as one line."""
    details = error.args[0] if error.args else None
    if isinstance(details, list) and details and all(isinstance(d, tuple) for d in details):
        return "; ".join(str(d[-1]) for d in details if d[-1]) or str(error)
    return str(error) or type(error).__name__


def _tls_problem(error):
    """The TLS failure inside a connection or response error, as text; None when not TLS."""
    seen, pending = set(), [error]
    while pending:
        current = pending.pop()
        current = getattr(current, "value", current)  # a Failure
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, SSL.Error):
            return _ssl_reasons(current)
        if type(current).__name__ == "VerificationError":  # service_identity: wrong host name
            return "the master's certificate does not name this host: %s" % (current,)
        pending.extend(getattr(current, "reasons", None) or [])
        pending.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        pending.append(current.__cause__)
        pending.append(current.__context__)
    return None


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


class QuietClientFactory(client._HTTP11ClientFactory):
    """The pool's connection factory without a log line for every connection it opens."""

    noisy = False


class SlapClient:
    """The SLAP calls a node makes, each returning a Deferred."""

    def __init__(self, reactor, master_url, computer_id, key_file=None, cert_file=None,
                 timeout=60, ca_file=None):
        self.reactor = reactor
        self.base = master_url if master_url.endswith("/") else master_url + "/"
        self.computer_id = computer_id
        self.timeout = timeout
        self.policy = None
        pool = client.HTTPConnectionPool(reactor, persistent=False)
        pool._factory = QuietClientFactory  # no "Starting factory" line per request
        if urlsplit(self.base).scheme == "https":
            self.policy = _ClientCertificatePolicy(key_file, cert_file, ca_file)
            self.agent = client.Agent(reactor, contextFactory=self.policy, pool=pool,
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
        except CredentialsError:
            raise
        except Exception as error:  # connection refused, reset, DNS, TLS...
            problem = _tls_problem(error)
            if problem is not None:
                raise HandshakeFailed(
                    "%s %s: TLS handshake with the master failed: %s (is the node's certificate "
                    "revoked or of another CA, or the master's not of master_ca_file?)"
                    % (method.decode(), url, problem)) from None
            raise MasterUnreachable("%s %s: %s" % (method.decode(), url, error)) from None
        status = response.code
        if 200 <= status < 300:
            return data
        if status == 404:
            raise NotFound("%s %s: %s" % (method.decode(), path, clip(data.decode(
                "utf-8", "replace"), 300)))
        if status == 408:
            raise NotReady("%s %s: not ready" % (method.decode(), path))
        if status == 429:
            values = response.headers.getRawHeaders(b"Retry-After") or [b""]
            wait = retry_after_seconds(values[0].decode("ascii", "replace"))
            raise Throttled("%s %s: HTTP 429, the master asks this node to wait %d s: %s" % (
                method.decode(), path, wait, clip(data.decode("utf-8", "replace"), 300)), wait)
        if status in UNREACHABLE_STATUSES or status >= 500:
            raise MasterUnreachable("%s %s: HTTP %d" % (method.decode(), path, status))
        hint = ""
        if status in (401, 403) and self.policy is not None:
            hint = " (this node presents the certificate of %s)" % self.policy.subject
        raise MasterRefused(status, data, hint)

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

    @defer.inlineCallbacks
    def partition_certificate(self, partition):
        """The partition's key and certificate, ``{"certificate": PEM, "key": PEM}``
        (``getComputerPartitionCertificate``)."""
        data = yield self.get("getComputerPartitionCertificate", computer_id=self.computer_id,
                              computer_partition_id=partition)
        try:
            pair = slap_marshal.loads(data)
        except slap_marshal.MarshalError as error:
            raise MasterRefused(200, b"unreadable partition certificate: "
                                + str(error).encode()) from None
        if not isinstance(pair, dict) or not all(
                isinstance(pair.get(name), str) and pair[name] for name in ("certificate", "key")):
            raise MasterRefused(200, b"the partition certificate is not a certificate and key")
        return pair

    def partition_related_instances(self, partition, titles):
        """Tell the master which instances the partition requested during its run."""
        return self._partition_post("updateComputerPartitionRelatedInstanceList", partition,
                                    instance_reference_xml=slap_marshal.dumps(list(titles)))
