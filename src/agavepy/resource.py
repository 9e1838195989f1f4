"""Check Agave bearer tokens in a resource server: one function and a Starlette/FastAPI dependency.

A backend that Agave users call with ``Authorization: Bearer <token>`` asks here whether the
token is good for it. Two kinds of token, one answer (:class:`AccessToken`, or
:class:`InvalidTokenError`):

- **JWT access tokens** (RFC 9068) are checked locally: the signature against the tenant's
  JWKS (found from the configured issuer's discovery document, never from the token; cached,
  fetched again when a token names a key id it has not seen, at most every few seconds), the
  algorithm pinned (RS256 or ES256: never ``none``, never an HMAC keyed with a public key), the
  header's ``typ`` ``at+jwt`` (so an ID token, whose ``typ`` is ``JWT``, is refused), ``iss``,
  ``aud``, ``exp``, ``nbf`` and a ``client_id``. A JWT revoked at the tenant still verifies
  here until it expires unless ``introspect_jwts=True`` asks the tenant each time.
- **Opaque tokens** (the Agave default) are sent to the tenant's introspection endpoint
  (RFC 7662) with the resource server's own client key and secret; ask the tenant's operator
  to mark that client as a resource server so it may look at every token of the tenant.

This module imports nothing heavy at import time: joserfc (the ``agave-oauth[resource]``
extra) is imported with the first JWT, Starlette only by :func:`require_token`, httpx with
the first request. It never prompts and never prints.
"""

from __future__ import annotations

import base64
import inspect
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from agavepy._discovery import Endpoints, discover
from agavepy._transport import Transport, check_url, error_from_response, json_body
from agavepy.errors import AgaveError, NetworkError, ServerError

#: The only signature algorithms accepted (RFC 9068 section 4 requires RS256 support).
ALGORITHMS = ("RS256", "ES256")
_KEY_TYPES = {"RS256": "RSA", "ES256": "EC"}
_ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")
#: Longer bearer values are refused before any parsing (an Agave JWT is under 1,000).
MAX_TOKEN_LENGTH = 8192
#: A key id the cached JWKS does not know makes us fetch it again, but not more often than this.
MIN_REFETCH_SECONDS = 5.0


class TokenRefused(AgaveError):
    """The bearer token does not give access; ``error`` is the RFC 6750 error code."""

    error = "invalid_token"


class InvalidTokenError(TokenRefused):
    """The bearer token is missing, malformed, expired, revoked or not meant for us (401)."""

    default_hint = "get a new access token from the tenant"

    def __init__(self, message: str, **kw: Any) -> None:
        kw.setdefault("status", 401)
        super().__init__(message, **kw)


class InsufficientScopeError(TokenRefused):
    """The token is good but lacks a scope this call needs (403)."""

    error = "insufficient_scope"
    default_hint = "ask for a token with the scopes this API needs"

    def __init__(self, message: str, **kw: Any) -> None:
        kw.setdefault("status", 403)
        super().__init__(message, **kw)


@dataclass(frozen=True)
class AccessToken:
    """A verified access token: whose it is, which client holds it, for what, until when."""

    username: str
    subject: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: int | None
    issued_at: int | None
    format: str  # "jwt" (checked locally) or "opaque" (checked by introspection)
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)


def _joserfc() -> Any:
    """joserfc's modules, imported on the first JWT (the ``agave-oauth[resource]`` extra)."""
    try:
        import joserfc.errors
        import joserfc.jwk
        import joserfc.jwt
    except ImportError:
        raise AgaveError(
            "checking JWT access tokens needs joserfc",
            hint="pip install 'agave-oauth[resource]'",
        ) from None
    return joserfc


