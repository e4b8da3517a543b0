"""A memo for twisted.web's parsing of a request's Content-Type header.

twisted.web (26.x) parses the Content-Type of every request with a body through the email
package, about 110 us each time: a tenth of the master's time on a SLAP request under load
(py-spy during make bench's request part). The parse is a pure function of the header's bytes
and a master sees a handful of distinct values, so a bounded memo of it answers the same.
"""

from functools import lru_cache

from twisted.web import http

MEMO_SIZE = 256


def memoize_content_type_parsing():
    """Wrap ``twisted.web.http._parseContentType`` in a bounded memo, once; True if it exists."""
    parse = getattr(http, "_parseContentType", None)
    if parse is None:  # a twisted without it: nothing to speed up
        return False
    if not hasattr(parse, "cache_info"):
        http._parseContentType = lru_cache(maxsize=MEMO_SIZE)(parse)
    return True
