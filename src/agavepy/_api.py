"""The typed lower layer: ``ag.tenants``, ``ag.clients`` and ``ag.tokens``.

These return records from :mod:`agavepy.models` and never print. They get
the tenant URL, the credentials (prompting through :mod:`agavepy.prompts`
when allowed) and the HTTP transport from the session that owns them, through
the small :class:`SessionContext` protocol (as :class:`agavepy._auth.TokenSource`
does for the bearer flow): this module does not know the ``Agave`` class, which
implements the protocol and builds the seed-compatible methods on top.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from agavepy import _oauth
from agavepy._transport import Transport, envelope_result
from agavepy.errors import BadRequestError, NetworkError, NotFoundError, NoTokenError
from agavepy.models import Client, Subscription, Tenant, TokenInfo, TokenPair
from agavepy.tables import ClientList, SubscriptionList, TenantList
from agavepy.wire import CLIENT_NAME_PATTERN, CLIENT_NAME_RULE, DEFAULT_TIER, TIERS, canonical_tier

CLIENT_NAME = re.compile(CLIENT_NAME_PATTERN)
PAGE = 100
#: ``(username, password)`` for HTTP Basic, or an ``httpx.Auth`` such as a login's token.
Credentials = Any


class SessionContext(Protocol):
    """What the typed layer needs from its session (an ``Agave`` object implements it)."""

    transport: Transport

    def resolved_tenants_url(self, tenants_url: str | None = None) -> str:
        """The tenants list's URL: argument, session, environment, default."""
        ...

    def base_url(self) -> str:
        """The tenant's base URL (no trailing slash), resolving the tenant on first use."""
        ...

    def credentials(
        self, username: str | None = None, password: str | None = None, ask_username: bool = False
    ) -> Credentials:
        """The user's username and password for one call (prompting when allowed)."""
        ...

    def user_auth(self, ask_username: bool = False) -> Any:
        """How the clients API authenticates the user for one call: the username and
        password, or the bearer token of ``agave login``."""
        ...

    def endpoints(self) -> Any:
        """The tenant's OAuth endpoints (its discovery document, or the Agave defaults)."""
        ...

    def require_client(self) -> Credentials:
        """The current client's key and secret, or NoClientError."""
        ...

    def pair(self) -> TokenPair | None:
        """The current tokens, None without an access token."""
        ...

    def set_pair(self, pair: TokenPair | None) -> None:
        """Adopt new tokens (or forget them with None)."""
        ...

    def persist(self, make_current: bool = True) -> None:
        """Save the session (the session files)."""
        ...

    def refreshed_pair(self, stale: TokenPair) -> TokenPair:
        """Fresh tokens for ``stale`` (refreshed, or adopted from another process)."""
        ...


def check_client_name(name: Any) -> str:
    """Client names go unencoded into URL paths: refuse anything else before sending."""
    if not isinstance(name, str) or not CLIENT_NAME.fullmatch(name):
        raise BadRequestError(
            f"invalid client name {name!r}",
            hint=f"use {CLIENT_NAME_RULE}",
        )
    return name


def check_tier(tier: str) -> str:
    """One of Bronze, Silver, Gold, Unlimited, in any case."""
    known = canonical_tier(tier)
    if known:
        return known
    raise BadRequestError(f"invalid tier {tier!r}", hint="use one of " + ", ".join(TIERS))


def check_api_name(api_name: Any) -> str:
    """An API of the catalogue by name (e.g. ``PublicKeys``), or ``*`` for all."""
    if not isinstance(api_name, str) or not api_name.strip():
        raise BadRequestError(
            f"invalid API name {api_name!r}",
            hint='give an API name such as "PublicKeys", or "*" for all of them',
        )
    return api_name.strip()


class TenantsAPI:
    """The tenants service (no authentication)."""

    def __init__(self, ag: SessionContext) -> None:
        self._ag = ag

    def list(self, tenants_url: str | None = None) -> TenantList:
        url = tenants_url or self._ag.resolved_tenants_url()
        try:
            response = self._ag.transport.request("GET", url)
        except NetworkError as exc:
            exc.hint = (
                "start agave-server there, or give the tenants list's URL "
                "(tenants_url=... or AGAVE_TENANTS_API_BASEURL)"
            )
            raise
        if response.status_code == 404:
            raise NotFoundError(
                f"no tenants list at {url}",
                status=404,
                hint="the tenants URL (tenants_url= or AGAVE_TENANTS_API_BASEURL) is the full URL "
                "of the tenants list, e.g. http://127.0.0.1:8000/tenants",
            )
        result = envelope_result(response, f"listing tenants at {url}")
        return TenantList(Tenant.from_json(t) for t in (result or []) if isinstance(t, dict))

    def get(self, code: str, tenants_url: str | None = None) -> Tenant:
        url = (tenants_url or self._ag.resolved_tenants_url()).rstrip("/") + "/" + code
        response = self._ag.transport.request("GET", url)
        if response.status_code == 404:
            raise NotFoundError(
                f"no tenant {code!r} at {url}",
                status=404,
                hint="list the tenants with list_tenants()",
            )
        result = envelope_result(response, f"getting tenant {code!r}")
        if isinstance(result, list):  # a server that answers /tenants/{code} with a list
            result = next((t for t in result if t.get("code") == code), None)
        if not isinstance(result, dict):
            raise NotFoundError(f"no tenant {code!r} at {url}")
        return Tenant.from_json(result)


