"""Sign-in through an upstream OpenID Connect provider: the redirect/callback pair.

``start`` sends the browser to the upstream's authorization endpoint (code flow, PKCE S256,
``state`` and ``nonce``) with Authlib's client; ``finish`` takes the upstream's answer at this
upstream's own callback URL, exchanges the code, verifies the ID token (issuer, audience,
signature from the upstream's JWKS, nonce, expiry) and returns the tenant's user for the
upstream's (issuer, ``sub``), creating one on first sign-in. The caller (the page) then signs
the browser in to the tenant; tokens come from the tenant's own flows afterwards.

Binding to the browser: ``start`` gives the browser a random cookie value and stores only its
digest next to the state's digest; the PKCE verifier and the nonce are derived from the cookie
value and the state, so nothing secret is stored, and an answer arriving in another browser
(or replayed: the row is consumed) is refused.

Mix-up defence (RFC 9700 section 4.4): each upstream has its own callback URL and the sign-in
row names the upstream it was started with; an ``iss`` in the answer (RFC 9207) must be that
upstream's issuer, and is required when the upstream announces it sends one.

Federated users are never linked to a local or directory account by name: a new (issuer, sub)
always gets a new user, under the configured claim's value made unique.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import threading
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..errors import AgaveError, Forbidden, NotFound, ServiceUnavailable
from ..security import digest, digest_matches, new_secret
from ..services.validation import USERNAME_RE
from ..storage import Database, identity_config, now
from ..storage import federation as store
from ..storage import users as user_store
from ..storage.records import Tenant, Upstream, UpstreamLogin, User
from . import secret_box

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client


def _authlib_client() -> tuple[type, type[Exception]]:
    """Authlib's httpx ``OAuth2Client`` and its ``OAuthError``, imported on first use.

    Only a sign-in through an upstream provider needs them; importing them (with httpx) at
    module import cost every server start ~0.1 s of CPU.
    """
    with warnings.catch_warnings():
        # Authlib 1.7+ prefers the httpx2 package and warns when it falls back to httpx,
        # which is what this project depends on (and what Authlib's client still works
        # with). Its module installs an "always" filter on import, so it is imported first.
        import authlib.deprecate  # noqa: F401

        warnings.simplefilter("ignore", DeprecationWarning)
        from authlib.integrations.httpx_client import OAuth2Client, OAuthError
    return OAuth2Client, OAuthError


log = logging.getLogger(__name__)

LOGIN_LIFETIME = 600  # seconds a person has to finish signing in at the upstream
METADATA_TTL = 300
HTTP_TIMEOUT = 10.0
# Asymmetric signatures only: never "none", and no HMAC keyed with a secret we also hold.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
CLOCK_LEEWAY = 60
_NAME_TRIM = re.compile(r"[^A-Za-z0-9_.@-]")


class UpstreamRefused(AgaveError):
    """The sign-in cannot be completed; the message says why and what to do (shown on a page)."""

    status = 400


def callback_url(tenant: Tenant, name: str) -> str:
    return f"{tenant.base_url.rstrip('/')}/login/upstream/{name}/callback"


def _derived(browser_secret: str, state: str, purpose: bytes) -> str:
    mac = hmac.new(browser_secret.encode(), purpose + b"|" + state.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def pkce_verifier(browser_secret: str, state: str) -> str:
    return _derived(browser_secret, state, b"pkce")  # 43 characters: RFC 7636's minimum


def nonce_for(browser_secret: str, state: str) -> str:
    return _derived(browser_secret, state, b"nonce")


# -- the upstream's metadata and keys, cached per process --------------------------------------


@dataclass
class _Cached:
    value: Any
    fetched_at: float


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()


def _get_json(url: str, what: str, upstream: Upstream) -> dict:
    import httpx  # here, not at import: only a sign-in through an upstream needs it

    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as err:
        log.warning("upstream %s: %s %s failed: %s", upstream.name, what, url, err)
        raise ServiceUnavailable(
            f"The sign-in provider {upstream.name} ({upstream.issuer}) cannot be reached; "
            "try again in a moment."
        ) from None
    if response.status_code != 200:
        raise ServiceUnavailable(
            f"The sign-in provider {upstream.name} answered {response.status_code} for its {what}; "
            "try again in a moment."
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ServiceUnavailable(f"The sign-in provider {upstream.name}'s {what} is not JSON.")
    return body


def metadata(upstream: Upstream, fresh: bool = False) -> dict:
    """The upstream's OpenID Provider metadata (OIDC Discovery), checked against its issuer."""
    key = "meta:" + upstream.issuer
    with _cache_lock:
        cached = _cache.get(key)
    if cached and not fresh and time.monotonic() - cached.fetched_at < METADATA_TTL:
        return cached.value
    url = upstream.issuer.rstrip("/") + "/.well-known/openid-configuration"
    meta = _get_json(url, "metadata", upstream)
    if meta.get("issuer") != upstream.issuer:
        # OIDC Discovery section 4.3: a provider speaking for another issuer is not this one.
        raise ServiceUnavailable(
            f"The sign-in provider {upstream.name}'s metadata names the issuer "
            f"{str(meta.get('issuer'))[:200]!r}, not the configured {upstream.issuer!r}; "
            "the operator must fix the --issuer setting."
        )
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(meta.get(field), str):
            raise ServiceUnavailable(
                f"The sign-in provider {upstream.name}'s metadata has no {field}."
            )
    with _cache_lock:
        _cache[key] = _Cached(meta, time.monotonic())
    return meta