def _b64json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def _jwt_header(token: str) -> dict[str, Any] | None:
    """The JOSE header if the token looks like a compact JWS, else None (an opaque token)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = _b64json(parts[0])
    except (ValueError, UnicodeError):
        return None
    return header if isinstance(header, dict) else None


def _shown(value: Any) -> str:
    """A value from the token, quoted for a message: short, whatever the sender put there."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _scopes(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def _number(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class TokenVerifier:
    """Verifies bearer tokens for one tenant (and one audience); safe to share between threads.

    ``issuer``: the tenant's issuer (its base URL without the trailing slash).
    ``audience``: what the token's ``aud`` must contain (default: the tenant's base URL, the
    issuer with a trailing slash, which is the audience an Agave tenant puts in its access
    tokens for the APIs under it; an ID token's audience is a client id, so never this).
    ``client_id`` / ``client_secret``: the resource server's client, needed for opaque tokens
    (introspection) and for ``introspect_jwts``.
    """

    def __init__(
        self,
        issuer: str,
        *,
        audience: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        algorithms: Iterable[str] = ALGORITHMS,
        introspect_jwts: bool = False,
        leeway: int = 30,
        jwks_cache_seconds: float = 300.0,
        jwks_min_refetch_seconds: float = MIN_REFETCH_SECONDS,
        verify: bool | str = True,
        timeout: float = 10.0,
    ) -> None:
        self.issuer = check_url(issuer, "issuer").rstrip("/")
        self.audience = audience or self.issuer + "/"
        self.algorithms = tuple(a for a in algorithms if a in _KEY_TYPES)
        if not self.algorithms:
            raise ValueError(f"algorithms must be some of {', '.join(ALGORITHMS)}")
        if bool(client_id) != bool(client_secret):
            raise ValueError("give both client_id and client_secret, or neither")
        self.client = (client_id, client_secret) if client_id and client_secret else None
        if introspect_jwts and self.client is None:
            raise ValueError("introspect_jwts needs client_id and client_secret")
        self.introspect_jwts = introspect_jwts
        self.leeway = leeway
        self.jwks_cache_seconds = jwks_cache_seconds
        self.jwks_min_refetch_seconds = jwks_min_refetch_seconds
        self._transport = Transport(verify=verify, timeout=timeout)
        self._lock = threading.Lock()
        self._endpoints: Endpoints | None = None
        self._keys: dict[str, dict[str, Any]] = {}
        self._keys_fetched = 0.0
        self._parsed: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"TokenVerifier({self.issuer!r}, audience={self.audience!r})"

    def close(self) -> None:
        """Close the connection pool (to the tenant's JWKS and introspection endpoints)."""
        self._transport.close()

    def __enter__(self) -> TokenVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one question ---------------------------------------------------------------------
    def verify(self, token: str, scopes: Iterable[str] = ()) -> AccessToken:
        """The verified token, or :class:`InvalidTokenError` / :class:`InsufficientScopeError`.

        :class:`~agavepy.errors.NetworkError` when the tenant cannot be reached to fetch its
        keys or to introspect (the token is then neither good nor bad: answer 503).
        """
        if not isinstance(token, str) or not token.strip():
            raise InvalidTokenError("no bearer token")
        token = token.strip()
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError(f"the token is longer than {MAX_TOKEN_LENGTH} characters")
        header = _jwt_header(token)
        found = self._verify_jwt(token, header) if header is not None else self._introspect(token)
        missing = [s for s in scopes if s not in found.scopes]
        if missing:
            raise InsufficientScopeError(f"the token lacks the scope {' '.join(missing)}")
        return found

    # -- JWT access tokens (RFC 9068) ---------------------------------------------------------
    def _verify_jwt(self, token: str, header: dict[str, Any]) -> AccessToken:
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise InvalidTokenError(
                f"the token is signed with {_shown(alg)}; "
                f"only {', '.join(self.algorithms)} are accepted"
            )
        typ = str(header.get("typ", "")).lower()
        if typ not in _ACCESS_TOKEN_TYPES:
            raise InvalidTokenError(
                f"the token's type is {_shown(header.get('typ'))}, not an access token (at+jwt); "
                "an ID token is never accepted as an access token"
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidTokenError("the token names no signing key (kid)")
        jwk = self._key(kid)
        if jwk.get("kty") != _KEY_TYPES[alg] or jwk.get("alg") not in (None, alg):
            raise InvalidTokenError(f"the token's key {_shown(kid)} is not a {alg} key")
        if jwk.get("use") not in (None, "sig"):
            raise InvalidTokenError(f"the token's key {_shown(kid)} is not a signing key")
        claims = self._signed_claims(token, jwk, alg)
        self._check_claims(claims)
        if self.introspect_jwts:
            self._introspect(token)  # revoked at the tenant: refused now, not at expiry
        username = claims.get("username") or claims.get("preferred_username") or claims["sub"]
        return AccessToken(
            username=str(username),
            subject=str(claims["sub"]),
            client_id=str(claims["client_id"]),
            scopes=_scopes(claims.get("scope")),
            expires_at=_number(claims.get("exp")),
            issued_at=_number(claims.get("iat")),
            format="jwt",
            claims=claims,
        )

    def _signed_claims(self, token: str, jwk: dict[str, Any], alg: str) -> dict[str, Any]:
        jose = _joserfc()
        try:
            decoded = jose.jwt.decode(token, self._public_key(jwk), algorithms=[alg])
        except (jose.errors.JoseError, ValueError) as exc:
            raise InvalidTokenError(f"the token's signature does not verify ({exc})") from None
        return dict(decoded.claims)

    def _public_key(self, jwk: dict[str, Any]) -> Any:
        """The key object for a JWK, parsed once per key (parsing costs more than checking)."""
        cache_key = json.dumps(jwk, sort_keys=True)
        key = self._parsed.get(cache_key)
        if key is None:
            key = _joserfc().jwk.JWKRegistry.import_key(jwk)
            with self._lock:
                if len(self._parsed) > 64:  # keys rotate rarely; never grow without bound
                    self._parsed.clear()
                self._parsed[cache_key] = key
        return key

    def _check_claims(self, claims: dict[str, Any]) -> None:
        jose = _joserfc()
        registry = jose.jwt.JWTClaimsRegistry(
            leeway=self.leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            sub={"essential": True},
            client_id={"essential": True},
        )
        try:
            registry.validate(claims)
        except jose.errors.ExpiredTokenError:
            raise InvalidTokenError("the token has expired") from None
        except jose.errors.JoseError as exc:
            raise InvalidTokenError(f"the token is not for this service ({exc})") from None
        iat = claims.get("iat")
        if _number(iat) is not None and iat > time.time() + self.leeway:
            raise InvalidTokenError("the token was issued in the future")

    def _key(self, kid: str) -> dict[str, Any]:
        """The tenant's public key ``kid``: cached; an unknown one fetches the JWKS again."""
        with self._lock:
            age = time.monotonic() - self._keys_fetched
            if kid in self._keys and age < self.jwks_cache_seconds:
                return self._keys[kid]
            recent = self._keys_fetched and age < self.jwks_min_refetch_seconds
            if kid not in self._keys and recent:
                raise InvalidTokenError(f"the token is signed with an unknown key {_shown(kid)}")
            self._keys = self._fetch_jwks()
            self._keys_fetched = time.monotonic()
            if kid not in self._keys:
                raise InvalidTokenError(f"the token is signed with an unknown key {_shown(kid)}")
            return self._keys[kid]

    def _fetch_jwks(self) -> dict[str, dict[str, Any]]:
        url = self.endpoints().jwks_uri
        response = self._transport.request("GET", url)
        if not response.is_success:
            raise error_from_response(response, f"fetching the tenant's keys from {url}")
        body = json_body(response)
        keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(keys, list):
            raise AgaveError(f"fetching the tenant's keys from {url} failed: not a JWKS")
        return {k["kid"]: k for k in keys if isinstance(k, dict) and isinstance(k.get("kid"), str)}

    # -- opaque tokens: introspection (RFC 7662) ----------------------------------------------
    def _introspect(self, token: str) -> AccessToken:
        from agavepy import _oauth

        if self.client is None:
            raise InvalidTokenError(
                "the token is opaque and this service has no client credentials to "
                "introspect it (TokenVerifier(client_id=..., client_secret=...))"
            )
        info = _oauth.introspect(self._transport, self.endpoints(), *self.client, token)
        if not info.active:
            raise InvalidTokenError("the token is not active (revoked, expired or unknown)")
        if info.extra.get("iss") not in (None, self.issuer):
            raise InvalidTokenError("the token was issued by another tenant")
        aud = info.extra.get("aud")
        if aud is not None and self.audience not in (aud if isinstance(aud, list) else [aud]):
            raise InvalidTokenError("the token is not for this service (aud)")
        return AccessToken(
            username=info.username or info.sub,
            subject=info.sub or info.username,
            client_id=info.client_id,
            scopes=_scopes(info.scope),
            expires_at=info.exp,
            issued_at=info.iat,
            format="opaque",
            claims=info.to_json(),
        )

    def endpoints(self) -> Endpoints:
        """The tenant's endpoints, from the configured issuer's discovery document (once)."""
        if self._endpoints is None:
            found, keep = discover(self._transport, self.issuer)
            if not keep:
                return found
            self._endpoints = found
        return self._endpoints


_VERIFIERS: dict[tuple[Any, ...], TokenVerifier] = {}
_VERIFIERS_LOCK = threading.Lock()


def verify_token(
    token: str, issuer: str, *, scopes: Iterable[str] = (), **options: Any
) -> AccessToken:
    """Verify one bearer token for the tenant ``issuer`` (options: see :class:`TokenVerifier`).

    One verifier (with its JWKS cache) is kept per issuer and options, so calling this for
    every request costs a signature check, not a key download.
    """
    key = (issuer.rstrip("/"), tuple(sorted((k, repr(v)) for k, v in options.items())))
    with _VERIFIERS_LOCK:
        verifier = _VERIFIERS.get(key)
        if verifier is None:
            verifier = _VERIFIERS[key] = TokenVerifier(issuer, **options)
    return verifier.verify(token, scopes)


def _challenge(refused: TokenRefused | None) -> str:
    """``WWW-Authenticate`` per RFC 6750 section 3 (no error code when no token was sent)."""
    if refused is None:
        return 'Bearer realm="agave"'
    text = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in refused.message)
    return f'Bearer realm="agave", error="{refused.error}", error_description="{text}"'


