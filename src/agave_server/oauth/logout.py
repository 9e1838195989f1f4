"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at ``end_session_endpoint``.

The decision is made here; the page layer only renders it. Rules:
- ``id_token_hint`` must be an ID token this tenant signed (an access token is refused); its
  audience names the client, and a ``client_id`` given too must be the same client.
- ``post_logout_redirect_uri`` is followed only when it is exactly the URI registered for that
  client (``clients.post_logout_redirect_uri``); otherwise an error page, never a redirect.
- The browser is signed out at once when the hint's ``sub`` is the signed-in user; otherwise
  (no hint, an expired hint, another user) the person confirms on a page first, so a link on
  another site cannot sign them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from ..storage.records import Tenant, User
from .oidc import subject, verify_id_token

LOGOUT_PATH = "/oauth2/logout"
CARRIED = ("id_token_hint", "post_logout_redirect_uri", "state", "client_id")


class LogoutRefused(Exception):
    """The request names a client or a redirect this tenant does not know; shown as a page."""


@dataclass(frozen=True)
class LogoutPlan:
    """What to do: sign out now or ask first, and where to go afterwards (None: our page)."""

    sign_out_now: bool
    redirect_to: str | None
    client_name: str | None
    carried: dict[str, str]


def _redirect_with_state(uri: str, state: str | None) -> str:
    if not state:
        return uri
    return uri + ("&" if "?" in uri else "?") + urlencode({"state": state})


def plan(server, tenant: Tenant, params: Mapping[str, str], user: User | None) -> LogoutPlan:
    """Check a logout request (see the module docstring); raises ``LogoutRefused``."""
    hint = params.get("id_token_hint") or None
    claims = verify_id_token(server.keys, tenant, hint) if hint else None
    if hint and claims is None and not _expired_ours(server, tenant, hint):
        raise LogoutRefused(
            "The id_token_hint is not an ID token issued by this site; nothing was done."
        )
    client_id = params.get("client_id") or None
    audience = _audience(claims) if claims else None
    if client_id and audience and client_id != audience:
        raise LogoutRefused("The client_id and the id_token_hint name different clients.")
    client = server.lookup_client(tenant, client_id or audience) if client_id or audience else None
    if (client_id or audience) and client is None:
        raise LogoutRefused("The client of this sign-out request is not known here.")
    redirect = params.get("post_logout_redirect_uri") or None
    if redirect is not None:
        if client is None:
            raise LogoutRefused(
                "A post_logout_redirect_uri needs the client: send client_id or id_token_hint."
            )
        registered = client.record.post_logout_redirect_uri
        if not registered or redirect != registered:
            raise LogoutRefused(
                f"The post_logout_redirect_uri is not the one registered for client "
                f"{client.record.name}; nothing was sent to it."
            )
        redirect = _redirect_with_state(redirect, params.get("state"))
    now_ok = bool(user and claims and claims.get("sub") == subject(user))
    carried = {k: v for k, v in params.items() if k in CARRIED and v}
    return LogoutPlan(
        sign_out_now=now_ok or user is None,
        redirect_to=redirect,
        client_name=client.record.name if client else None,
        carried=carried,
    )


def _audience(claims: Mapping) -> str | None:
    aud = claims.get("aud")
    if isinstance(aud, list):
        aud = aud[0] if len(aud) == 1 else claims.get("azp")
    return aud if isinstance(aud, str) else None


def _expired_ours(server, tenant: Tenant, token: str) -> bool:
    """An ID token of ours that has only expired: a usable hint for the client (the spec
    allows it), but not for signing out without asking."""
    from .keys import InvalidJWT

    try:
        server.keys.verify(tenant, token, typ="JWT", audience=None)
    except InvalidJWT as err:
        return "expired" in str(err).lower()
    return False
