"""Configuration of ``slapgate master``: an INI file (section ``[master]``) overridden by flags."""

import configparser
from dataclasses import dataclass, field
from ipaddress import ip_address

from gateway.guard import DEFAULT_MAX_BODY
from gateway.settings import ConfigError  # raised by load(); importable from here
from slap_core.poll_limit import DEFAULT_PER_MINUTE
from slap_core.tickets import DEFAULT_ATTACHMENT_LIMIT, MAX_ATTACHMENT_LIMIT

DEFAULT_LISTEN = "127.0.0.1:8080"


@dataclass
class MasterConfig:
    """Settings of one master process.

    ``listen``: ``HOST:PORT`` addresses (``[::1]:8080`` for IPv6); ``database``: an SQLAlchemy URL
    or an SQLite file path; ``state_dir``: where the master keeps files of its own (the first
    admin's password); ``thread_pool_size``: threads for database work; ``insecure_loopback``:
    believe SLAP callers without authentication, as slapproxy (only on loopback addresses);
    ``allocation_interval``: seconds between passes placing waiting instances (0: never);
    ``listen_tls``: ``HOST:PORT`` addresses served over HTTPS with the master's certificate,
    asking for (not requiring) client certificates of its CA; ``certificate_days``: how long the
    client certificates the CA issues are valid; ``crl_refresh_interval``: seconds between two
    reads of the revoked certificates for the TLS handshake's CRL (revocations made by another
    process; this one's apply at once). The CA itself lives in ``<state_dir>/ca``.
    ``invoice_interval``: seconds between two checks whether the month just closed is to be
    invoiced (0: never; admins still run ``invoice.generate``); ``invoice_delay``: seconds after
    a month's end before it is invoiced (usage of its last day reaches the master meanwhile).
    ``max_polls_per_minute``: how often each computer may poll its own information (SLAP
    ``getFullComputerInformation``, REST ``GET /computers/{c}/information``...) before it is
    answered 429 with ``Retry-After`` (0: no limit).
    ``monitor_interval``: seconds between two monitoring passes (0: none), which open a
    monitoring ticket for a tree whose instance stays in error ``monitor_error_delay`` seconds
    and a computer silent ``monitor_silence_delay`` seconds (0: never), and close tickets
    waiting ``ticket_idle_close`` seconds for their customer (0: never).
    ``max_body``: the largest request body any face takes, in bytes (no more is ever kept in
    memory; SyncML's messages are smaller still).
    ``ticket_attachment_limit``: the largest file a support ticket's message may carry, in bytes
    (at most 3,000,000: its base64 text must fit a 4 MiB request body).
    ``ldap``: :class:`gateway.ldap_auth.LdapSettings` from an ``[ldap]`` section (logins are
    then checked against that directory instead of local users); ``oidc``:
    :class:`gateway.oidc.OidcSettings` from an ``[oidc]`` section (the provider's bearer tokens
    are accepted, and browsers log in at ``/auth/login``).
    ``signup``: :class:`gateway.mail.SignupSection` from a ``[signup]`` section (sign-up is
    closed without one); ``smtp``: :class:`gateway.mail.SmtpSettings` from an ``[smtp]``
    section (the master sends mail, and sign-ups confirm their address, only with one).
    """

    listen: list = field(default_factory=lambda: [DEFAULT_LISTEN])
    database: str = "var/slapgate.sqlite"
    state_dir: str = "var"
    thread_pool_size: int = 10
    admin_login: str = "admin"
    insecure_loopback: bool = False
    allocation_interval: float = 10.0
    invoice_interval: float = 3600.0
    invoice_delay: float = 86400.0
    listen_tls: list = field(default_factory=list)
    certificate_days: int = 365
    crl_refresh_interval: float = 10.0
    max_polls_per_minute: int = DEFAULT_PER_MINUTE
    ticket_attachment_limit: int = DEFAULT_ATTACHMENT_LIMIT
    max_body: int = DEFAULT_MAX_BODY
    monitor_interval: float = 300.0
    monitor_error_delay: float = 3600.0
    monitor_silence_delay: float = 3600.0
    ticket_idle_close: float = 30 * 86400.0
    ldap: object = None
    oidc: object = None
    signup: object = None
    smtp: object = None


def parse_listen(value):
    """``HOST:PORT`` -> (host, port); ``[v6]:PORT`` for IPv6 hosts."""
    value = value.strip()
    if value.startswith("["):
        host, sep, port = value[1:].partition("]:")
    else:
        host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError("listen address %r is not HOST:PORT" % (value,))
    try:
        ip_address(host)
    except ValueError:
        if host != "localhost":
            raise ConfigError("listen host %r is not an IP address" % (host,)) from None
    return host, int(port)


