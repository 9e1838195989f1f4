"""A standalone token for code that keeps tokens itself (a web app's session, a job).

:class:`Token` holds one client's key and secret and a :class:`TokenPair`;
it can ``create`` a pair (password grant), ``refresh`` it (rotation: the
old pair stops working), ``revoke`` it, and say when it expires. It never
touches ``~/.agave``: pass ``on_change`` to store new pairs wherever you
keep them. ``token.auth`` is an ``httpx.Auth`` for calling Agave APIs with
automatic refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agavepy import _oauth
from agavepy._transport import Transport, check_url
from agavepy.errors import NoTokenError
from agavepy.models import TokenPair

if TYPE_CHECKING:
    import httpx

    from agavepy._auth import BearerAuth


class Token:
    """One client's tokens for one user, kept in memory."""

    def __init__(
        self,
        api_server: str,
        api_key: str,
        api_secret: str,
        *,
        pair: TokenPair | None = None,
        access_token: str | None = None,
        refresh_token: str | None = None,
        expires_in: int | str | None = None,
        created_at: int | str | None = None,
        on_change: Callable[[TokenPair], Any] | None = None,
        verify: bool | str = True,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``transport``: an ``httpx`` transport instead of the network (see ``Agave``)."""
        self.api_server = check_url(api_server, "api_server").rstrip("/")
        self.api_key = api_key
        self.api_secret = api_secret
        if pair is None and access_token:
            pair = TokenPair.from_json(
                {
                    "access_token": access_token,
                    "refresh_token": refresh_token or "",
                    "expires_in": expires_in,
                    "created_at": created_at,
                }
            )
        self.pair = pair
        self.on_change = on_change
        self._transport = Transport(verify=verify, timeout=timeout, http_transport=transport)

    def __repr__(self) -> str:
        state = "no token"
        if self.pair is not None:
            state = f"expires {self.pair.expires_at:%Y-%m-%d %H:%M:%S} UTC"
        return f"Token({self.api_server!r}, client {self.api_key[:6]}..., {state})"

    # -- the lifecycle -----------------------------------------------------
    def create(self, username: str, password: str) -> TokenPair:
        """Get a new pair with the user's password (which is not kept)."""
        pair = _oauth.password_grant(
            self._transport, self.api_server, self.api_key, self.api_secret, username, password
        )
        return self._set(pair)

    def refresh(self) -> TokenPair:
        """Trade the refresh token for a new pair."""
        pair = _oauth.refresh_grant(
            self._transport,
            self.api_server,
            self.api_key,
            self.api_secret,
            self._require().refresh_token,
        )
        return self._set(pair)

    def revoke(self, token: str | None = None) -> None:
        """Revoke ``token`` (default: the access token, and forget the pair)."""
        if token is None:
            token = self._require().access_token
            self.pair = None
        _oauth.revoke(self._transport, self.api_server, self.api_key, self.api_secret, token)

    def is_expired(self, leeway: float = 0) -> bool:
        """True when there is no token or it expires within ``leeway`` seconds."""
        return self.pair is None or self.pair.is_expired(leeway)

    @property
    def expires_at(self) -> datetime | None:
        return None if self.pair is None else self.pair.expires_at

    @property
    def access_token(self) -> str | None:
        return None if self.pair is None else self.pair.access_token

    @property
    def refresh_token(self) -> str | None:
        return None if self.pair is None else self.pair.refresh_token

    @property
    def auth(self) -> BearerAuth:
        """``httpx.Auth`` that sends this token and refreshes it once when refused."""
        from agavepy._auth import BearerAuth

        return BearerAuth(self)

    # -- TokenSource, for BearerAuth ----------------------------------------
    def current_pair(self) -> TokenPair:
        return self._require()

    def refreshed_pair(self, stale: TokenPair) -> TokenPair:
        return self.refresh()

    # -- helpers -----------------------------------------------------------
    def _require(self) -> TokenPair:
        if self.pair is None:
            raise NoTokenError(hint="call Token.create(username, password) first")
        return self.pair

    def _set(self, pair: TokenPair) -> TokenPair:
        self.pair = pair
        if self.on_change is not None:
            self.on_change(pair)
        return pair

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Token:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
