"""The OAuth request, built from neutral input: what every endpoint in ``oauth/`` works on.

The HTTP layer turns its request into an ``HttpInput`` (method, path, query, form, headers,
tenant, source address) and hands it to ``AgaveAuthorizationServer.request``; nothing in
``oauth/`` sees a framework object. Authlib's grants read ``args`` (the query), ``form`` (the
body) and ``payload`` (the parameters of the endpoint: the query for GET, the body otherwise);
``query_client`` finds clients in the request's tenant (``server.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload

from ..storage import Database
from ..storage.records import Tenant

_EMPTY: Mapping[str, str] = MappingProxyType({})


class HttpInput(NamedTuple):
    """One HTTP request as the protocol layer needs it; no framework types (a named tuple:
    one per OAuth request, built in a third of a frozen dataclass's time).

    ``headers`` must look names up case-insensitively (Starlette's ``Headers`` does; a plain
    dict is lower-cased by ``AgaveOAuth2Request``).
    """

    method: str
    path: str
    tenant: Tenant
    headers: Mapping[str, str] = _EMPTY
    query: Mapping[str, str] = _EMPTY
    form: Mapping[str, str] = _EMPTY
    address: str | None = None


class LowerHeaders(dict):
    """A dict of headers looked up case-insensitively (for inputs built from plain dicts)."""

    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        super().__init__((k.lower(), v) for k, v in (headers or {}).items())

    @classmethod
    def from_asgi(cls, raw: list[tuple[bytes, bytes]]) -> LowerHeaders:
        """From an ASGI scope's headers (names already lower-case); the first of a repeated
        header wins, as in Starlette's ``Headers.get``. One pass: Authlib and the grants look
        up several headers per request, and each ``Headers.get`` scans them all."""
        headers = cls()
        for name, value in raw:
            key = name.decode("latin-1")
            if not dict.__contains__(headers, key):
                dict.__setitem__(headers, key, value.decode("latin-1"))
        return headers

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


class AgaveOAuth2Request(OAuth2Request):
    """An Authlib request with what Agave's grants need: tenant, database, throttle, address.

    ``keep_scope=False`` (the token endpoint): Agave tools send ``scope=PRODUCTION``; tokens
    of the legacy grants always have the scope ``default``, so the requested scope is not
    handed to Authlib's scope checks. The authorization endpoint keeps it (``openid`` ...).
    """

    def __init__(
        self,
        source: HttpInput,
        *,
        db: Database,
        throttle: Any,
        keep_scope: bool = False,
    ) -> None:
        # What ``OAuth2Request.__init__`` sets, without its per-request https check of the
        # path: that reads ``AUTHLIB_INSECURE_TRANSPORT`` from the environment on every
        # request, and server.py turns it off (TLS ends at the proxy). A test checks that
        # this sets every attribute Authlib's own sets.
        self.method = source.method
        self.uri = source.path
        self.headers = _headers(source.headers)
        self._body = None
        self.client = self.auth_method = self.user = None
        self.authorization_code = self.refresh_token = self.credential = self._scope = None
        self.source = source
        self._form = dict(source.form)
        self._args = dict(source.query)
        params = self._args if source.method in ("GET", "HEAD") else self._form
        if not keep_scope:
            params = {k: v for k, v in params.items() if k != "scope"}
        self.payload = BasicOAuth2Payload(params)
        self.tenant = source.tenant
        self.address = source.address
        self.db = db
        self.throttle = throttle
        self.refresh_digest: str | None = None  # set by the refresh grant's validation
        # Set by the caller to batch the pair's write (``storage.batch``); ``save_token`` then
        # leaves it here instead of running it.
        self.defer_write = False
        self.pending_write: Callable[[Database, Any], bool] | None = None
        self.pending_pair: Any = None  # the same write's pair (``storage.pair_writes``)
        # Introspection: the digest of the opaque access token asked about, which client
        # authentication then reads in the client's own statement (``storage.introspection``);
        # ``prefetched`` holds what that found, the pair or None (``None`` itself: not read).
        self.access_digest_wanted: str | None = None
        self.prefetched: tuple[Any] | None = None

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return self._args


def _headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    if isinstance(headers, LowerHeaders) or not isinstance(headers, dict):
        return headers
    return LowerHeaders(headers)
