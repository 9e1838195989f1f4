"""The gateway's authorization decision: may this bearer call this path, and as whom?

A reverse proxy (nginx ``auth_request``; see ``gateway_config``) asks before every call under
an API's context. The answer is one of: the call may go on, with a signed assertion of who the
end user and the client are for the backend (WSO2's ``X-JWT-Assertion-<tenant>``); 401
900901 for a missing, unknown, expired or revoked token; 403 900908 when the token's client is
not subscribed to the API; 429 900800 over the client's or the subscription's tier; 404 for a
path under no API; 400 for a request the proxy should never have sent (no original URI, a
path with dot segments or repeated slashes that a backend could read as another API's).

No HTTP here: the route turns a ``Decision`` into the headers the proxy maps back.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import unquote

from .. import faults
from ..storage import Database
from ..storage import apis as api_store
from ..storage.gateway import ClientAccess, Identity
from ..storage.records import Api, Tenant
from .tiers import TierThrottle, describe

WSO2 = "http://wso2.org/claims/"
ASSERTION_LIFETIME = 60
# A cached assertion is handed out while it has at least this long to live.
ASSERTION_REUSE_MARGIN = 15
MAX_URI = 4096
_METHOD = re.compile(r"[A-Z]{1,20}")
CATALOGUE_SECONDS = 2.0
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.IGNORECASE)
_CONTROL_OR_BACKSLASH = re.compile(r"[\x00-\x1f\x7f\\]")


def assertion_header(tenant_code: str) -> str:
    """``X-JWT-Assertion-`` + the tenant code with ``.`` and ``_`` as ``-`` (Agave's services
    replaced the dots; underscores go too, because nginx drops header names that have them)."""
    return "X-JWT-Assertion-" + tenant_code.replace(".", "-").replace("_", "-")


# The decision's values are named tuples: several are built per call, each in about a third of
# a frozen dataclass's time (bench/NOTES.md item 34).
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class Caller(NamedTuple):
    """Who a valid bearer token speaks for, and through which client: the bearer validator's
    answer for the API being called (``BearerValidator.gateway_access``)."""

    user: Identity
    token_key: str  # the token's digest: the assertion cache key
    access: ClientAccess  # its client, the owner and the subscription to the API called


class Decision(NamedTuple):
    """The decision: ``status`` 200 with ``assertion``, or a refusal with its fault body."""

    status: int
    fault: dict[str, Any] | None = None
    headers: Mapping[str, str] = _NO_HEADERS
    assertion: str | None = None
    api: Api | None = None


class Admission(NamedTuple):
    """A call whose token and subscription passed; ``limited`` when a tier must count it."""

    tenant: Tenant
    api: Api
    caller: Caller
    access: ClientAccess
    limited: bool


class Refused(Exception):
    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.status)
        self.decision = decision


def _bad_request(description: str) -> Refused:
    return Refused(Decision(400, faults.status_report(400, "Bad Request", description)))


def _not_found(path: str) -> Refused:
    shown = path if len(path) <= 200 else path[:200] + "..."
    return Refused(
        Decision(
            404,
            faults.status_report(
                404, "Not Found", f"The requested resource ({shown}) is not available."
            ),
        )
    )


def original_method(values: list[str]) -> str:
    if len(values) != 1:
        raise _bad_request(
            f"Expected exactly one X-Original-Method header, got {len(values)}: the proxy "
            "must set it to the caller's method."
        )
    method = values[0].strip()
    if not _METHOD.fullmatch(method):
        raise _bad_request(f"Invalid X-Original-Method {method[:20]!r}: expected e.g. GET.")
    return method


def original_path(values: list[str]) -> str:
    """The caller's path from ``X-Original-URI``, refused unless it is already in normal form.

    The proxy routes on its own normalised path while the backend receives the raw one; a raw
    path that normalises differently (``/files/v2/../jobs/v2``, ``%2e%2e``, ``//``, an encoded
    slash) could be read by a backend as another API's, so it is refused instead of guessed.
    """
    if len(values) != 1:
        raise _bad_request(
            f"Expected exactly one X-Original-URI header, got {len(values)}: the proxy must "
            "set it to the caller's request URI."
        )
    uri = values[0]
    if len(uri) > MAX_URI:
        raise _bad_request(f"X-Original-URI is {len(uri)} characters long; at most {MAX_URI}.")
    raw_path = uri.split("?", 1)[0].split("#", 1)[0]
    if not raw_path.startswith("/"):
        raise _bad_request("X-Original-URI must be an absolute path starting with '/'.")
    if _ENCODED_SEPARATOR.search(raw_path):
        raise _bad_request("The request path contains an encoded '/', '\\' or NUL.")
    try:
        path = unquote(raw_path, errors="strict") if "%" in raw_path else raw_path
    except UnicodeDecodeError:
        raise _bad_request("The request path has percent-escapes that are not UTF-8.") from None
    if _CONTROL_OR_BACKSLASH.search(path):
        raise _bad_request("The request path contains control characters or '\\'.")
    if "//" in path or (
        # Without a '.' or a '%' no segment can be, or decode to, a dot segment.
        ("." in path or "%" in raw_path) and any(_is_dot_segment(s) for s in path.split("/")[1:])
    ):
        raise _bad_request(
            "The request path has repeated slashes or '.'/'..' segments (also as '..;x' or "
            "encoded twice); send it in normal form."
        )
    return path


def _is_dot_segment(segment: str) -> bool:
    """``.``/``..`` as any backend might read it: with a ``;`` parameter (Tomcat's ``..;``),
    or still percent-encoded once more (a backend that decodes twice); an encoded ``/`` or
    ``\\`` in the second decoding counts too."""
    twice = unquote(segment, errors="replace") if "%" in segment else segment
    if "/" in twice or "\\" in twice:
        return True
    return any(form.split(";", 1)[0] in (".", "..") for form in (segment, twice))


def _under(path: str, context: str) -> bool:
    return path == context or path.startswith(context.rstrip("/") + "/")


class ApiCatalogue:
    """Per-process cache of each tenant's APIs, re-read every ``CATALOGUE_SECONDS``."""

    def __init__(self, db: Database, ttl: float = CATALOGUE_SECONDS) -> None:
        self._db = db
        self._ttl = ttl
        self._cache: dict[int, tuple[float, list[Api]]] = {}

    def apis(self, tenant_id: int) -> list[Api]:
        entry = self._cache.get(tenant_id)
        t = time.monotonic()
        if entry is None or t - entry[0] >= self._ttl:
            # Longest context first, so /jobs/v2/admin wins over /jobs/v2.
            found = sorted(api_store.list_apis(self._db, tenant_id), key=lambda a: -len(a.context))
            self._cache[tenant_id] = (t, found)
            return found
        return entry[1]

    def for_path(self, tenant_id: int, path: str, fixed_context: str | None) -> Api:
        """The API whose context the path is under (the one the proxy fixed, if it did)."""
        apis = self.apis(tenant_id)
        if fixed_context is not None:
            api = next((a for a in apis if a.context == fixed_context), None)
            if api is None:
                raise _bad_request(f"No API has the context {fixed_context[:100]!r}.")
            if not _under(path, api.context):
                raise _not_found(path)
            return api
        for api in apis:
            if _under(path, api.context):
                return api
        raise _not_found(path)


# Must match agavepy.assertion: distinct from access tokens (at+jwt) and ID tokens (JWT).
ASSERTION_TYP = "agave-assertion+jwt"


def assertion_audience(issuer: str) -> str:
    """The assertions' audience: the tenant's gateway, never a client or resource server."""
    return issuer + "/gateway"


@dataclass(frozen=True)
class Signer:
    """The tenant's current key, as the app hands it in (``oauth.keys.KeyRing``): ``sign``
    makes a compact JWS of claims with header ``typ``; ``current_kid`` names the key that
    signs now, so a rotation starts new assertions at once."""

    sign: Callable[[Tenant, dict[str, Any], str], str]
    current_kid: Callable[[Tenant], str]


class AssertionCache:
    """Signed assertions per (token, API, what the claims depend on) for most of their life.

    A busy token then costs one RS256 signature a minute instead of one per call. Revocation
    is not affected: the token and the subscription are checked on every call before this.
    """

    def __init__(self, max_entries: int = 50_000) -> None:
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: dict[tuple, tuple[float, str]] = {}

    def get(self, key: tuple) -> str | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] - time.time() < ASSERTION_REUSE_MARGIN:
            return None
        return entry[1]

    def put(self, key: tuple, expires_at: float, assertion: str) -> None:
        with self._lock:
            if len(self._entries) >= self._max:
                t = time.time()
                self._entries = {
                    k: v for k, v in self._entries.items() if v[0] - t >= ASSERTION_REUSE_MARGIN
                }
                if len(self._entries) >= self._max:
                    self._entries.clear()
            self._entries[key] = (expires_at, assertion)


