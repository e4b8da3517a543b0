"""Bearer tokens as they arrive: the header's token, its JOSE header, and the error a bad one is."""

import base64
import json

from slap_core import errors

MAX_TOKEN = 16 * 1024


class InvalidToken(errors.Unauthenticated):
    """A bearer token that is malformed, badly signed, expired or not meant for slapgate."""

    @property
    def challenge(self):
        """The ``WWW-Authenticate`` value (bytes) of an HTTP 401 answering this token."""
        description = self.message.replace("\\", "").replace('"', "'")
        return ('Bearer realm="slapgate", error="invalid_token", error_description="%s"'
                % description).encode("latin-1", "replace")


def bearer_token(header):
    """The token of an ``Authorization: Bearer`` header value (bytes), None for other schemes."""
    if header is None or not header[:7].lower() == b"bearer ":
        return None
    token = header[7:].strip()
    if not token or len(token) > MAX_TOKEN:
        raise InvalidToken("the bearer token is empty or too long")
    try:
        return token.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidToken("the bearer token is not a JWT") from None


def token_header(token):
    """The decoded JOSE header of a compact JWT; InvalidToken when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("the bearer token is not a signed JWT")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except ValueError:
        raise InvalidToken("the bearer token's header is not JSON") from None
    if not isinstance(header, dict):
        raise InvalidToken("the bearer token's header is not a JSON object")
    return header