def load(path=None, **overrides):
    """Read ``path`` (if given), then apply the non-None ``overrides``; returns a MasterConfig."""
    config = MasterConfig()
    if path is not None:
        parser = configparser.ConfigParser()
        if not parser.read(path):
            raise ConfigError("cannot read configuration file %s" % (path,))
        if parser.has_section("master"):
            section = parser["master"]
            if "listen" in section:
                config.listen = section["listen"].split()
            if "listen_tls" in section:
                config.listen_tls = section["listen_tls"].split()
            try:
                config.certificate_days = section.getint("certificate_days",
                                                         config.certificate_days)
            except ValueError:
                raise ConfigError("certificate_days is a number of days") from None
            try:
                config.crl_refresh_interval = section.getfloat(
                    "crl_refresh_interval", config.crl_refresh_interval)
            except ValueError:
                raise ConfigError("crl_refresh_interval is a number of seconds") from None
            config.database = section.get("database", config.database)
            config.state_dir = section.get("state_dir", config.state_dir)
            config.admin_login = section.get("admin_login", config.admin_login)
            try:
                config.insecure_loopback = section.getboolean("insecure_loopback",
                                                              config.insecure_loopback)
            except ValueError:
                raise ConfigError("insecure_loopback is true or false") from None
            try:
                config.allocation_interval = section.getfloat("allocation_interval",
                                                              config.allocation_interval)
            except ValueError:
                raise ConfigError("allocation_interval is a number of seconds") from None
            for name in ("invoice_interval", "invoice_delay", "monitor_interval",
                         "monitor_error_delay", "monitor_silence_delay", "ticket_idle_close"):
                try:
                    setattr(config, name, section.getfloat(name, getattr(config, name)))
                except ValueError:
                    raise ConfigError("%s is a number of seconds" % name) from None
            try:
                config.max_polls_per_minute = section.getint("max_polls_per_minute",
                                                             config.max_polls_per_minute)
            except ValueError:
                raise ConfigError("max_polls_per_minute is a number (0: no limit)") from None
            try:
                config.max_body = section.getint("max_body", config.max_body)
            except ValueError:
                raise ConfigError("max_body is a number of bytes") from None
            try:
                config.ticket_attachment_limit = section.getint(
                    "ticket_attachment_limit", config.ticket_attachment_limit)
            except ValueError:
                raise ConfigError("ticket_attachment_limit is a number of bytes") from None
            try:
                config.thread_pool_size = section.getint("thread_pool_size",
                                                         config.thread_pool_size)
            except ValueError:
                raise ConfigError("thread_pool_size is a number") from None
        if parser.has_section("ldap"):
            from gateway.ldap_auth import settings_from

            config.ldap = settings_from(parser["ldap"])
        if parser.has_section("signup"):
            from gateway.mail import signup_settings_from

            config.signup = signup_settings_from(parser["signup"])
        if parser.has_section("smtp"):
            from gateway.mail import smtp_settings_from

            config.smtp = smtp_settings_from(parser["smtp"])
        if parser.has_section("oidc"):
            from gateway.oidc import settings_from as oidc_settings_from

            config.oidc = oidc_settings_from(parser["oidc"])
    for key, value in overrides.items():
        if value is not None:
            setattr(config, key, value)
    for address in config.listen + config.listen_tls:
        parse_listen(address)
    if config.certificate_days < 1:
        raise ConfigError("certificate_days is at least 1")
    if config.invoice_interval < 0 or config.invoice_delay < 0:
        raise ConfigError("invoice_interval and invoice_delay are seconds, not negative")
    for name in ("monitor_interval", "monitor_error_delay", "monitor_silence_delay",
                 "ticket_idle_close"):
        if not 0 <= getattr(config, name) <= 3650 * 86400:
            raise ConfigError("%s is seconds, from 0 (never) to 10 years" % name)
    if config.crl_refresh_interval <= 0:
        raise ConfigError("crl_refresh_interval is a positive number of seconds")
    if config.max_polls_per_minute < 0:
        raise ConfigError("max_polls_per_minute is 0 (no limit) or more")
    if not 64 * 1024 <= config.max_body <= 1024 ** 3:
        raise ConfigError("max_body is 65536 to 1073741824 bytes")
    if not 0 <= config.ticket_attachment_limit <= MAX_ATTACHMENT_LIMIT:
        raise ConfigError("ticket_attachment_limit is 0 (no attachments) to %d bytes"
                          % MAX_ATTACHMENT_LIMIT)
    if config.thread_pool_size < 1:
        raise ConfigError("thread_pool_size is at least 1")
    if config.insecure_loopback:
        for address in config.listen + config.listen_tls:
            if not is_loopback(parse_listen(address)[0]):
                raise ConfigError("--insecure-loopback refuses to listen on %s: every listen "
                                  "address must be a loopback address" % (address,))
    return config


def is_loopback(host):
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    return ip_address(host).is_loopback
