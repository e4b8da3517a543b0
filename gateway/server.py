"""Starting and stopping a master: database, first admin, thread pool, listening ports, logs."""

import os
import secrets
from pathlib import Path

from twisted.internet import defer, task
from twisted.logger import Logger

from gateway.ca import CertificateAuthority
from gateway.config import parse_listen
from gateway.core_calls import CoreCalls
from gateway.invoicing import InvoiceLoop
from gateway.mail import Mailer
from gateway.site import build_site
from gateway.ticket_loop import MonitorLoop
from gateway.tls_revocation import RevocationList
from gateway.version import VERSION
from protocols.slap import LoopbackCallers
from slap_core import errors
from slap_core.master import Master
from slap_core.poll_limit import PollLimit
from slap_core.principals import User
from slap_core.signups import SIGNUP, SignupSettings

log = Logger()


def local_admin(login="admin"):
    """The principal of trusted local tools (the admin CLI, the master's own bootstrap)."""
    return User(login, roles={"admin"})


def ensure_admin(master, state_dir, login="admin"):
    """Create the first admin with a random password on first start; returns (login, password).

    The password is kept in ``<state_dir>/admin-password`` (mode 0600) so that it can be printed
    again; it is None when the admin exists but that file does not.
    """
    password_file = Path(state_dir) / "admin-password"
    password = secrets.token_urlsafe(12)
    try:
        master.call("person.create", local_admin(login), login=login, roles=["admin"],
                    password=password)
    except errors.Conflict:
        pass
    else:
        password_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        return login, password
    if password_file.exists():
        return login, password_file.read_text().strip()
    return login, None


def allocate_pending(calls, admin):
    """One pass of the allocation loop; a failure is logged and the loop goes on."""

    def placed(count):
        if count:
            log.info("placed {count} waiting instance(s)", count=count)

    result = calls.call("instance.allocate_pending", admin)
    result.addCallbacks(placed, lambda failure: log.failure("allocation pass failed", failure))
    return result


class RunningMaster:
    """A master serving on its ports; ``stop()`` closes them and the database."""

    def __init__(self, master, site, ports, credentials, allocation=None, tls_ports=(),
                 authority=None, revocations=None):
        self.master = master
        self.site = site
        self.ports = list(ports) + list(tls_ports)
        self.tls_ports = list(tls_ports)
        self.credentials = credentials
        self.allocation = allocation
        self.authority = authority
        # (RevocationList, its LoopingCall) when serving TLS
        self.revocations = revocations
        self.invoicing = None  # the InvoiceLoop, when the master invoices by itself
        self.monitoring = None  # the MonitorLoop, when the master runs monitoring passes
        self.mailer = None  # the Mailer, when the master sends mail

    def urls(self):
        """The base URL of every listening port (``https://`` for the TLS ones)."""
        result = []
        for port in self.ports:
            address = port.getHost()
            host = "[%s]" % address.host if ":" in address.host else address.host
            scheme = "https" if port in self.tls_ports else "http"
            result.append("%s://%s:%d/" % (scheme, host, address.port))
        return result

    def https_urls(self):
        """The base URL of every HTTPS port."""
        return [url for url in self.urls() if url.startswith("https:")]

    @defer.inlineCallbacks
    def stop(self):
        """Stop listening and allocating, then release the database."""
        if self.allocation is not None and self.allocation.running:
            self.allocation.stop()
        if self.invoicing is not None:
            self.invoicing.stop()
        if self.monitoring is not None:
            self.monitoring.stop()
        if self.mailer is not None:
            yield self.mailer.stop()
        if self.revocations is not None:
            revocation_list, refresh = self.revocations
            if refresh.running:
                refresh.stop()
            if revocation_list.pending is not None:
                yield revocation_list.pending
        watcher = getattr(self.site, "watcher", None)
        if watcher is not None:
            watcher.stop()
        directory = getattr(self.site, "directory", None)
        if directory is not None:
            directory.stop()
        yield defer.gatherResults([defer.maybeDeferred(p.stopListening) for p in self.ports])
        self.master.close()


