"""LDAP login: HTTP Basic credentials checked against a company directory with ldap3.

A login is found with a search (as a service account, or anonymously), the password is checked by
binding as the entry found, and the entry's groups become slapgate roles by configuration. A
local account (a person with a local password) is checked first and never waits on the
directory. Every directory exchange runs in the directory's own small thread pool with timeouts;
a directory that does not answer is :class:`slap_core.errors.Unavailable` (503 in HTTP
adaptors), never an allow, and its message names no library. Successful logins are remembered
for ``cache_ttl`` seconds (0: never).
"""

import math
import threading
import time
from dataclasses import dataclass, field

from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from gateway.auth import BasicAuthenticator, LocalPasswordAuthenticator
from gateway.settings import ConfigError, roles_from
from slap_core import errors
from slap_core.principals import User

# Threads that may wait on the directory at once; more logins queue for them.
DIRECTORY_THREADS = 4
log = Logger()


@dataclass
class LdapSettings:
    """How to reach the directory and read people and groups from it.

    ``url``: ``ldap://host:port`` or ``ldaps://``; ``bind_dn``/``bind_password``: the service
    account that searches (empty: anonymous search); ``user_base`` and ``user_filter`` (``{login}``
    is replaced by the escaped login); ``group_base`` and ``group_filter`` (``{dn}`` is the
    person's escaped DN); ``roles``: group DN (lower case) -> slapgate role; ``default_role``: the
    role of a person in none of those groups (empty: such a person is refused); ``timeout``:
    seconds for connecting and for each answer; ``cache_ttl``: seconds a successful login is
    remembered.
    """

    url: str
    user_base: str
    bind_dn: str = ""
    bind_password: str = ""
    user_filter: str = "(uid={login})"
    group_base: str = ""
    group_filter: str = "(member={dn})"
    roles: dict = field(default_factory=dict)
    default_role: str = "user"
    timeout: float = 5.0
    cache_ttl: float = 60.0
    login_attribute: str = "uid"


def settings_from(section):
    """LdapSettings from a configparser section ``[ldap]`` (``role.<name> = group DN`` lines)."""
    if not section.get("url") or not section.get("user_base"):
        raise ConfigError("[ldap] needs url and user_base")
    roles, default_role = roles_from(section, "ldap", lambda dn: dn.strip().lower())
    try:
        timeout = float(section.get("timeout", "5"))
        cache_ttl = float(section.get("cache_ttl", "60"))
    except ValueError:
        raise ConfigError("[ldap] timeout and cache_ttl are numbers of seconds") from None
    if timeout <= 0 or cache_ttl < 0:
        raise ConfigError("[ldap] timeout is positive and cache_ttl not negative")
    return LdapSettings(
        url=section["url"], user_base=section["user_base"],
        bind_dn=section.get("bind_dn", ""), bind_password=section.get("bind_password", ""),
        user_filter=section.get("user_filter", "(uid={login})"),
        group_base=section.get("group_base", ""),
        group_filter=section.get("group_filter", "(member={dn})"),
        roles=roles, default_role=default_role, timeout=timeout, cache_ttl=cache_ttl,
        login_attribute=section.get("login_attribute", "uid"))