class ClientsAPI:
    """The clients service: HTTP Basic with the user's username and password, or a login's token.

    Every method takes ``auth=(username, password)`` for that one call;
    without it the Agave object's credentials are used, prompting if needed.
    """

    def __init__(self, ag: SessionContext) -> None:
        self._ag = ag

    def _url(self, *parts: str) -> str:
        return _oauth.endpoint(self._ag.base_url(), "/".join(("clients/v2", *parts)))

    def _auth(self, auth: Any) -> Any:
        """``(username, password)`` or an ``httpx.Auth`` (a login's token); else the session's."""
        return auth if auth is not None else self._ag.user_auth()

    def _call(self, method: str, url: str, action: str, auth: Credentials | None, **kw: Any) -> Any:
        response = self._ag.transport.request(method, url, auth=self._auth(auth), **kw)
        return envelope_result(response, action)

    def create(
        self,
        name: str,
        description: str = "",
        tier: str = DEFAULT_TIER,
        callback_url: str = "",
        *,
        auth: Credentials | None = None,
    ) -> Client:
        """Create a client; the returned record is the only one with ``consumer_secret``."""
        data = {
            "clientName": check_client_name(name),
            "description": description or "",
            "tier": check_tier(tier),
            "callbackUrl": callback_url or "",
        }
        result = self._call("POST", self._url(), f"creating client {name!r}", auth, data=data)
        return Client.from_json(result or {})

    def list(
        self, limit: int | None = None, offset: int = 0, *, auth: Credentials | None = None
    ) -> ClientList:
        """The caller's clients; all of them (page by page) unless ``limit`` is given."""
        auth = self._auth(auth)
        clients = ClientList()
        while True:
            remaining = None if limit is None else limit - len(clients)
            want = PAGE if remaining is None else min(PAGE, remaining)
            # Ask for one more than a page when more could follow: a last page that happens to
            # be full then costs no extra request (each is a password check on the server).
            look_ahead = remaining is None or remaining > want
            params = {"limit": want + 1 if look_ahead else want, "offset": offset}
            got = list(self._call("GET", self._url(), "listing clients", auth, params=params) or [])
            page = got[:want]
            clients.extend(Client.from_json(c) for c in page if isinstance(c, dict))
            offset += len(page)
            if not look_ahead or len(got) <= want:
                return clients

    def get(self, name: str, *, auth: Credentials | None = None) -> Client:
        result = self._call(
            "GET", self._url(check_client_name(name)), f"getting client {name!r}", auth
        )
        return Client.from_json(result or {})

    def update(
        self,
        name: str,
        description: str | None = None,
        tier: str | None = None,
        callback_url: str | None = None,
        post_logout_redirect_uri: str | None = None,
        *,
        auth: Credentials | None = None,
    ) -> Client:
        """Change what is given (``""`` clears a text field); returns the client as it is now.

        The server checks the URLs (absolute http(s), no fragment) and names the field it
        refuses. The key, secret, subscriptions and tokens are not touched.
        """
        fields = {
            "description": description,
            "callbackUrl": callback_url,
            "tier": None if tier is None else check_tier(tier),
            "postLogoutRedirectUri": post_logout_redirect_uri,
        }
        data = {k: str(v) for k, v in fields.items() if v is not None}
        if not data:
            raise BadRequestError(
                f"nothing to change on client {name!r}",
                hint="give description=, callback_url=, tier= or post_logout_redirect_uri=",
            )
        url = self._url(check_client_name(name))
        result = self._call("PUT", url, f"updating client {name!r}", auth, data=data)
        return Client.from_json(result or {})

    def reset_secret(self, name: str, *, auth: Credentials | None = None) -> Client:
        """A new consumer secret (in the returned record only); the old one and every token
        issued with it stop working at once.

        When it is this session's client, the session takes the new secret and forgets the
        revoked tokens, and is saved, so ``get_access_token()`` works straight away.
        """
        url = self._url(check_client_name(name), "secret")
        result = self._call("POST", url, f"resetting the secret of client {name!r}", auth)
        client = Client.from_json(result or {})
        ag = self._ag
        if client.consumer_secret and ag.api_key and client.consumer_key == ag.api_key:
            ag.api_secret = client.consumer_secret
            ag.set_pair(None)
            ag.persist(make_current=False)
        return client

    def delete(self, name: str, *, auth: Credentials | None = None) -> None:
        """Delete a client; its tokens stop working."""
        self._call("DELETE", self._url(check_client_name(name)), f"deleting client {name!r}", auth)

    def subscriptions(self, name: str, *, auth: Credentials | None = None) -> SubscriptionList:
        """Every API the client is subscribed to."""
        auth = self._auth(auth)
        url = self._url(check_client_name(name), "subscriptions")
        subs = SubscriptionList()
        offset = 0
        while True:
            params = {"limit": PAGE, "offset": offset}
            page = (
                self._call("GET", url, f"listing subscriptions of {name!r}", auth, params=params)
                or []
            )
            subs.extend(Subscription.from_json(s) for s in page if isinstance(s, dict))
            offset += len(page)
            if len(page) < PAGE:
                return subs

    def subscribe(
        self,
        name: str,
        api_name: str,
        api_version: str = "v2",
        api_provider: str = "admin",
        tier: str | None = None,
        *,
        auth: Credentials | None = None,
    ) -> SubscriptionList:
        """Subscribe to one API (``api_name="*"``: all); returns what was added."""
        data = {
            "apiName": check_api_name(api_name),
            "apiVersion": api_version or "",
            "apiProvider": api_provider or "",
        }
        if tier:
            data["tier"] = check_tier(tier)
        url = self._url(check_client_name(name), "subscriptions")
        result = self._call("POST", url, f"subscribing {name!r} to {api_name!r}", auth, data=data)
        return SubscriptionList(
            Subscription.from_json(s) for s in (result or []) if isinstance(s, dict)
        )

    def unsubscribe(
        self,
        name: str,
        api_name: str,
        api_version: str | None = None,
        api_provider: str | None = None,
        *,
        auth: Credentials | None = None,
    ) -> None:
        """Remove subscriptions (``api_name="*"``: all); sent in the query string."""
        params = {"apiName": check_api_name(api_name)}
        if api_version:
            params["apiVersion"] = api_version
        if api_provider:
            params["apiProvider"] = api_provider
        url = self._url(check_client_name(name), "subscriptions")
        self._call("DELETE", url, f"unsubscribing {name!r} from {api_name!r}", auth, params=params)


