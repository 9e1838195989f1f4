"""OpenAPI documentation of bodies and responses (the routes render JSON themselves).

These pydantic models exist so that ``/openapi.json`` describes every operation exactly; the
hot routes do not validate through them, which keeps per-request overhead low.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from agavepy.wire import CLIENT_NAME_PATTERN, DEFAULT_TIER, TIERS

from ..oauth import registry

T = TypeVar("T")
#: The canonical tier names (agavepy.wire.TIERS) as a type.
Tier = Literal[TIERS]  # type: ignore[valid-type]


class Link(BaseModel):
    href: str


class ClientLinks(BaseModel):
    self: Link
    subscriber: Link
    subscriptions: Link


class ClientOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    name: str
    description: str
    consumerKey: str
    tier: Tier
    callbackUrl: str
    postLogoutRedirectUri: str = Field(
        description="Extension: where RP-initiated logout may send the browser ('' = none)."
    )
    links: ClientLinks = Field(alias="_links")


class CreatedClientOut(ClientOut):
    consumerSecret: str = Field(description="Returned only here, once.")


class SubscriptionLinks(BaseModel):
    self: Link
    api: Link
    client: Link


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    apiName: str
    apiVersion: str
    apiProvider: str
    apiContext: str
    apiStatus: str
    tier: Tier
    links: SubscriptionLinks = Field(alias="_links")


class Contact(BaseModel):
    name: str
    email: str
    url: str
    type: str
    primary: bool


class TenantLinks(BaseModel):
    self: Link
    publickey: Link


class TenantOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: str
    code: str
    name: str
    baseUrl: str
    issuer: str = Field(description="OAuth/OIDC issuer: baseUrl without its trailing slash")
    contact: list[Contact]
    cliClientId: str = Field(
        description="client_id of the tenant's built-in public client for `agave login`"
    )
    links: TenantLinks = Field(alias="_links")


class ProfileLinks(BaseModel):
    self: Link


class ProfileOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    username: str
    email: str
    first_name: str
    last_name: str
    full_name: str
    phone: str
    mobile_phone: str
    status: str
    create_time: int
    links: ProfileLinks = Field(alias="_links")


class Envelope(BaseModel, Generic[T]):
    status: Literal["success"]
    message: str
    version: str
    result: T


class ErrorEnvelope(BaseModel):
    status: Literal["error"]
    message: str
    version: str
    result: None


class FaultDetail(BaseModel):
    code: Literal["900901", "900908"]
    message: str
    description: str


class Fault(BaseModel):
    fault: FaultDetail


class GatewayFaultDetail(BaseModel):
    code: str = Field(description="900901, 900908, 900800, or the HTTP status (400, 404)")
    message: str
    description: str
    type: str | None = Field(default=None, description="'Status report' for 400/404")
    nextAccessTime: str | None = Field(default=None, description="900800 only")


class GatewayFault(BaseModel):
    fault: GatewayFaultDetail


class GatewayAllowed(BaseModel):
    decision: Literal["allow"]
    apiContext: str


class OAuthError(BaseModel):
    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "unsupported_token_type",
        "invalid_scope",
    ]
    error_description: str = ""


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str | None = Field(None, description="Absent for client_credentials.")
    token_type: Literal["bearer"]
    expires_in: int
    scope: str


class DeviceAuthorizationOut(BaseModel):
    """RFC 8628 section 3.2."""

    device_code: str = Field(description="What the device polls /token with (secret).")
    user_code: str = Field(description="What a person types at verification_uri: BCDF-GHJK.")
    verification_uri: str
    verification_uri_complete: str = Field(description="verification_uri with the user code.")
    expires_in: int = Field(description="Seconds the codes live (600).")
    interval: int = Field(description="Seconds between polls (5; +5 after each slow_down).")


class Health(BaseModel):
    status: Literal["ok"]


class Empty(BaseModel):
    pass


# -- request bodies (documented for both form and JSON) -----------------------------------

_NAME = f"^{CLIENT_NAME_PATTERN}$"
_API = r"^(\*|[A-Za-z0-9_.-]{1,64})$"
_API_OPTIONAL = r"^(\*|[A-Za-z0-9_.-]{0,64})$"
_PRINTABLE = r"^[^\u0000-\u001f\u007f-\u009f]*$"
_URL = r"^([A-Za-z][A-Za-z0-9+.-]*:[^\u0000-\u001f\u007f-\u009f]*)?$"
_TIER = {
    "type": ["string", "null"],
    "pattern": "^("
    + "|".join("".join(f"[{c.upper()}{c.lower()}]" for c in tier) for tier in TIERS)
    + ")?$",
    "description": f"{', '.join(TIERS[:-1])} or {TIERS[-1]}, in any case (default {DEFAULT_TIER})",
}


def _body(
    properties: dict[str, Any],
    required: list[str] | None,
    optional_body: bool = False,
    any_of_required: list[str] | None = None,
):
    # Unknown fields are ignored, but every field is text: a string, or null for "absent".
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": {"type": ["string", "null"]},
    }
    if required:
        schema["required"] = required
    if any_of_required:
        schema["anyOf"] = [{"required": [name]} for name in any_of_required]
    return {
        "requestBody": {
            "required": not optional_body,
            "content": {
                "application/x-www-form-urlencoded": {"schema": _without_null(schema)},
                "application/json": {"schema": schema},
            },
        }
    }


def _without_null(schema: Any) -> Any:
    """A form has no null: every ``["string", "null"]`` becomes ``"string"``."""
    if isinstance(schema, dict):
        out = {k: _without_null(v) for k, v in schema.items()}
        if out.get("type") == ["string", "null"]:
            out["type"] = "string"
        return out
    if isinstance(schema, list):
        return [_without_null(v) for v in schema]
    return schema


class Jwk(BaseModel):
    model_config = ConfigDict(extra="allow")
    kty: str
    kid: str
    alg: str
    use: str


class Jwks(BaseModel):
    keys: list[Jwk]


class IntrospectionOut(BaseModel):
    active: bool
    scope: str | None = None
    client_id: str | None = None
    username: str | None = None
    sub: str | None = None
    exp: int | None = None
    iat: int | None = None
    iss: str | None = None
    token_type: str | None = None


class DiscoveryOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    issuer: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    response_types_supported: list[str]


CREATE_CLIENT_BODY = _body(
    {
        "clientName": {"type": "string", "pattern": _NAME},
        "name": {"type": "string", "pattern": _NAME, "description": "alias of clientName"},
        "description": {"type": ["string", "null"], "maxLength": 1000, "pattern": _PRINTABLE},
        "tier": _TIER,
        "callbackUrl": {"type": ["string", "null"], "maxLength": 2048, "pattern": _URL},
    },
    None,
    any_of_required=["clientName", "name"],
)
_REDIRECT_URL = (
    r"^([Hh][Tt][Tt][Pp][Ss]?://[^\u0000-\u0020\u007f-\u009f#/?@:]"
    r"[^\u0000-\u0020\u007f-\u009f#]*)?$"
)
UPDATE_CLIENT_BODY = _body(
    {
        "description": {"type": ["string", "null"], "maxLength": 1000, "pattern": _PRINTABLE},
        "callbackUrl": {
            "type": ["string", "null"],
            "maxLength": 2048,
            "pattern": _REDIRECT_URL,
            "description": "absolute http(s) URL without a #fragment; '' clears it",
        },
        "postLogoutRedirectUri": {
            "type": ["string", "null"],
            "maxLength": 2048,
            "pattern": _REDIRECT_URL,
            "description": "where RP-initiated logout may return to (same rules as callbackUrl)",
        },
        "tier": {
            **_TIER,
            "pattern": _TIER["pattern"].replace(")?$", ")$"),
            "description": "Bronze, Silver, Gold or Unlimited, in any case",
        },
    },
    None,
    any_of_required=["description", "callbackUrl", "tier", "postLogoutRedirectUri"],
)
API_SELECTOR = {
    "apiName": {"type": "string", "pattern": _API, "description": "an API name, or * for all"},
    "apiVersion": {"type": ["string", "null"], "pattern": _API_OPTIONAL},
    "apiProvider": {"type": ["string", "null"], "pattern": _API_OPTIONAL},
}
SUBSCRIBE_BODY = _body({**API_SELECTOR, "tier": _TIER}, ["apiName"])
UNSUBSCRIBE_BODY = _body(API_SELECTOR, None, optional_body=True)
# client_secret_post (RFC 6749 section 2.3.1): the client's credentials in the body instead
# of HTTP Basic (never both).
CLIENT_SECRET_POST = {
    "client_id": {"type": "string", "description": "consumerKey (client_secret_post)"},
    "client_secret": {"type": "string", "description": "consumerSecret (client_secret_post)"},
}
TOKEN_BODY = _body(
    {
        "grant_type": {"type": "string", "enum": list(registry.grant_types())},
        "username": {"type": "string"},
        "password": {"type": "string"},
        "token_username": {"type": "string", "description": "admin_password only"},
        "refresh_token": {"type": "string"},
        "scope": {"type": "string", "description": "accepted and ignored (tools send PRODUCTION)"},
        **CLIENT_SECRET_POST,
    },
    ["grant_type"],
)
REVOKE_BODY = _body(
    {
        "token": {"type": "string"},
        "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
        **CLIENT_SECRET_POST,
    },
    ["token"],
)

INTROSPECT_BODY = _body(
    {
        "token": {"type": "string"},
        "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
        **CLIENT_SECRET_POST,
    },
    ["token"],
)


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


PRETTY = _query("pretty", "true: indent the JSON", {"type": "boolean"})
PAGING = [
    _query("limit", "page size for list results (default 100)", {"type": "integer", "minimum": 0}),
    _query(
        "offset", "how many list results to skip (default 0)", {"type": "integer", "minimum": 0}
    ),
]
ENVELOPE_PARAMS_NOTE = (
    " Also accepts `naked=true` (answer only `result`) and `filter=a,b` (keep only these "
    "fields of each result object); they change the response shape, so they are described "
    "here rather than as formal parameters."
)
