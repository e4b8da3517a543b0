"""The CRL at the TLS handshake: revoked client certificates fail it, without a restart.

The TLS ports serve with :class:`CrlCheckingOptions`, whose OpenSSL context checks every client
certificate against the CA's current revocation list (``X509_V_FLAG_CRL_CHECK``).
:class:`RevocationList` keeps that list equal to the database's: it builds a new context, hence
a new certificate store, when the set of revoked serials changes (connections already open keep
theirs; sessions are not resumed across contexts), so a revoked certificate fails the handshake
of its next connection. It learns of revocations in two ways: at once when ``certificate.revoke``
commits in this process (whatever adaptor called it: SLAP ``revokeComputerCertificate``, the JSON
API, XML-RPC, SOAP, REST), and by reading the list every ``crl_refresh_interval`` seconds (10
by default) for revocations made elsewhere (``slapgate admin cert revoke`` works on the database
directly). The per-request database lookup (``certificate.authenticate``) stays as the second
line.
"""

import threading
import time

from cryptography import x509
from OpenSSL import crypto
from twisted.internet import ssl
from twisted.logger import Logger

from slap_core.principals import Anonymous

log = Logger()
# Operations after which the revocation list is read again at once.
REVOKING_OPERATIONS = frozenset({"certificate.revoke"})
# A list is signed again after this many seconds even when unchanged (it is valid 7 days).
MAX_AGE = 86400.0


class CrlCheckingOptions(ssl.CertificateOptions):
    """Server TLS options whose client certificate check includes a CRL, swappable at run time.

    Until :meth:`use_crl` is called they behave as plain ``CertificateOptions``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.crl = None

    def _context_with(self, crl):
        context = self._makeContext()
        store = context.get_cert_store()
        store.add_crl(crl)
        store.set_flags(crypto.X509StoreFlags.CRL_CHECK)
        return context

    def use_crl(self, crl):
        """Check client certificates against ``crl`` (a ``cryptography`` CRL) from the next
        connection on. May be called from any thread: the new context is built, then swapped in.
        """
        context = self._context_with(crl)
        self.crl, self._context = crl, context

    def getContext(self):
        """The current context (made with the current CRL)."""
        context = self._context
        if context is None:
            context = self._context_with(self.crl) if self.crl is not None \
                else self._makeContext()
            self._context = context
        return context


class RevocationList:
    """Keeps a :class:`CrlCheckingOptions`' CRL equal to the revoked certificates of a master."""

    def __init__(self, master, authority, options, max_age=MAX_AGE):
        self.master = master
        self.authority = authority
        self.options = options
        self.max_age = max_age
        self.serials = None
        self.signed_at = 0.0
        self.pending = None
        self._lock = threading.Lock()

    def refresh(self):
        """Read the revoked certificates; sign and install a new CRL when they changed (or the
        current one is old). Blocking: call it from a thread. Whether a new CRL was installed."""
        with self._lock:
            revoked = self.master.call("certificate.revoked_list", Anonymous())
            serials = frozenset(entry.serial for entry in revoked)
            if serials == self.serials and time.time() - self.signed_at < self.max_age:
                return False
            crl = x509.load_pem_x509_crl(self.authority.crl(revoked))
            self.options.use_crl(crl)
            if self.serials is not None:
                log.info("TLS revocation list now holds {count} certificate(s)",
                         count=len(serials))
            self.serials, self.signed_at = serials, time.time()
            return True

    def operation_done(self, name):
        """A master listener: refresh at once after a revocation, before its caller is answered."""
        if name in REVOKING_OPERATIONS:
            self.refresh()

    def refresh_in_thread(self, calls):
        """:meth:`refresh` in the thread pool of ``calls`` (a CoreCalls); failures are logged.

        The Deferred is kept in ``pending`` until it fires, so that stopping the master can wait
        for it before closing the database.
        """
        result = calls.run(self.refresh)
        result.addErrback(lambda failure: log.failure("reading the revocation list failed",
                                                      failure))
        self.pending = result

        def done(value):
            self.pending = None
            return value

        result.addBoth(done)
        return result
