"""OpenID Connect Core 1.0 on the authorization code flow: the ID token and the userinfo claims.

Authlib's ``OpenIDCode`` extension decides when an ID token is due (``openid`` in the code's
scope), checks ``nonce`` replays and ``prompt``; this module says what goes into the token and
signs it with the tenant's key (``keys.py``). An ID token's header says ``typ: JWT`` and its
audience is the client, while an RFC 9068 access token says ``typ: at+jwt`` and is meant for
the tenant's APIs, so neither verifier accepts the other. ``sub`` is the username: stable per
user of a tenant (usernames are never reassigned while the user exists) and what every Agave
API already calls the user.
"""

from __future__ import annotations

import time
from typing import Any

from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oidc.core import OpenIDCode, UserInfo
from authlib.oidc.core.util import create_half_hash

from ..storage import authorization_codes as code_store
from ..storage.records import Tenant, User
from .keys import InvalidJWT, KeyRing

SCOPES = ("openid", "profile", "email")
# Scopes a token of this server can carry: the OIDC ones, and Agave's own ("default": the
# tenant's APIs, what every token has always been good for).
SUPPORTED_SCOPES = frozenset((*SCOPES, "default"))
CLAIMS = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "email",
)
ID_TOKEN_TYP = "JWT"


def subject(user: User) -> str:
    """The ``sub`` of a user: their username (see the module docstring)."""
    return user.username


def user_info(user: User, scope: str) -> UserInfo:
    """The standard claims of ``user`` that ``scope`` allows (``sub`` always)."""
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    claims: dict[str, Any] = {"sub": subject(user), "preferred_username": user.username}
    if name:
        claims["name"] = name
    if user.first_name:
        claims["given_name"] = user.first_name
    if user.last_name:
        claims["family_name"] = user.last_name
    if user.email:
        claims["email"] = user.email
    info = UserInfo(claims).filter(scope)
    info["sub"] = subject(user)
    return info


def allowed_scope(requested: str | None) -> str:
    """The requested scopes this server knows, in request order ('default' if none)."""
    kept: list[str] = []
    for item in scope_to_list(requested or "") or []:
        if item in SUPPORTED_SCOPES and item not in kept:
            kept.append(item)
    return " ".join(kept) or "default"


class AgaveOpenIDCode(OpenIDCode):
    """Authlib's OpenID Connect extension of the code grant, signing with the tenant's key."""

    def __init__(self) -> None:
        super().__init__(require_nonce=False)

    def exists_nonce(self, nonce: str, request) -> bool:
        return code_store.nonce_seen(request.db, request.client.id, nonce[:255])

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        return user_info(user, scope)

    def process_token(self, grant, response):
        # The extension is shared by every request; the server (its keys and settings) is
        # the grant's, so it travels on the request to ``encode_id_token``.
        grant.request.oauth_server = grant.server
        return super().process_token(grant, response)

    def encode_id_token(self, token: dict, request) -> str:
        server = request.oauth_server
        tenant: Tenant = request.tenant
        keys: KeyRing = server.keys
        signing = keys.current(tenant)
        issued = int(time.time())
        claims: dict[str, Any] = {
            "iss": tenant.issuer,
            "aud": request.client.get_client_id(),
            "azp": request.client.get_client_id(),
            "iat": issued,
            "exp": issued + server.settings.id_token_lifetime,
            **self.get_authorization_code_claims(request.authorization_code),
        }
        claims["at_hash"] = create_half_hash(token["access_token"], signing.alg).decode("ascii")
        claims.update(self.generate_user_info(request.user, token["scope"]))
        return keys.sign(tenant, claims, typ=ID_TOKEN_TYP)


def verify_id_token(keys: KeyRing, tenant: Tenant, token: str) -> dict[str, Any] | None:
    """The claims of an ID token this tenant signed (key, alg, ``typ: JWT``, ``iss``, unexpired),
    for any of its clients; None for anything else, an access token included."""
    try:
        return keys.verify(tenant, token, typ=ID_TOKEN_TYP, audience=None)
    except InvalidJWT:
        return None


def register_metadata(metadata) -> None:
    """This module's and the browser flow's entries in the discovery documents."""
    from .authorize import AUTHORIZE_PATH
    from .logout import LOGOUT_PATH

    metadata.add_endpoint("authorization_endpoint", AUTHORIZE_PATH)
    metadata.add_endpoint("userinfo_endpoint", "/oauth2/userinfo")
    metadata.add_endpoint("end_session_endpoint", LOGOUT_PATH)
    metadata.add("scopes_supported", list(SCOPES))
    metadata.add("response_modes_supported", ["query"])
    metadata.add("claims_supported", list(CLAIMS), openid_only=True)
    metadata.add("prompt_values_supported", ["none", "login", "consent"], openid_only=True)
    metadata.add("claims_parameter_supported", False, openid_only=True)
    metadata.add("request_parameter_supported", False, openid_only=True)
    metadata.add("request_uri_parameter_supported", False, openid_only=True)