def open_authority(config):
    """The master's CA in ``<state_dir>/ca``, made on first use."""
    return CertificateAuthority.open(Path(config.state_dir) / "ca", days=config.certificate_days)


def signup_settings(config, urls=()):
    """The core's SignupSettings for ``config`` (its [signup] and [smtp] sections); the mailed
    links point to ``public_url``, else to the first of ``urls``."""
    section = config.signup
    if section is None:
        return None
    return SignupSettings(mode=section.mode, mail=config.smtp is not None,
                          public_url=section.public_url or (list(urls) or [""])[0],
                          per_hour=section.per_hour)


def start_master(reactor, config):
    """Open the database (migrating it), listen on every configured address; a RunningMaster.

    Blocking start-up work (migrations, the first admin) happens before the reactor serves
    anything, so no request can meet a half-built schema.
    """
    Path(config.state_dir).mkdir(parents=True, exist_ok=True)
    database = config.database
    if "://" not in database:
        Path(database).expanduser().absolute().parent.mkdir(parents=True, exist_ok=True)
    authority = open_authority(config)
    master = Master(database, authority=authority,
                    poll_limit=PollLimit(config.max_polls_per_minute),
                    ticket_attachment_limit=config.ticket_attachment_limit)
    master.upgrade()
    credentials = ensure_admin(master, config.state_dir, config.admin_login)
    reactor.suggestThreadPoolSize(config.thread_pool_size)
    slap_callers = LoopbackCallers(local_admin(config.admin_login)) \
        if config.insecure_loopback else None
    calls = CoreCalls(master, reactor)
    site = build_site(calls, slap_callers, ldap=config.ldap, oidc=config.oidc,
                      max_body=config.max_body)
    ports = []
    for address in config.listen:
        host, port = parse_listen(address)
        ports.append(reactor.listenTCP(port, site, interface=host))
    tls_ports, revocations = [], None
    if config.listen_tls:
        options = authority.tls_options([parse_listen(a)[0] for a in config.listen_tls])
        # Revoked client certificates fail the handshake: the CRL is in the TLS context, read
        # again at once after a revocation here, and every crl_refresh_interval seconds for
        # other processes'.
        revocation_list = RevocationList(master, authority, options)
        revocation_list.refresh()
        master.add_listener(revocation_list.operation_done)
        refresh = task.LoopingCall(revocation_list.refresh_in_thread, calls)
        refresh.clock = reactor
        refresh.start(config.crl_refresh_interval, now=False)
        revocations = (revocation_list, refresh)
        for address in config.listen_tls:
            host, port = parse_listen(address)
            tls_ports.append(reactor.listenSSL(port, site, options, interface=host))
    allocation = None
    if config.allocation_interval > 0:
        allocation = task.LoopingCall(allocate_pending, calls, local_admin(config.admin_login))
        allocation.clock = reactor
        allocation.start(config.allocation_interval, now=False)
    running = RunningMaster(master, site, ports, credentials, allocation, tls_ports, authority,
                            revocations)
    if config.invoice_interval > 0:
        running.invoicing = InvoiceLoop(calls, local_admin(config.admin_login),
                                        config.invoice_delay, reactor)
        running.invoicing.start(config.invoice_interval)
    if config.signup is not None:
        master.storage.session_info[SIGNUP] = signup_settings(config, running.urls())
    if config.smtp is not None:
        running.mailer = Mailer(calls, local_admin(config.admin_login), config.smtp, reactor)
        running.mailer.start()
    if config.monitor_interval > 0:
        running.monitoring = MonitorLoop(
            calls, local_admin(config.admin_login), reactor, config.ticket_idle_close,
            config.monitor_error_delay, config.monitor_silence_delay)
        running.monitoring.start(config.monitor_interval)
    for url in running.urls():
        log.info("slapgate {version} master listening on {url}", version=VERSION, url=url)
    return running