def require_token(
    issuer: str | None = None,
    *,
    scopes: Iterable[str] = (),
    verifier: TokenVerifier | None = None,
    **options: Any,
) -> Callable[..., AccessToken]:
    """A FastAPI dependency (``Depends(require_token(issuer))``) giving the verified token.

    Also a plain function of a Starlette ``Request``. Refusals are Starlette HTTP errors: 401
    with a ``WWW-Authenticate: Bearer`` challenge (RFC 6750), 403 for a missing scope, 503 when
    the tenant cannot be reached. It is synchronous (FastAPI runs it in its thread pool).
    """
    from starlette.exceptions import HTTPException
    from starlette.requests import Request

    if verifier is None:
        if issuer is None:
            raise ValueError("give the tenant's issuer, or a TokenVerifier")
        verifier = TokenVerifier(issuer, **options)
    needed = tuple(scopes)

    def dependency(request: Request) -> AccessToken:
        scheme, _, token = (request.headers.get("authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(
                401, "a bearer token is required", headers={"WWW-Authenticate": _challenge(None)}
            )
        try:
            return verifier.verify(token, needed)
        except TokenRefused as exc:
            raise HTTPException(
                exc.status or 401, exc.message, headers={"WWW-Authenticate": _challenge(exc)}
            ) from None
        except (NetworkError, ServerError):
            raise HTTPException(
                503, "the tenant cannot be reached to check the token", headers={"Retry-After": "5"}
            ) from None
        except AgaveError as exc:  # e.g. the tenant refused this service's client credentials
            raise HTTPException(500, f"cannot check the token: {exc}") from None

    # FastAPI reads the parameter's type from the signature: give it the real class.
    dependency.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)],
        return_annotation=AccessToken,
    )
    return dependency
