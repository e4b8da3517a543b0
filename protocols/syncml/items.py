"""What every store shares: a refused item change and its SyncML status, an item's digest."""

import hashlib

from slap_core import errors


class ItemRefused(Exception):
    """A change the store refuses, with the SyncML status code that says why."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code


# slap_core errors as SyncML status codes.
STATUS_OF = {errors.Forbidden: 403, errors.Unauthenticated: 401, errors.NotFound: 404,
             errors.Invalid: 400, errors.Conflict: 409, errors.Unavailable: 503}


def refused(error):
    """The ItemRefused of a slap_core error."""
    return ItemRefused(STATUS_OF.get(type(error), 500), str(error))


def digest(text):
    """The digest of an item as the master writes it (what tells a change on the master)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
