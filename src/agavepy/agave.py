"""``Agave``: the seed's session object (``from agavepy.agave import Agave``).

It holds one session — a tenant, a user, an OAuth client and its tokens —
and offers two layers: the seed's methods (``clients_create``,
``clients_list``, ``get_access_token``, ...), which prompt and render exactly
as the seed shows, and the typed sub-APIs ``ag.tenants``, ``ag.clients`` and
``ag.tokens`` underneath, which return records and never print.

Sessions are saved to ``~/.agave`` (see :mod:`agavepy.session`) after a
client is created and after every token change. The password is kept in
memory only when it was given (``password=`` or ``AGAVE_PASSWORD``);
otherwise it is asked for on every call that needs it, as in the seed.
Importing this module must stay cheap: no CLI, no server, no rich/click.
"""

from __future__ import annotations

import os
import time
from typing import Any

from agavepy import _oauth, prompts
from agavepy._api import ClientsAPI, TenantsAPI, TokensAPI, check_client_name
from agavepy._discovery import Endpoints, discover, issuer_of
from agavepy._transport import Transport, check_url, envelope_result
from agavepy.errors import (
    AgaveError,
    MissingValueError,
    NoClientError,
    NotFoundError,
    NoTokenError,
    SessionError,
)
from agavepy.models import Client, Profile, TokenPair
from agavepy.session import WIRE_KEYS, SessionStore, same_identity
from agavepy.tables import ClientList, SubscriptionList, TenantList, tenants_table

#: Where ``agave-server serve`` answers by default: the embedded tenants list.
DEFAULT_TENANTS_URL = "http://127.0.0.1:8000/tenants"
#: ``refresh_tokens()`` refreshes when the access token has less than this left.
REFRESH_WINDOW = 60


def format_expires_at(timestamp: float) -> str:
    """Local time as agavepy 0.9.5 and ``date`` write it, e.g. ``Sat Nov 28 04:05:06 UTC 2026``."""
    lt = time.localtime(timestamp)
    return f"{time.strftime('%a %b', lt)} {lt.tm_mday} {time.strftime('%H:%M:%S %Z %Y', lt)}"


def _optional_int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