class TokensAPI:
    """The token endpoint, with the Agave object's client and saved session."""

    def __init__(self, ag: SessionContext) -> None:
        self._ag = ag

    def create(self, username: str | None = None, password: str | None = None) -> TokenPair:
        """A new pair by password grant with the current client; saved as the active session."""
        ag = self._ag
        key, secret = ag.require_client()
        user, pw = ag.credentials(username=username, password=password)
        pair = _oauth.password_grant(ag.transport, ag.endpoints(), key, secret, user, pw)
        ag.set_pair(pair)
        ag.persist(make_current=True)
        return pair

    def create_by_device(self, callback: Any = None) -> TokenPair:
        """A new pair for the current client by the device flow (RFC 8628): no password here.

        ``callback`` receives the DeviceAuthorization (default: print the address and code);
        someone approves it in a browser. Saved as the active session.
        """
        from agavepy import prompts

        ag = self._ag
        key, secret = ag.require_client()
        ag.base_url()
        where = ag.endpoints()
        authorization = _oauth.device_authorization(ag.transport, where, key, secret)
        (callback or prompts.show_device_login)(authorization)
        pair = _oauth.wait_for_device_token(ag.transport, where, key, secret, authorization)
        ag.set_pair(pair)
        ag.persist(make_current=True)
        return pair

    def refresh(self, force: bool = False) -> TokenPair:
        """Refresh when within 60 s of expiry (or expired), or always with ``force``."""
        ag = self._ag
        pair = ag.pair()
        if pair is None:
            raise NoTokenError()
        if not force and not pair.is_expired(leeway=60):
            return pair
        return ag.refreshed_pair(pair)

    def revoke(self, token: str | None = None) -> None:
        """Revoke ``token`` (default: the current access token, which is then forgotten)."""
        ag = self._ag
        key, secret = ag.require_client()
        if token is None:
            pair = ag.pair()
            if pair is None:
                raise NoTokenError()
            token = pair.access_token
            ag.set_pair(None)
            ag.persist(make_current=False)
        _oauth.revoke(ag.transport, ag.endpoints(), key, secret, token)

    def introspect(self, token: str | None = None) -> TokenInfo:
        """What the tenant says about ``token`` (default: the current access token), asked
        with this session's client (RFC 7662). Inactive tokens are an answer, not an error.

        A client may look at the tokens it was issued; a client the operator marked as a
        resource server, at any token of its tenant.
        """
        ag = self._ag
        key, secret = ag.require_client()
        if token is None:
            pair = ag.pair()
            if pair is None:
                raise NoTokenError()
            token = pair.access_token
        return _oauth.introspect(ag.transport, ag.endpoints(), key, secret, token)