class LdapDirectory:
    """The blocking exchanges with the directory (call them from a thread)."""

    def __init__(self, settings):
        self.settings = settings

    def _connection(self, user=None, password=None):
        import ldap3

        # ldap3 packs its socket timeouts as whole seconds (a float fails in struct.pack).
        timeout = max(1, math.ceil(self.settings.timeout))
        server = ldap3.Server(self.settings.url, connect_timeout=timeout, get_info=ldap3.NONE)
        return ldap3.Connection(server, user=user or None, password=password or None,
                                receive_timeout=timeout, raise_exceptions=True,
                                auto_bind=ldap3.AUTO_BIND_NO_TLS, read_only=True)

    def authenticate(self, login, password):
        """(login, full name, email, roles) of a person whose password is right.

        Unauthenticated for an unknown login, a wrong or empty password (an empty password would
        be an anonymous bind, which proves nothing), or a person with no role; Unavailable when
        the directory cannot be reached or answers too slowly.
        """
        from ldap3.core import exceptions as ldap_errors
        from ldap3.utils.conv import escape_filter_chars

        if not login or not password:
            raise errors.Unauthenticated("login and password are required")
        settings = self.settings
        try:
            searcher = self._connection(settings.bind_dn, settings.bind_password)
            try:
                searcher.search(settings.user_base,
                                settings.user_filter.replace("{login}", escape_filter_chars(login)),
                                attributes=["cn", "mail", settings.login_attribute], size_limit=2)
                entries = list(searcher.entries)
                if len(entries) != 1:
                    raise errors.Unauthenticated("wrong login or password")
                entry = entries[0]
                dn = entry.entry_dn
                try:
                    self._connection(dn, password).unbind()
                except ldap_errors.LDAPInvalidCredentialsResult:
                    raise errors.Unauthenticated("wrong login or password") from None
                groups = set()
                if settings.group_base:
                    searcher.search(settings.group_base,
                                    settings.group_filter.replace("{dn}",
                                                                  escape_filter_chars(dn)),
                                    attributes=[])
                    groups = {group.entry_dn.lower() for group in searcher.entries}
            finally:
                searcher.unbind()
        except errors.SlapError:
            raise
        except ldap_errors.LDAPInvalidCredentialsResult:
            raise errors.Unavailable("the directory refused slapgate's service account") from None
        except (ldap_errors.LDAPSocketOpenError, ldap_errors.LDAPSocketReceiveError,
                ldap_errors.LDAPSessionTerminatedByServerError,
                ldap_errors.LDAPCommunicationError, ldap_errors.LDAPResponseTimeoutError,
                ldap_errors.LDAPSocketSendError, ldap_errors.LDAPBusyResult,
                ldap_errors.LDAPUnavailableResult, OSError) as error:
            log.warn("the directory did not answer: {error!r}", error=error)
            raise errors.Unavailable("the directory did not answer; try again later") from None
        except ldap_errors.LDAPException as error:
            log.warn("the directory answered with an error: {error!r}", error=error)
            raise errors.Unavailable("the directory answered with an error; try again later") \
                from None
        roles = {settings.roles[group] for group in groups if group in settings.roles}
        if not roles:
            if not settings.default_role:
                raise errors.Forbidden("%s is in none of the directory groups slapgate maps"
                                       % login)
            roles = {settings.default_role}
        name = _first(entry, "cn")
        mail = _first(entry, "mail")
        canonical = _first(entry, settings.login_attribute) or login
        return canonical, name, mail, roles


def _first(entry, attribute):
    try:
        values = entry[attribute].values
    except Exception:  # ldap3 raises its own errors for attributes the entry lacks
        return ""
    return str(values[0]) if values else ""


def _daemon_thread(*args, **kwargs):
    return threading.Thread(*args, daemon=True, **kwargs)


class _DirectoryPool(ThreadPool):
    """A thread pool whose threads do not hold the process at exit: a thread still waiting on
    a hung directory is abandoned (the reactor's shutdown stops the pool otherwise)."""

    threadFactory = staticmethod(_daemon_thread)


class LdapAuthenticator(BasicAuthenticator):
    """HTTP Basic against local accounts first, then the directory: the same interface as
    LocalPasswordAuthenticator.

    A local account whose password matches never waits on the directory. Directory exchanges run
    in a pool of their own (DIRECTORY_THREADS threads), so a directory that hangs holds those
    threads only: the pool every other request needs (the core's calls, tokens, certificates,
    sessions, /health) stays free. SOAP's blocking path (its WSGI thread) still asks the directory
    from that thread.
    """

    def __init__(self, calls, settings, clock=time.monotonic, max_entries=10000):
        super().__init__(calls, settings.cache_ttl, clock, max_entries)
        self.directory = LdapDirectory(settings)
        self.local = LocalPasswordAuthenticator(calls, ttl=0)
        self._pool = None

    def check(self, login, password):
        """The local account, else the directory's person with their roles (blocking)."""
        try:
            return self.local.check(login, password)
        except errors.Unauthenticated:
            return self._directory_user(login, password)

    def check_deferred(self, login, password):
        """The local account (the core's pool), else the directory (its own pool)."""
        def not_local(failure):
            failure.trap(errors.Unauthenticated)
            return deferToThreadPool(self.calls.reactor, self.pool(), self._directory_user,
                                     login, password)

        return self.local.check_deferred(login, password).addErrback(not_local)

    def pool(self):
        """The directory's own thread pool, started on first use, stopped with the reactor."""
        if self._pool is None:
            self._pool = _DirectoryPool(0, DIRECTORY_THREADS, "slapgate-directory")
            self._pool.start()
            self.calls.reactor.addSystemEventTrigger("during", "shutdown", self._pool.stop)
        return self._pool

    def stop(self):
        """Stop the directory's pool (its idle threads end; the master is stopping)."""
        if self._pool is not None and self._pool.started:
            self._pool.stop()

    def _directory_user(self, login, password):
        canonical, _name, _mail, roles = self.directory.authenticate(login, password)
        return User(canonical, roles=roles)
