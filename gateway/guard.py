"""One guard in front of every face: a bounded body, its media type, no DTD in XML.

Every request's body is counted as it arrives (:class:`BoundedRequest`): past the site's
``max_body`` the rest is dropped, never buffered, and the request is marked too large. Each face
is mounted behind a :class:`Guard` naming, in a :class:`Face`, what it accepts (its own body
limit, the media types of its bodies, whether they are XML and may carry a DOCTYPE) and how it
refuses, in its own idiom (an XML-RPC fault, a SOAP fault, a problem document, a page...). The
guard refuses an oversized body (413), a body of another media type (415) and a DTD or an entity
declaration in an XML body before the face sees the request; the face then reads a body that
is known to be within its limit.
"""

import re
from dataclasses import dataclass

from twisted.web import server
from twisted.web.resource import Resource, getChildForRequest

DEFAULT_MAX_BODY = 4 * 1024 * 1024
# A DOCTYPE with an internal subset (its "["), or any entity declaration.
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
BODY_METHODS = (b"POST", b"PUT", b"PATCH")


@dataclass(frozen=True)
class Face:
    """What one face accepts and how it refuses.

    ``refuse(request, status, code, message)`` writes the refusal's status and headers and
    returns its body, in the face's idiom (``code``: too_large, unsupported_media_type or
    invalid). ``limit``: its largest body in bytes (None: the site's ``max_body``);
    ``media_types``: the media types its bodies may have (None: any); ``xml``: its bodies are
    XML, refused with a DOCTYPE or an entity declaration (``external``: a DOCTYPE naming an
    external DTD is tolerated, as SyncML clients send one; an internal subset never is).
    """

    name: str
    refuse: object
    limit: int | None = None
    media_types: tuple | None = None
    xml: str = ""  # "", "strict" or "external"


def media_type_of(request):
    """The request's media type, lower case, without parameters ("" when none was sent)."""
    value = request.getHeader(b"content-type") or b""
    return value.split(b";", 1)[0].strip().lower().decode("latin-1")


def body_length(request):
    """How many bytes of body the request holds."""
    content = request.content
    if content is None:
        return 0
    position = content.tell()
    content.seek(0, 2)
    length = content.tell()
    content.seek(position)
    return length


def dtd_problem(body, external_ok):
    """Why an XML body is refused for what it declares, or None."""
    if external_ok:
        if _INTERNAL_SUBSET.search(body) or re.search(rb"<!ENTITY", body, re.IGNORECASE):
            return "DTD internal subsets and entity declarations are not accepted"
        return None
    if _DECLARATION.search(body):
        return "DTDs and entity declarations are not accepted"
    return None


class BoundedRequest(server.Request):
    """A request that keeps at most its site's ``max_body`` bytes of body: past it, the rest
    is dropped as it arrives and ``too_large`` is set."""

    too_large = False
    received = 0

    def _cap(self):
        return getattr(getattr(self.channel, "site", None), "max_body", DEFAULT_MAX_BODY)

    def gotLength(self, length):  # noqa: N802  (twisted's name)
        """Refuse to buffer a body announced larger than the cap."""
        if length is not None and length > self._cap():
            self.too_large = True
            length = 0
        super().gotLength(length)

    def handleContentChunk(self, data):  # noqa: N802  (twisted's name)
        """Keep the chunk only while the body stays within the cap."""
        self.received += len(data)
        if self.too_large or self.received > self._cap():
            if not self.too_large:
                self.too_large = True
                self.content.seek(0)
                self.content.truncate()
            return
        super().handleContentChunk(data)


class Guard(Resource):
    """``resource`` (a face) behind the checks its ``face`` (a Face) asks for."""

    isLeaf = True

    def __init__(self, resource, face, max_body=DEFAULT_MAX_BODY):
        super().__init__()
        self.resource, self.face = resource, face
        self.limit = face.limit if face.limit is not None else max_body

    def render(self, request):
        """Refuse what the face may not see; else let the face's resource tree answer."""
        problem = self.problem(request)
        if problem is not None:
            return self.face.refuse(request, *problem)
        return getChildForRequest(self.resource, request).render(request)

    def problem(self, request):
        """(status, code, message) of the refusal ``request`` deserves, or None."""
        length = body_length(request)
        if getattr(request, "too_large", False) or length > self.limit:
            return 413, "too_large", "the body is larger than %d bytes" % self.limit
        if request.method not in BODY_METHODS or length == 0:
            return None
        if self.face.media_types is not None and \
                media_type_of(request) not in self.face.media_types:
            return (415, "unsupported_media_type", "the body must be %s"
                    % " or ".join(self.face.media_types))
        if self.face.xml:
            position = request.content.tell()
            request.content.seek(0)
            body = request.content.read()
            request.content.seek(position)
            why = dtd_problem(body, self.face.xml == "external")
            if why is not None:
                return 400, "invalid", why
        return None
