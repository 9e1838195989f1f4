"""The bearer-token flow for Agave APIs, as an ``httpx.Auth`` generator.

:class:`BearerAuth` attaches the access token, refreshes it first when it
has expired, and on a 401 refreshes once and retries: token refresh lives
here, in one place, instead of around every API call. Where the tokens
come from and where fresh ones go is the :class:`TokenSource`'s business
(an ``Agave`` session with its saved files, or a standalone ``Token``).
Imported lazily: it needs httpx (see :mod:`agavepy._transport`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Protocol

import httpx

from agavepy.models import TokenPair

#: Refresh before sending when the access token has less than this many seconds left.
EXPIRY_LEEWAY = 5.0


class TokenSource(Protocol):
    """What :class:`BearerAuth` needs: the current tokens, and fresh ones on demand."""

    def current_pair(self) -> TokenPair: ...

    def refreshed_pair(self, stale: TokenPair) -> TokenPair: ...


class BearerAuth(httpx.Auth):
    """Attach ``Authorization: Bearer``; refresh once on expiry or on a 401, then retry."""

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        pair = self.source.current_pair()
        refreshed = False
        if pair.is_expired(leeway=EXPIRY_LEEWAY):
            pair = self.source.refreshed_pair(pair)
            refreshed = True
        request.headers["Authorization"] = f"Bearer {pair.access_token}"
        response = yield request
        if response.status_code == 401 and not refreshed:
            pair = self.source.refreshed_pair(pair)
            request.headers["Authorization"] = f"Bearer {pair.access_token}"
            yield request
