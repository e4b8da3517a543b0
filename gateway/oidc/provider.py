"""The identity provider as slapgate knows it: its discovery document and its signing keys (JWKS),
cached, refreshed when old or when a token names an unknown key id."""

import json
import time

from twisted.internet import defer, threads
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.oidc.fetch import MAX_DOCUMENT, HttpFetcher
from gateway.oidc.tokens import InvalidToken
from slap_core import errors

log = Logger()


class Provider:
    """What slapgate knows of the identity provider: its discovery document and its keys.

    Everything here runs on the reactor thread; ``keys`` is replaced, never mutated, so threads
    may read it.
    """

    def __init__(self, settings, reactor, clock=time.monotonic, fetcher=None):
        self.settings = settings
        self.reactor = reactor
        self.clock = clock
        self.fetcher = fetcher or HttpFetcher(reactor, settings.timeout)
        self.keys = {}
        self.keys_fetched = None
        self._last_attempt = None
        self._metadata = None
        self._pending = None
        self._waiters = []

    @defer.inlineCallbacks
    def metadata(self):
        """Deferred discovery document (fetched once, checked against the configured issuer)."""
        if self._metadata is None:
            document = yield self.fetcher.get_json(self.settings.discovery_url)
            if document.get("issuer") != self.settings.issuer:
                raise errors.Unavailable("the discovery document names issuer %r, not %r"
                                         % (document.get("issuer"), self.settings.issuer))
            self._metadata = document
        return self._metadata

    def cached_key(self, kid, alg):
        """The key for ``kid`` when no fetch is due, else None (safe from any thread)."""
        if self.keys_fetched is None or self.clock() - self.keys_fetched > self.settings.jwks_ttl:
            return None
        return _pick(self.keys, kid, alg)

    @defer.inlineCallbacks
    def key_for(self, kid, alg):
        """Deferred public key for a token's ``kid`` and ``alg`` (fetching keys when due).

        Keys are fetched when there are none yet, when they are older than ``jwks_ttl`` or when
        ``kid`` is unknown (rotation), but never twice within ``refresh_interval`` seconds, so a
        flood of tokens naming unknown keys costs the provider one request. Old keys that have
        the key id are still used when a refresh fails.
        """
        key = self.cached_key(kid, alg)
        if key is not None:
            return key
        due = (self._pending is not None or self._last_attempt is None
               or self.clock() - self._last_attempt >= self.settings.refresh_interval)
        if due:
            try:
                yield self._refresh()
            except errors.Unavailable:
                if _pick(self.keys, kid, alg) is None:
                    raise
                log.warn("using the provider's previous keys: they could not be fetched again")
        elif self.keys_fetched is None:
            raise errors.Unavailable("the identity provider's keys could not be fetched; "
                                     "trying again in a few seconds")
        key = _pick(self.keys, kid, alg)
        if key is None:
            raise InvalidToken("the token is signed with a key the provider does not publish")
        return key

    def _refresh(self):
        """Deferred that fires when one fetch of the keys (shared by concurrent callers) ends."""
        waiter = defer.Deferred()
        self._waiters.append(waiter)
        if self._pending is None:
            self._last_attempt = self.clock()
            self._pending = self._fetch_keys()
            self._pending.addBoth(self._fetched)
        return waiter

    def _fetched(self, result):
        self._pending = None
        waiters, self._waiters = self._waiters, []
        if isinstance(result, Failure):
            for waiter in waiters:
                waiter.errback(result)
            return None
        self.keys = result
        self.keys_fetched = self.clock()
        for waiter in waiters:
            waiter.callback(None)
        return None

    @defer.inlineCallbacks
    def _fetch_keys(self):
        settings = self.settings
        if settings.jwks_file:
            document = yield threads.deferToThreadPool(
                self.reactor, self.reactor.getThreadPool(), _read_json_file, settings.jwks_file)
        else:
            url = settings.jwks_url
            if not url:
                metadata = yield self.metadata()
                url = metadata.get("jwks_uri")
                if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                    raise errors.Unavailable("the discovery document has no jwks_uri")
            document = yield self.fetcher.get_json(url)
        return parse_jwks(document)


def _read_json_file(path):
    try:
        with open(path, "rb") as stream:
            return json.loads(stream.read(MAX_DOCUMENT + 1))
    except (OSError, ValueError) as error:
        raise errors.Unavailable("cannot read the key file %s: %s"
                                 % (path, type(error).__name__)) from None


def parse_jwks(document):
    """{kid or None: joserfc key} of a JWKS document; keys that cannot be used are skipped."""
    from joserfc.jwk import import_key

    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise errors.Unavailable("the provider's key set has no 'keys' list")
    keys = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC", "OKP"):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            key = import_key({k: v for k, v in entry.items()
                              if k not in ("d", "p", "q", "dp", "dq", "qi")})
        except Exception:  # joserfc raises many kinds of errors for a malformed key
            log.warn("skipping a malformed key of the provider's key set")
            continue
        keys[entry.get("kid")] = key
    return keys


def _pick(keys, kid, alg):
    """The key named ``kid``; without a kid, the only key of the algorithm's type."""
    if kid is not None:
        return keys.get(kid)
    kty = {"R": "RSA", "P": "RSA", "E": "EC" if alg.startswith("ES") else "OKP"}[alg[0]]
    matching = [key for key in keys.values() if key.key_type == kty]
    return matching[0] if len(matching) == 1 else None