class Agave:
    """One Agave session: tenant, user, OAuth client, tokens."""

    def __init__(
        self,
        api_server: str | None = None,
        tenant_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        client_name: str | None = None,
        token: str | None = None,
        refresh_token: str | None = None,
        tenants_url: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        verify: bool | str = True,
        timeout: float = 30.0,
        prompt: bool = True,
        **legacy: Any,
    ) -> None:
        self.api_server = check_url(api_server, "api_server").rstrip("/") if api_server else None
        self.tenant_id = tenant_id
        self._username_source: str | None = None
        env_user = os.environ.get("AGAVE_USERNAME")
        self.username = username or env_user or None
        if self.username:
            self._username_source = "param" if username else "env"
        self._password = password or os.environ.get("AGAVE_PASSWORD") or None
        self.api_key = api_key
        self.api_secret = api_secret
        self.client_name = client_name
        self.token = token
        self.refresh_token = refresh_token
        self.expires_in: int | None = _optional_int(legacy.pop("expires_in", None))
        self.created_at: int | None = _optional_int(legacy.pop("created_at", None))
        self.expires_at: str | None = legacy.pop("expires_at", None)
        self.tenants_url = tenants_url or legacy.pop("tenantsurl", None)
        if self.tenants_url:
            check_url(self.tenants_url, "tenants_url")
        self.verify = verify
        self.timeout = timeout
        self.prompt = prompt
        if legacy:
            raise TypeError(f"Agave() got unexpected arguments: {', '.join(sorted(legacy))}")
        self.store = SessionStore(cache_dir)
        self.transport = Transport(verify=verify, timeout=timeout)
        self._extra: dict[str, Any] = {}
        self._endpoints: Endpoints | None = None  # the tenant's, found once per session
        self.tenants = TenantsAPI(self)
        self.clients = ClientsAPI(self)
        self.tokens = TokensAPI(self)

    def __repr__(self) -> str:
        return (
            f"Agave(tenant_id={self.tenant_id!r}, api_server={self.api_server!r}, "
            f"username={self.username!r}, client_name={self.client_name!r})"
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.transport.close()

    def __enter__(self) -> Agave:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------
    # Tenant resolution
    # ------------------------------------------------------------------
    def resolved_tenants_url(self, tenants_url: str | None = None) -> str:
        """Argument, then ``Agave(tenants_url=)``, then the environment, then the default."""
        if tenants_url:
            return check_url(tenants_url, "tenants_url")
        if self.tenants_url:
            return self.tenants_url
        env = os.environ.get("AGAVE_TENANTS_API_BASEURL")
        return check_url(env, "AGAVE_TENANTS_API_BASEURL") if env else DEFAULT_TENANTS_URL

    def list_tenants(
        self, tenants_url: str | None = None, tenantsurl: str | None = None
    ) -> TenantList:
        """The tenants; a REPL shows them as the ``ID NAME URL`` table."""
        return self.tenants.list(self.resolved_tenants_url(tenants_url or tenantsurl))

    def init(self, tenants_url: str | None = None, tenantsurl: str | None = None) -> None:
        """Find the tenant's base URL from its ID, or its ID from the URL, or ask which one."""
        url = self.resolved_tenants_url(tenants_url or tenantsurl)
        if self.tenant_id and self.api_server:
            return
        tenants = self.tenants.list(url)
        if not self.tenant_id and not self.api_server:
            if not (self.prompt and prompts.can_prompt()):
                raise MissingValueError("tenant", "tenant_id", None)
            print(tenants_table(tenants))
            self.tenant_id = prompts.ask_tenant(self.prompt)
        if self.tenant_id:
            tenant = tenants.find(self.tenant_id)
            if tenant is None:
                raise NotFoundError(
                    f"no tenant {self.tenant_id!r} at {url}",
                    hint="choose one of: " + (", ".join(tenants.codes()) or "(none)"),
                )
            self.api_server = check_url(tenant.base_url, f"base URL of tenant {tenant.code!r}")
            self.api_server = self.api_server.rstrip("/")
            return
        wanted = str(self.api_server).rstrip("/").lower()
        for tenant in tenants:
            if tenant.base_url.rstrip("/").lower() == wanted:
                self.tenant_id = tenant.code
                return
        raise NotFoundError(
            f"no tenant with base URL {self.api_server} at {url}",
            hint="pass tenant_id= or check api_server",
        )

    def base_url(self) -> str:
        """The tenant's base URL (no trailing slash), resolving the tenant on first use."""
        if not self.api_server:
            self.init()
        return str(self.api_server)

    def endpoints(self) -> Endpoints:
        """The tenant's OAuth endpoints: from its discovery document when it has one
        (``{issuer}/.well-known/openid-configuration``), else the Agave defaults.

        Asked once per session object (again only after a network failure, or when the
        base URL changes); never prompts.
        """
        base = self.base_url()
        cached = self._endpoints
        if cached is not None and cached.issuer == issuer_of(base):
            return cached
        found, keep = discover(self.transport, base)
        if keep:
            self._endpoints = found
        return found

    # ------------------------------------------------------------------
    # Credentials and session state (used by the typed layer)
    # ------------------------------------------------------------------
    def credentials(
        self,
        username: str | None = None,
        password: str | None = None,
        ask_username: bool = False,
    ) -> tuple[str, str]:
        """The user's username and password for one call, prompting for what is missing.

        ``ask_username`` asks again even when a username was typed earlier
        (the seed's ``clients_list`` does); an empty answer keeps it. A
        username given by parameter, environment or saved session is never
        asked again. The password is kept only when it was given to us.
        """
        if username:
            user = self.username = username
            self._username_source = "param"
        elif not self.username:
            user = self.username = prompts.ask_username(self.prompt)
            self._username_source = "prompt"
        elif ask_username and self._username_source in (None, "prompt"):
            user = self.username = prompts.ask_username_or_keep(self.username, self.prompt)
            self._username_source = "prompt"
        else:
            user = self.username
        return user, password or self._password or prompts.ask_password(self.prompt)

    def require_client(self) -> tuple[str, str]:
        """The current client's key and secret, or NoClientError."""
        if not self.api_key or not self.api_secret:
            raise NoClientError()
        return self.api_key, self.api_secret

    def pair(self) -> TokenPair | None:
        """The current tokens as a :class:`TokenPair` (None without an access token)."""
        if not self.token:
            return None
        return TokenPair(
            access_token=str(self.token),
            refresh_token=str(self.refresh_token or ""),
            expires_in=self.expires_in or 0,
            created_at=self.created_at or 0,
        )

    def set_pair(self, pair: TokenPair | None) -> None:
        """Adopt new tokens (or forget them with None)."""
        if pair is None:
            self.token = self.refresh_token = self.expires_at = None
            self.expires_in = self.created_at = None
            return
        self.token = pair.access_token
        self.refresh_token = pair.refresh_token
        self.expires_in = pair.expires_in
        self.created_at = pair.created_at
        self.expires_at = format_expires_at(pair.created_at + pair.expires_in)

    def session(self) -> dict[str, Any]:
        """This session in the ``current`` file's format (never with the password)."""
        out = dict(self._extra)
        out.update(
            {
                "tenantid": self.tenant_id or "",
                "baseurl": self.api_server or "",
                "devurl": self._extra.get("devurl", ""),
                "apikey": self.api_key or "",
                "apisecret": self.api_secret or "",
                "username": self.username or "",
                "access_token": self.token or "",
                "refresh_token": self.refresh_token or "",
                "created_at": "" if self.created_at is None else str(self.created_at),
                "expires_in": "" if self.expires_in is None else str(self.expires_in),
                "expires_at": self.expires_at or "",
            }
        )
        return out

    def apply_session(self, session: dict[str, Any], client_name: str | None) -> None:
        """Take over a saved session (from any of the tools that write them)."""
        self.tenant_id = str(session.get("tenantid") or "") or None
        self.api_server = str(session.get("baseurl") or "").rstrip("/") or None
        self.api_key = str(session.get("apikey") or "") or None
        self.api_secret = str(session.get("apisecret") or "") or None
        user = str(session.get("username") or "") or None
        if user:
            self.username, self._username_source = user, "session"
        self.token = str(session.get("access_token") or "") or None
        self.refresh_token = str(session.get("refresh_token") or "") or None
        self.created_at = _optional_int(session.get("created_at"))
        self.expires_in = _optional_int(session.get("expires_in"))
        expires_at = session.get("expires_at")
        if not expires_at and self.created_at is not None and self.expires_in is not None:
            expires_at = format_expires_at(self.created_at + self.expires_in)
        self.expires_at = str(expires_at) if expires_at else None
        self.client_name = client_name or session.get("client_name") or None
        self._extra = {k: v for k, v in session.items() if k not in WIRE_KEYS}
        if "devurl" in session:
            self._extra["devurl"] = session["devurl"]

    def persist(self, make_current: bool = True) -> None:
        """Save this session (see :meth:`SessionStore.save`); nothing to save without a client."""
        if self.api_key:
            self.store.save(self.session(), self.client_name, make_current=make_current)

    def _saved_newer_pair(self, stale: TokenPair) -> TokenPair | None:
        """Tokens another process saved for this same session after ``stale`` was issued."""
        mine = self.session()
        candidates = [self.store.load_current()]
        if self.client_name:
            candidates.append(self.store.find(mine["tenantid"], mine["username"], self.client_name))
        for saved in candidates:
            if not same_identity(saved, mine) or saved is None:
                continue
            token = str(saved.get("refresh_token") or "")
            if token and token != stale.refresh_token:
                pair = TokenPair.from_json(saved)
                if pair.created_at >= stale.created_at:
                    return pair
        return None

    # -- TokenSource (for BearerAuth) ---------------------------------------
    def current_pair(self) -> TokenPair:
        pair = self.pair()
        if pair is None:
            raise NoTokenError()
        return pair

    def refreshed_pair(self, stale: TokenPair) -> TokenPair:
        """Refresh under the session lock, or adopt what another process just saved.

        Refresh tokens rotate: two processes refreshing with the same one
        would make the second fail. So the whole read-refresh-write happens
        under the lock, and the saved session is re-read inside it.
        """
        key, secret = self.require_client()
        with self.store.lock():
            newer = self._saved_newer_pair(stale)
            if newer is not None:
                self.set_pair(newer)
                return newer
            pair = _oauth.refresh_grant(
                self.transport, self.endpoints(), key, secret, stale.refresh_token
            )
            self.set_pair(pair)
            self.persist(make_current=False)
            return pair

    # ------------------------------------------------------------------
    # Saved sessions
    # ------------------------------------------------------------------
    @classmethod
    def restore(
        cls,
        cache_dir: str | os.PathLike[str] | None = None,
        tenant_id: str | None = None,
        username: str | None = None,
        client_name: str | None = None,
        **kwargs: Any,
    ) -> Agave:
        """An Agave object for a saved session (the active one unless named)."""
        ag = cls(cache_dir=cache_dir, **kwargs)
        ag.load_configs(cache_dir, tenant_id=tenant_id, username=username, client_name=client_name)
        return ag

    def load_configs(
        self,
        cache_dir: str | os.PathLike[str] | None = None,
        tenant_id: str | None = None,
        username: str | None = None,
        client_name: str | None = None,
    ) -> None:
        """Load a saved session: the active one, or the one matching what is given."""
        if cache_dir is not None:
            self.store = SessionStore(cache_dir)
        store = self.store
        if tenant_id or username or client_name:
            refs = [
                r
                for r in store.sessions()
                if (not tenant_id or r.tenant == tenant_id)
                and (not username or r.username == username)
                and (not client_name or r.client_name == client_name)
            ]
            if not refs:
                raise NotFoundError(
                    f"no saved session for tenant={tenant_id!r} username={username!r} "
                    f"client_name={client_name!r} in {store.dir}",
                    hint="SessionStore().sessions() lists the saved ones",
                )
            ref = sorted(refs, key=lambda r: not r.current)[0]
            session = store.find(ref.tenant, ref.username, ref.client_name)
            self.apply_session(session or {}, ref.client_name)
            return
        current = store.load_current()
        if current is None:
            config_current = store.load_config()["current"]
            if config_current:
                name, current = next(iter(config_current.items()))
                self.apply_session(current, name)
                return
            raise SessionError(f"no saved session in {store.dir}")
        self.apply_session(current, store.current_client_name())

    def save_configs(self, cache_dir: str | os.PathLike[str] | None = None) -> None:
        """Save this session as the active one (``current`` and ``config.json``)."""
        if not self.client_name:
            raise NoClientError(
                "no client name to save the session under",
                hint="set client_name or call clients_create(name, description) first",
            )
        store = SessionStore(cache_dir) if cache_dir is not None else self.store
        store.save(self.session(), self.client_name, make_current=True)

    def switch(self, tenant_id: str, username: str, client_name: str) -> None:
        """Make another saved session the active one and use it."""
        session = self.store.switch(tenant_id, username, client_name)
        self.apply_session(session, client_name)

    # ------------------------------------------------------------------
    # The seed's methods
    # ------------------------------------------------------------------
    def _client_name_or_current(self, client_name: str | None) -> str:
        name = client_name or self.client_name
        if not name:
            raise NoClientError()
        return check_client_name(name)

    def clients_create(
        self,
        client_name: str,
        description: str = "",
        tier: str = "Unlimited",
        callback_url: str = "",
    ) -> None:
        """Create an OAuth client and make it this session's (key and secret kept, saved)."""
        check_client_name(client_name)
        self.base_url()
        client = self.clients.create(
            client_name, description, tier, callback_url, auth=self.credentials()
        )
        self.client_name = client.name or client_name
        self.api_key = client.consumer_key
        self.api_secret = client.consumer_secret
        self.set_pair(None)
        self.persist(make_current=True)

    def clients_list(self) -> ClientList:
        """The user's clients; a REPL shows the seed's ``NAME  DESCRIPTION`` table."""
        self.base_url()
        return self.clients.list(auth=self.credentials(ask_username=True))

    def clients_delete(self, client_name: str | None = None) -> None:
        """Delete a client (this session's when no name); forget its key if it was ours."""
        name = self._client_name_or_current(client_name)
        self.base_url()
        self.clients.delete(name, auth=self.credentials())
        if name == self.client_name:
            self.api_key = self.api_secret = ""
            self.set_pair(None)
            self.store.forget(self.tenant_id or "", self.username or "", name)

    def clients_update(
        self,
        client_name: str | None = None,
        description: str | None = None,
        tier: str | None = None,
        callback_url: str | None = None,
        post_logout_redirect_uri: str | None = None,
    ) -> Client:
        """Change a client (this session's when no name); returns it as it is now."""
        name = self._client_name_or_current(client_name)
        self.base_url()
        return self.clients.update(
            name, description, tier, callback_url, post_logout_redirect_uri, auth=self.credentials()
        )

    def clients_reset_secret(self, client_name: str | None = None) -> Client:
        """Give a client (this session's when no name) a new secret; its tokens stop working.

        For this session's client the new secret becomes ``api_secret`` and is saved; for
        another client it is only in the returned record's ``consumer_secret``.
        """
        name = self._client_name_or_current(client_name)
        self.base_url()
        return self.clients.reset_secret(name, auth=self.credentials())

    def clients_subscribe(
        self,
        api: str,
        version: str = "v2",
        provider: str = "admin",
        client_name: str | None = None,
    ) -> None:
        """Subscribe a client (this session's when no name) to an API (``"*"``: all)."""
        name = self._client_name_or_current(client_name)
        self.base_url()
        self.clients.subscribe(name, api, version, provider, auth=self.credentials())

    def clients_unsubscribe(
        self,
        api: str,
        version: str | None = None,
        provider: str | None = None,
        client_name: str | None = None,
    ) -> None:
        """Remove a client's subscriptions to an API (``"*"``: all)."""
        name = self._client_name_or_current(client_name)
        self.base_url()
        self.clients.unsubscribe(name, api, version, provider, auth=self.credentials())

    def clients_subscriptions(self, client_name: str | None = None) -> SubscriptionList:
        """A client's subscriptions; a REPL shows the seed's table."""
        name = self._client_name_or_current(client_name)
        self.base_url()
        return self.clients.subscriptions(name, auth=self.credentials())

    clients_subscribtions = clients_subscriptions  # the seed's (and 0.9.5's) spelling

    def get_access_token(self) -> None:
        """Get a token pair with the user's password (prompted unless given); saved."""
        self.require_client()
        self.base_url()
        self.tokens.create()

    def refresh_tokens(self) -> None:
        """Refresh the tokens when within 60 s of expiry or expired (prints, like 0.9.5)."""
        pair = self.pair()
        if pair is None:
            raise NoTokenError()
        if pair.is_expired(leeway=REFRESH_WINDOW):
            print("Refreshing token...")
            self.refreshed_pair(pair)

    def profile(self) -> Profile:
        """The token's user (``GET /profiles/v2/me``), refreshing the token once if needed."""
        from agavepy._auth import BearerAuth

        url = _oauth.endpoint(self.base_url(), "profiles/v2/me")
        response = self.transport.request("GET", url, auth=BearerAuth(self))
        result = envelope_result(response, "getting your profile")
        if not isinstance(result, dict):
            raise AgaveError("getting your profile failed: no profile in the answer")
        return Profile.from_json(result)