def assertion_claims(
    tenant: Tenant, issuer: str, caller: Caller, access: ClientAccess, api: Api, now: int
) -> dict[str, Any]:
    """WSO2's claims, as Agave's ``JWTClient`` reads them, plus iss, iat, exp and jti."""
    user = caller.user
    role = "admin,Internal/everyone" if user.is_admin else "Internal/everyone"
    return {
        "iss": issuer,
        "aud": assertion_audience(issuer),
        "sub": user.username,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
        "jti": secrets.token_hex(16),
        WSO2 + "subscriber": access.owner,
        WSO2 + "applicationid": str(access.client_id),
        WSO2 + "applicationname": access.name,
        WSO2 + "applicationtier": access.tier,
        WSO2 + "tier": access.subscription_tier,
        WSO2 + "apicontext": api.context,
        WSO2 + "version": api.version,
        WSO2 + "keytype": "PRODUCTION",
        WSO2 + "usertype": "APPLICATION_USER",
        WSO2 + "enduser": f"{user.username}@carbon.super",
        WSO2 + "enduserTenantId": "-1234",
        WSO2 + "role": role,
        WSO2 + "emailaddress": user.email,
        WSO2 + "givenname": user.first_name,
        WSO2 + "lastname": user.last_name,
        WSO2 + "fullname": f"{user.first_name} {user.last_name}".strip(),
        "http://agaveapi.co/claims/tenant": tenant.code,
        "http://agaveapi.co/claims/consumerkey": access.consumer_key,
    }


