"""What every store shares: a refused item change and its SyncML status, an item's digest,
the core it calls as the session's principal."""

import hashlib

from protocols.statuses import status_of
from slap_core import errors


class ItemRefused(Exception):
    """A change the store refuses, with the SyncML status code that says why."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code


# The statuses of protocols.statuses that SyncML has too, with the same meaning; any other
# error (NotReady's 408 is SyncML's "request timeout", 429 is not SyncML) is a 500.
SYNCML_STATUSES = {400, 401, 403, 404, 409, 503}


def refused(error):
    """The ItemRefused of a slap_core error."""
    code = status_of(error)
    return ItemRefused(code if code in SYNCML_STATUSES else 500, str(error))


def digest(text):
    """The digest of an item as the master writes it (what tells a change on the master)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class CoreStore:
    """A store over the core, called as the session's principal."""

    def __init__(self, master, principal):
        self.master = master
        self.principal = principal

    def call(self, name, **arguments):
        """Operation ``name``'s result; the core's refusal is an ItemRefused."""
        try:
            return self.master.call(name, self.principal, **arguments)
        except errors.SlapError as error:
            raise refused(error) from None
