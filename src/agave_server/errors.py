"""Errors the services raise and the API turns into error envelopes: each knows its status.

Messages are shown to API users, so they name the offending value and what is allowed, and
never contain a password or secret.
"""

from __future__ import annotations


class AgaveError(Exception):
    """Base of every expected failure; ``status`` is the HTTP status to answer with."""

    status = 400

    def __init__(
        self, message: str, headers: dict[str, str] | None = None, *, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        # The request field the failure is about, as the message names it: a page shows the
        # message next to that field's input without reading the message's words.
        self.field = field


class BadRequest(AgaveError):
    status = 400


class Unauthorized(AgaveError):
    status = 401


class Forbidden(AgaveError):
    """Known, but not allowed: a disabled account, a page for administrators only."""

    status = 403


class NotFound(AgaveError):
    status = 404


class Conflict(AgaveError):
    status = 409


class UnsupportedMediaType(AgaveError):
    status = 415


class TooManyRequests(AgaveError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, {"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


class ServiceUnavailable(AgaveError):
    """A service the answer depends on (the tenant's LDAP directory, an upstream) is down."""

    status = 503

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message, {"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)