class Gateway:
    """The decision, with its per-process caches (APIs, tier limits, assertions)."""

    def __init__(
        self,
        db: Database,
        catalogue: ApiCatalogue,
        throttle: TierThrottle,
        signer: Signer,
    ) -> None:
        self._db = db
        self.catalogue = catalogue
        self.throttle = throttle
        self._signer = signer
        self._assertions = AssertionCache()

    def resolve(
        self, tenant: Tenant, methods: list[str], uris: list[str], fixed: str | None
    ) -> tuple[str, Api]:
        """The API a request is for; ``Refused`` (400/404) for what cannot be routed."""
        original_method(methods)
        path = original_path(uris)
        return path, self.catalogue.for_path(tenant.id, path, fixed)

    def authorize(self, tenant: Tenant, api: Api, caller: Caller | None) -> Decision | Admission:
        """Token and subscription (one read): a refusal, or an admission still to count."""
        if caller is None:  # also when the client was deleted: its tokens no longer count
            return self._invalid(api)
        access = caller.access
        if access.subscription_tier is None:
            return Decision(403, faults.forbidden(api.context, api.version), api=api)
        limited = self.throttle.is_limited(tenant.id, access.tier, access.subscription_tier)
        return Admission(tenant, api, caller, access, limited)

    def count(self, admission: Admission) -> Decision | None:
        """Count the call against both tiers (a write: call it off the event loop); the 429
        when it is over either, else None."""
        a = admission
        over = self.throttle.count(
            a.tenant.id, a.access.client_id, a.access.tier, a.api.id, a.access.subscription_tier
        )
        if over is None:
            return None
        next_access = time.strftime(
            "%Y-%b-%d %H:%M:%S+0000 UTC", time.gmtime(time.time() + over.retry_after)
        )
        return Decision(
            429,
            faults.throttled(over.tier, describe(over.limit), over.retry_after, next_access),
            {"Retry-After": str(over.retry_after)},
            api=a.api,
        )

    def admit(self, admission: Admission) -> Decision:
        """The 200 with the signed assertion (cached per token and API)."""
        a = admission
        return Decision(
            200, assertion=self._assertion(a.tenant, a.caller, a.access, a.api), api=a.api
        )

    def decide(self, tenant: Tenant, api: Api, caller: Caller | None) -> Decision:
        """All three steps in the calling thread (tests, tools)."""
        step = self.authorize(tenant, api, caller)
        if isinstance(step, Decision):
            return step
        if step.limited:
            over = self.count(step)
            if over is not None:
                return over
        return self.admit(step)

    def _invalid(self, api: Api) -> Decision:
        return Decision(
            401,
            faults.invalid_credentials(api.context, api.version),
            {"WWW-Authenticate": faults.INVALID_TOKEN_CHALLENGE},
            api=api,
        )

    def _assertion(self, tenant: Tenant, caller: Caller, access: ClientAccess, api: Api) -> str:
        user = caller.user
        key = (
            tenant.id,
            self._signer.current_kid(tenant),
            caller.token_key,
            api.id,
            api.context,
            api.version,
            access.name,
            access.tier,
            access.subscription_tier,
            user.email,
            user.first_name,
            user.last_name,
            user.is_admin,
        )
        cached = self._assertions.get(key)
        if cached is not None:
            return cached
        t = int(time.time())
        claims = assertion_claims(tenant, tenant.issuer, caller, access, api, t)
        token = self._signer.sign(tenant, claims, ASSERTION_TYP)
        self._assertions.put(key, claims["exp"], token)
        return token
