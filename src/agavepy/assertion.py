"""For services behind an Agave tenant's gateway: who is calling, as the gateway signed it.

The gateway (nginx asking the tenant server, see docs/gateway.md) sends every call it lets
through with ``X-JWT-Assertion-<tenant>``: a short-lived RS256 JWT with WSO2's claims (end
user, client, tier, API), signed with the tenant's key. This module is what Agave's
``JWTClient`` was for Java services: verify that header (signature from the tenant's JWKS or
a given public key, expiry, issuer, ``typ`` and audience) and read who the caller is.

    verifier = AssertionVerifier(tenant="sd2e", issuer="https://api.example.org")
    who = verifier.from_headers(request.headers)      # or verify_assertion(headers, ...)
    who.end_user, who.client_name, who.tier, who.api_context

plus ``verifier.dependency`` for Starlette/FastAPI and ``verifier.wsgi`` for WSGI (Flask).
joserfc (and httpx for the JWKS) are imported only when something is verified, so importing
this module costs nothing.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agavepy._transport import tls_verify
from agavepy.errors import AgaveError

WSO2 = "http://wso2.org/claims/"
# Must match the tenant server (services.gateway): distinct from access and ID tokens.
ASSERTION_TYP = "agave-assertion+jwt"
ALGORITHMS = ("RS256",)
JWKS_PATH = "/oauth2/jwks"
MIN_REFETCH_SECONDS = 10.0


class InvalidAssertion(AgaveError):
    """The gateway assertion is missing, forged, expired, or meant for something else."""

    default_hint = "call this service through the tenant's gateway"


def assertion_header(tenant: str) -> str:
    """``X-JWT-Assertion-`` + the tenant code with ``.`` and ``_`` replaced by ``-``."""
    return "X-JWT-Assertion-" + tenant.replace(".", "-").replace("_", "-")


def gateway_audience(issuer: str) -> str:
    """The audience the tenant server puts in its gateway assertions."""
    return issuer.rstrip("/") + "/gateway"


@dataclass(frozen=True)
class GatewayIdentity:
    """Who called, from a verified assertion (the WSO2 claims under friendlier names)."""

    end_user: str  # the username, without WSO2's "@carbon.super"
    subscriber: str  # the owner of the client
    client_name: str
    client_id: str
    tier: str  # the subscription's tier for this API
    application_tier: str  # the client's own tier
    api_context: str
    api_version: str
    key_type: str
    roles: tuple[str, ...]
    email: str
    issuer: str
    expires_at: int
    claims: dict[str, Any] = field(repr=False)

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> GatewayIdentity:
        def wso2(name: str) -> str:
            value = claims.get(WSO2 + name)
            return "" if value is None else str(value)

        end_user = wso2("enduser")
        if "@" in end_user:  # WSO2's user@carbon.super: Agave's services strip at the '@'
            end_user = end_user.rsplit("@", 1)[0]
        roles = tuple(r for r in wso2("role").split(",") if r)
        return cls(
            end_user=end_user,
            subscriber=wso2("subscriber"),
            client_name=wso2("applicationname"),
            client_id=wso2("applicationid"),
            tier=wso2("tier"),
            application_tier=wso2("applicationtier"),
            api_context=wso2("apicontext"),
            api_version=wso2("version"),
            key_type=wso2("keytype"),
            roles=roles,
            email=wso2("emailaddress"),
            issuer=str(claims.get("iss", "")),
            expires_at=int(claims.get("exp", 0)),
            claims=claims,
        )


class _KeySource:
    """The tenant's public keys: a given key, or its JWKS fetched and cached."""

    def __init__(
        self,
        jwks_url: str | None,
        key: Any,
        cache_seconds: float,
        verify_tls: bool | str,
    ) -> None:
        self._url = jwks_url
        self._given = key
        self._ttl = cache_seconds
        self._verify = verify_tls
        self._lock = threading.Lock()
        self._keys: Any = None
        self._fetched_at = -1e9

    def key_set(self, kid: str | None) -> Any:
        from joserfc.jwk import KeySet

        if self._given is not None:
            # The one key given: used whatever kid the token names (a PEM has none).
            if self._keys is None:
                self._keys = _import_key(self._given)
            return self._keys
        with self._lock:
            age = time.monotonic() - self._fetched_at
            stale = self._keys is None or age >= self._ttl
            unknown = kid is not None and self._keys is not None and not _has_kid(self._keys, kid)
            if stale or (unknown and age >= MIN_REFETCH_SECONDS):
                self._keys = KeySet.import_key_set(self._fetch())
                self._fetched_at = time.monotonic()
            return self._keys

    def _fetch(self) -> Any:
        import httpx

        assert self._url is not None
        try:
            verify = tls_verify(self._verify)
        except AgaveError as err:
            raise InvalidAssertion(err.message, hint=err.hint) from None
        try:
            response = httpx.get(self._url, timeout=10, verify=verify)
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            document = response.json()
        except (httpx.HTTPError, ValueError) as err:
            raise InvalidAssertion(
                f"cannot read the tenant's keys from {self._url}: {err}",
                hint="check the issuer / jwks_url this service was given",
            ) from None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise InvalidAssertion(f"{self._url} is not a JWKS (no 'keys' list)")
        # Only the signature keys: a JWKS may also list keys for other uses.
        document = {"keys": [k for k in document["keys"] if k.get("use", "sig") == "sig"]}
        return document


