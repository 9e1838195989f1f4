"""OAuth errors Authlib does not define: throttling (429 with Retry-After)."""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import InvalidRequestError


class TooManyAttemptsError(InvalidRequestError):
    """Too many failed password or secret attempts: 429, ``invalid_request``, Retry-After."""

    status_code = 429

    def __init__(self, description: str, retry_after: int) -> None:
        super().__init__(description=description)
        self.retry_after = retry_after

    def get_headers(self):
        return [*super().get_headers(), ("Retry-After", str(self.retry_after))]
