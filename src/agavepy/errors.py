"""The SDK's one exception hierarchy, rooted in :class:`AgaveError`.

Every error says, on one line, what went wrong and what to do next, and
carries the HTTP status and the server's own message when there was a
response. Nothing here ever includes a request body: agavepy 0.9.5 printed
the token request (password included) when it failed; we never do.
This module must stay free of HTTP code so that anything can import it.
"""

from __future__ import annotations

from typing import Any


class AgaveError(Exception):
    """Base of every error the SDK raises on purpose.

    ``message`` says what went wrong, ``hint`` what to do next; ``status`` and
    ``server_message`` come from the server's answer when there was one.
    """

    default_hint: str | None = None

    def __init__(
        self,
        message: str,
        status: int | None = None,
        response: Any = None,
        hint: str | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.response = response
        self.hint = hint if hint is not None else self.default_hint
        self.server_message = server_message

    def __str__(self) -> str:
        text = self.message
        if self.server_message and self.server_message not in text:
            text += f": {self.server_message}"
        if self.status is not None:
            text += f" (HTTP {self.status})"
        if self.hint:
            text += f"; {self.hint}"
        return " ".join(text.split())  # one line, whatever the server sent

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class AuthenticationError(AgaveError):
    """401: the username/password or the client's key/secret were refused."""

    default_hint = "check the username and password (or the client's key and secret)"


class ClientAuthenticationError(AuthenticationError):
    """401 from an OAuth endpoint: the client's key and secret were refused."""

    default_hint = (
        "the client may have been deleted or its secret reset; "
        "clients_reset_secret() or clients_create() gives the session a working one"
    )


class PermissionDeniedError(AgaveError):
    """403: the credentials are good but not allowed to do this."""

    default_hint = "this account or client is not allowed to do that"


class NotFoundError(AgaveError):
    """404: no such client (or tenant, or saved session) for this user."""

    default_hint = "check the name; clients_list() shows your clients"


class ConflictError(AgaveError):
    """409: the name is taken."""

    default_hint = "choose another name, or delete the existing client first"


class BadRequestError(AgaveError):
    """400/413/422, or a value refused before anything was sent."""

    default_hint = "check the values passed"


class RateLimitedError(AgaveError):
    """429: too many requests; ``retry_after`` is in seconds when the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        kw.setdefault(
            "hint",
            f"wait {retry_after:g} seconds and try again"
            if retry_after is not None
            else "wait a little and try again",
        )
        super().__init__(message, **kw)


class ServerError(AgaveError):
    """5xx: the server failed."""

    default_hint = "try again later; if it persists, tell the tenant's administrator"


class NetworkError(AgaveError):
    """The server could not be reached, or did not answer in time."""

    default_hint = "check that the server is running and that the URL is right"


class MissingValueError(AgaveError):
    """A value is needed, none was given, and there is no terminal to ask for it."""

    def __init__(self, what: str, parameter: str, env: str | None = None) -> None:
        self.what = what
        self.parameter = parameter
        self.env = env
        how = f"pass {parameter}=..." + (f" or set {env}" if env else "")
        super().__init__(f"no {what} given and no terminal to ask for it", hint=how)


class NoClientError(AgaveError):
    """The session has no OAuth client (key and secret) yet."""

    default_hint = "call clients_create(name, description) first"

    def __init__(self, message: str = "no OAuth client yet", **kw: Any) -> None:
        super().__init__(message, **kw)


class NoTokenError(AgaveError):
    """The session has no access token yet."""

    default_hint = "call get_access_token() first"

    def __init__(self, message: str = "no access token yet", **kw: Any) -> None:
        super().__init__(message, **kw)


class TokenExpiredError(AgaveError):
    """The refresh token is no longer valid (expired, revoked, or already used)."""

    default_hint = "get a new token with get_access_token()"


class SessionError(AgaveError):
    """A saved session is missing or its files cannot be read."""

    default_hint = "create one with clients_create(name, description) and get_access_token()"


_BY_STATUS: dict[int, type[AgaveError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: BadRequestError,
    422: BadRequestError,
}


def error_class_for_status(status: int) -> type[AgaveError]:
    """The exception class for an HTTP error status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return AgaveError