def _has_kid(keys: Any, kid: str) -> bool:
    return any(k.kid == kid for k in keys.keys)


def _import_key(key: Any) -> Any:
    """A public key as a PEM string/bytes, a JWK (dict or JSON text) or a joserfc key."""
    from joserfc.jwk import RSAKey

    if isinstance(key, RSAKey):
        return key
    if isinstance(key, bytes):
        key = key.decode()
    if isinstance(key, str) and key.lstrip().startswith("{"):
        key = json.loads(key)
    return RSAKey.import_key(key)


class AssertionVerifier:
    """Verifies one tenant's gateway assertions; keeps its keys cached between calls.

    ``issuer`` is the tenant's base URL (without the trailing slash); the keys come from
    ``jwks_url`` (default ``issuer + /oauth2/jwks``) unless a public ``key`` is given.
    ``api_context``, when given, refuses assertions made for another API. ``clock`` (Unix
    seconds) is for tests and for hosts whose clock is known to be off.
    """

    def __init__(
        self,
        tenant: str,
        issuer: str,
        *,
        jwks_url: str | None = None,
        key: Any = None,
        audience: str | None = None,
        api_context: str | None = None,
        leeway: int = 5,
        cache_seconds: float = 300.0,
        verify_tls: bool | str = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tenant = tenant
        self._clock = clock
        self.issuer = issuer.rstrip("/")
        self.header = assertion_header(tenant)
        self.audience = audience or gateway_audience(self.issuer)
        self.api_context = api_context
        self.leeway = leeway
        self._keys = _KeySource(
            None if key is not None else (jwks_url or self.issuer + JWKS_PATH),
            key,
            cache_seconds,
            verify_tls,
        )

    # -- the one function --------------------------------------------------
    def verify(self, assertion: str | None) -> GatewayIdentity:
        """The identity in a compact JWT, or ``InvalidAssertion`` saying why not."""
        try:
            from joserfc import jwt
            from joserfc.errors import JoseError
            from joserfc.jwt import JWTClaimsRegistry
        except ImportError:
            raise AgaveError(
                "verifying gateway assertions needs joserfc, which is not installed",
                hint="pip install joserfc (or agave-oauth[server])",
            ) from None

        if not assertion:
            raise InvalidAssertion(f"no {self.header} header: the call did not pass the gateway")
        assertion = assertion.strip()
        try:
            kid = _unverified_header(assertion).get("kid")
            token = jwt.decode(assertion, self._keys.key_set(kid), algorithms=list(ALGORITHMS))
        except InvalidAssertion:
            raise
        except (JoseError, ValueError) as err:
            raise InvalidAssertion(f"the gateway assertion does not verify: {_why(err)}") from None
        if token.header.get("typ") != ASSERTION_TYP:
            raise InvalidAssertion(
                f"the JWT is not a gateway assertion (typ {token.header.get('typ')!r}, "
                f"expected {ASSERTION_TYP!r})"
            )
        registry = JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=self.leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
        )
        try:
            registry.validate(token.claims)
        except JoseError as err:
            raise InvalidAssertion(f"the gateway assertion is not valid: {_why(err)}") from None
        identity = GatewayIdentity.from_claims(dict(token.claims))
        if self.api_context is not None and identity.api_context != self.api_context:
            raise InvalidAssertion(
                f"the assertion is for the API {identity.api_context!r}, not {self.api_context!r}"
            )
        return identity

    def from_headers(
        self, headers: Mapping[str, str] | Iterable[tuple[str, str]]
    ) -> GatewayIdentity:
        """The identity from a request's headers (any mapping; names compared without case)."""
        wanted = self.header.lower()
        items = headers.items() if isinstance(headers, Mapping) else headers
        values = [v for k, v in items if k.lower() == wanted]
        if len(values) > 1:
            raise InvalidAssertion(f"{len(values)} {self.header} headers; expected one")
        return self.verify(values[0] if values else None)

    # -- frameworks --------------------------------------------------------
    @functools.cached_property
    def dependency(self) -> Callable[..., GatewayIdentity]:
        """Starlette/FastAPI: ``who: GatewayIdentity = Depends(verifier.dependency)``.

        Refuses with 401 and a JSON ``detail`` (Starlette's HTTPException, which FastAPI
        renders) when the assertion does not verify.
        """
        from starlette.exceptions import HTTPException
        from starlette.requests import Request

        def verified_caller(request: Request) -> GatewayIdentity:
            try:
                return self.from_headers(request.headers)
            except InvalidAssertion as err:
                raise HTTPException(status_code=401, detail=str(err)) from None

        # Real classes, not the strings this module's annotations are: FastAPI reads them.
        verified_caller.__annotations__ = {"request": Request, "return": GatewayIdentity}
        return verified_caller

    def wsgi(self, app: Callable) -> Callable:
        """Wrap a WSGI app (or Flask's ``app.wsgi_app``): verified callers reach it with
        ``environ["agave.identity"]`` set; others get 401 with a JSON body."""
        environ_name = "HTTP_" + self.header.upper().replace("-", "_")

        @functools.wraps(app)
        def wrapped(environ: dict, start_response: Callable) -> Iterable[bytes]:
            try:
                environ["agave.identity"] = self.verify(environ.get(environ_name))
            except InvalidAssertion as err:
                body = json.dumps({"status": "error", "message": str(err)}).encode()
                start_response(
                    "401 Unauthorized",
                    [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
                )
                return [body]
            return app(environ, start_response)

        return wrapped


def _unverified_header(token: str) -> dict[str, Any]:
    import base64

    head = token.split(".", 1)[0]
    try:
        value = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, TypeError):
        raise ValueError("not a compact JWT") from None
    if not isinstance(value, dict):
        raise ValueError("not a compact JWT")
    return value


def _why(err: Exception) -> str:
    text = getattr(err, "description", None) or str(err) or type(err).__name__
    return " ".join(str(text).split())[:200]


_VERIFIERS: dict[tuple, AssertionVerifier] = {}
_VERIFIERS_LOCK = threading.Lock()


def verify_assertion(
    request_or_headers: Any, *, tenant: str, issuer: str, **options: Any
) -> GatewayIdentity:
    """One call: the identity from a request (anything with ``.headers``, or a headers
    mapping, or the assertion itself), with a verifier kept per tenant/issuer/options so the
    keys are fetched once."""
    cache_key = (tenant, issuer, tuple(sorted((k, repr(v)) for k, v in options.items())))
    with _VERIFIERS_LOCK:
        verifier = _VERIFIERS.get(cache_key)
        if verifier is None:
            verifier = _VERIFIERS[cache_key] = AssertionVerifier(tenant, issuer, **options)
    if isinstance(request_or_headers, str):
        return verifier.verify(request_or_headers)
    headers = getattr(request_or_headers, "headers", request_or_headers)
    return verifier.from_headers(headers)
