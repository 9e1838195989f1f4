"""OAuth errors Authlib does not define: throttling (429), an identity backend down (503),
password sign-in switched off for the tenant."""

from __future__ import annotations

import re

from authlib.oauth2.rfc6749.errors import (
    InvalidRequestError,
    OAuth2Error,
)

# RFC 6749 section 5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E, and
# Authlib raises ValueError (a 500) for anything else, e.g. a quoted junk header in a message.
_NOT_DESCRIPTION = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


def description_text(text: str) -> str:
    """``text`` made safe for ``error_description``: forbidden characters become '?'."""
    return _NOT_DESCRIPTION.sub("?", text)


class TooManyAttemptsError(InvalidRequestError):
    """Too many failed password or secret attempts: 429, ``invalid_request``, Retry-After."""

    status_code = 429

    def __init__(self, description: str, retry_after: int) -> None:
        super().__init__(description=description)
        self.retry_after = retry_after

    def get_headers(self):
        return [*super().get_headers(), ("Retry-After", str(self.retry_after))]


class TemporarilyUnavailableError(OAuth2Error):
    """The identity backend (e.g. the tenant's LDAP directory) cannot answer: 503, retry.

    Never ``invalid_grant``: the password may well be right, and clients must not tell the
    user it is wrong.
    """

    error = "temporarily_unavailable"
    status_code = 503

    def __init__(self, description: str, retry_after: int) -> None:
        super().__init__(description=description_text(description))
        self.retry_after = retry_after

    def get_headers(self):
        return [*super().get_headers(), ("Retry-After", str(self.retry_after))]


class PasswordGrantOffError(OAuth2Error):
    """The tenant takes no passwords (local and LDAP login both off): the grant is off."""

    error = "unsupported_grant_type"
    status_code = 400

    def __init__(self, description: str) -> None:
        super().__init__(description=description_text(description))