def _keys(upstream: Upstream, jwks_uri: str, fresh: bool) -> KeySet:
    key = "jwks:" + jwks_uri
    with _cache_lock:
        cached = _cache.get(key)
    if cached and not fresh and time.monotonic() - cached.fetched_at < METADATA_TTL:
        return cached.value
    try:
        keys = KeySet.import_key_set(_get_json(jwks_uri, "keys (JWKS)", upstream))  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError) as err:
        raise ServiceUnavailable(
            f"The sign-in provider {upstream.name}'s keys (JWKS) cannot be read: {err}"
        ) from None
    with _cache_lock:
        _cache[key] = _Cached(keys, time.monotonic())
    return keys


def forget_cached(issuer: str | None = None) -> None:
    """Drop cached metadata and keys (all, or one issuer's metadata)."""
    with _cache_lock:
        if issuer is None:
            _cache.clear()
        else:
            _cache.pop("meta:" + issuer, None)


# -- ID token verification ----------------------------------------------------------------------


def verify_id_token(
    id_token: str,
    keys: KeySet,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: list[str] | tuple[str, ...] = ("RS256",),
    now_at: int | None = None,
) -> dict:
    """The ID token's claims, or UpstreamRefused: signature (``keys``, ``algorithms``), ``iss``,
    ``aud`` (and ``azp`` with several audiences), ``exp``, ``iat``, ``sub`` and ``nonce``
    (OIDC Core section 3.1.3.7)."""
    try:
        token = jwt.decode(id_token, keys, algorithms=list(algorithms))
    except JoseError as err:
        raise UpstreamRefused(
            f"The sign-in provider's ID token is not validly signed ({err.error}); "
            "the sign-in was refused."
        ) from None
    except ValueError as err:
        raise UpstreamRefused(f"The sign-in provider's ID token is malformed: {err}") from None
    claims = token.claims
    registry = jwt.JWTClaimsRegistry(
        now=now_at,
        leeway=CLOCK_LEEWAY,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as err:
        raise UpstreamRefused(
            f"The sign-in provider's ID token was refused: {err.description or err.error}."
        ) from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise UpstreamRefused("The sign-in provider's ID token is for another party (azp).")
    if not isinstance(claims["sub"], str) or not 0 < len(claims["sub"]) <= 255:
        raise UpstreamRefused("The sign-in provider's ID token has an unusable sub.")
    return claims


# -- the redirect ---------------------------------------------------------------------------------


def _client(tenant: Tenant, upstream: Upstream, meta: dict) -> OAuth2Client:
    methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    client_class, _ = _authlib_client()
    return client_class(
        client_id=upstream.client_id,
        client_secret=secret_box.unseal(
            upstream.client_secret, secret_box.upstream_context(tenant.id, upstream.name)
        ),
        token_endpoint_auth_method=method,
        scope=upstream.scope,
        redirect_uri=callback_url(tenant, upstream.name),
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT,
    )


def require_upstream(db: Database, tenant: Tenant, name: str) -> Upstream:
    upstream = identity_config.get_upstream(db, tenant.id, name)
    if upstream is None:
        raise NotFound(f"Tenant {tenant.code} has no sign-in provider named {name[:64]!r}.")
    return upstream


@dataclass(frozen=True)
class Redirect:
    url: str  # the upstream's authorization endpoint, with the request
    browser_secret: str  # for the browser's cookie (binds the answer to this browser)


def start(db: Database, tenant: Tenant, name: str, next_path: str | None) -> Redirect:
    """Begin signing in with upstream ``name``; ``next_path`` is where to continue after."""
    upstream = require_upstream(db, tenant, name)
    meta = metadata(upstream)
    state, browser_secret = new_secret(), new_secret()
    store.add_login(
        db,
        UpstreamLogin(
            state_digest=digest(state),
            tenant_id=tenant.id,
            upstream_id=upstream.id,
            browser_digest=digest(browser_secret),
            next_path=next_path or "",
            expires_at=now() + LOGIN_LIFETIME,
        ),
    )
    with _client(tenant, upstream, meta) as client:
        url, _ = client.create_authorization_url(
            meta["authorization_endpoint"],
            state=state,
            code_verifier=pkce_verifier(browser_secret, state),
            nonce=nonce_for(browser_secret, state),
        )
    return Redirect(url, browser_secret)


# -- the callback -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    user: User
    next_path: str


def _one(params: dict[str, str], name: str) -> str | None:
    value = params.get(name)
    return value if value else None


def _check_answer(
    db: Database, tenant: Tenant, upstream: Upstream, params: dict[str, str], browser: str | None
) -> tuple[UpstreamLogin, str]:
    """The sign-in row this answer belongs to (consumed) and the code; or UpstreamRefused."""
    state = _one(params, "state")
    if state is None or len(state) > 512:
        raise UpstreamRefused(
            f"The answer from {upstream.name} has no usable state; start signing in again."
        )
    login = store.take_login(db, digest(state))
    again = "Start signing in again from the sign-in page."
    if login is None or login.tenant_id != tenant.id:
        raise UpstreamRefused(f"This sign-in was already completed or has expired. {again}")
    if login.upstream_id != upstream.id:
        raise UpstreamRefused(
            f"This answer came to {upstream.name}'s address, but the sign-in was started with "
            f"another provider; it was refused. {again}"
        )
    if browser is None or not digest_matches(browser, login.browser_digest):
        raise UpstreamRefused(
            f"This sign-in was started in another browser (or its cookie is gone). {again}"
        )
    if login.expires_at < now():
        raise UpstreamRefused(f"This sign-in took longer than ten minutes. {again}")
    meta = metadata(upstream)
    iss = _one(params, "iss")
    if iss is None and meta.get("authorization_response_iss_parameter_supported"):
        raise UpstreamRefused(
            f"The answer claims to come from {upstream.name} but carries no iss; refused."
        )
    if iss is not None and iss != upstream.issuer:
        raise UpstreamRefused(
            f"The answer at {upstream.name}'s address was issued by {iss[:200]!r}, not by "
            f"{upstream.issuer!r}: refused (mix-up defence)."
        )
    error = _one(params, "error")
    if error is not None:
        description = _one(params, "error_description") or ""
        raise UpstreamRefused(
            f"{upstream.name} did not sign you in ({error[:64]}"
            + (f": {description[:300]}" if description else "")
            + f"). {again}"
        )
    code = _one(params, "code")
    if code is None:
        raise UpstreamRefused(f"The answer from {upstream.name} has no code. {again}")
    return login, code


def _exchange(
    tenant: Tenant, upstream: Upstream, meta: dict, code: str, verifier: str
) -> dict[str, Any]:
    import httpx

    _, OAuthError = _authlib_client()
    with _client(tenant, upstream, meta) as client:
        try:
            return dict(
                client.fetch_token(
                    meta["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=verifier,
                )
            )
        except OAuthError as err:
            raise UpstreamRefused(
                f"{upstream.name} refused to complete the sign-in ({err.error}"
                + (f": {err.description}" if err.description else "")
                + "). Start signing in again."
            ) from None
        except httpx.HTTPError as err:
            log.warning("upstream %s token request failed: %s", upstream.name, err)
            raise ServiceUnavailable(
                f"The sign-in provider {upstream.name} cannot be reached; try again in a moment."
            ) from None
        except ValueError as err:  # not JSON: an error page, a proxy's answer
            log.warning("upstream %s token answer unreadable: %s", upstream.name, err)
            raise ServiceUnavailable(
                f"The sign-in provider {upstream.name} answered the token request with "
                "something that is not a token; try again in a moment."
            ) from None


def _verified_claims(upstream: Upstream, meta: dict, id_token: str, nonce: str) -> dict:
    offered = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in offered if a in SIGNING_ALGORITHMS] or ["RS256"]
    check = {"issuer": upstream.issuer, "client_id": upstream.client_id, "nonce": nonce}
    try:
        return verify_id_token(
            id_token, _keys(upstream, meta["jwks_uri"], False), algorithms=algorithms, **check
        )
    except UpstreamRefused:
        # A key rotated since the keys were cached: fetch them once more, then decide.
        return verify_id_token(
            id_token, _keys(upstream, meta["jwks_uri"], True), algorithms=algorithms, **check
        )


def _userinfo(upstream: Upstream, meta: dict, token: dict, sub: str) -> dict:
    """Claims from the userinfo endpoint (where providers put profile claims), same ``sub``."""
    endpoint = meta.get("userinfo_endpoint")
    access_token = token.get("access_token")
    if not endpoint or not access_token:
        return {}
    import httpx

    try:
        response = httpx.get(
            endpoint,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            timeout=HTTP_TIMEOUT,
        )
    except httpx.HTTPError as err:
        log.warning("upstream %s userinfo failed: %s", upstream.name, err)
        return {}
    if response.status_code != 200:
        return {}
    try:
        info = response.json()
    except ValueError:
        return {}
    if not isinstance(info, dict) or info.get("sub") != sub:
        return {}  # OIDC Core 5.3.2: a userinfo answer about someone else is ignored
    return info


def _claim_text(claims: dict, name: str, limit: int = 255) -> str:
    value = claims.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _check_email(upstream: Upstream, claims: dict) -> None:
    if not upstream.email_domains:
        return
    email = _claim_text(claims, "email").lower()
    domain = email.rpartition("@")[2]
    if claims.get("email_verified") is not True:
        raise Forbidden(
            f"Sign-in with {upstream.name} is open to verified e-mail addresses of "
            f"{', '.join(upstream.email_domains)} only, and {upstream.name} does not say your "
            "address is verified."
        )
    if "@" not in email or domain not in upstream.email_domains:
        raise Forbidden(
            f"Sign-in with {upstream.name} is open to e-mail addresses of "
            f"{', '.join(upstream.email_domains)} only; yours ({email or 'none'}) is not one."
        )


def username_candidates(value: str) -> list[str]:
    """``value`` and then ``value-2`` ... ``value-99``, each within the 64-character limit."""
    out = [value]
    for n in range(2, 100):
        suffix = f"-{n}"
        out.append(value[: 64 - len(suffix)] + suffix)
    return out


def _username(upstream: Upstream, claims: dict) -> str:
    value = claims.get(upstream.username_claim)
    if not isinstance(value, str) or not value:
        raise UpstreamRefused(
            f"{upstream.name} did not send the {upstream.username_claim!r} claim this tenant "
            "takes usernames from, so you cannot be signed in; ask the tenant's operator."
        )
    if not USERNAME_RE.fullmatch(value):
        shown = _NAME_TRIM.sub("?", value[:64])
        raise UpstreamRefused(
            f"Your {upstream.name} {upstream.username_claim} {shown!r} cannot be a username on "
            "this tenant: usernames are 1 to 64 characters from A-Z a-z 0-9 _ . @ -. "
            "Ask the tenant's operator."
        )
    return value


def finish(
    db: Database,
    tenant: Tenant,
    name: str,
    params: dict[str, str],
    browser_secret: str | None,
) -> SignedIn:
    """Complete the sign-in from the upstream's answer at ``name``'s callback."""
    upstream = require_upstream(db, tenant, name)
    login, code = _check_answer(db, tenant, upstream, params, browser_secret)
    assert browser_secret is not None
    state = params["state"]
    meta = metadata(upstream)
    token = _exchange(tenant, upstream, meta, code, pkce_verifier(browser_secret, state))
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise UpstreamRefused(f"{upstream.name} sent no ID token; the sign-in was refused.")
    claims = _verified_claims(upstream, meta, id_token, nonce_for(browser_secret, state))
    sub = claims["sub"]
    claims = {**_userinfo(upstream, meta, token, sub), **claims}
    _check_email(upstream, claims)
    profile = (
        _claim_text(claims, "email"),
        _claim_text(claims, "given_name"),
        _claim_text(claims, "family_name"),
    )
    user = store.find_user(db, tenant.id, upstream.issuer, sub)
    if user is None:
        try:
            user = store.create_user(
                db,
                tenant.id,
                upstream.issuer,
                sub,
                username_candidates(_username(upstream, claims)),
                *profile,
            )
        except store.NoFreeUsername:
            raise UpstreamRefused(
                "Every username this tenant could give you is taken; ask the operator."
            ) from None
    else:
        store.touch(db, tenant.id, upstream.issuer, sub)
        user = user_store.refresh_profile(db, user, *profile)
    log.info("upstream %s signed in user %s of tenant %s", upstream.name, user.id, tenant.code)
    return SignedIn(user, login.next_path)
