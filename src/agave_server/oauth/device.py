"""RFC 8628, the device authorization grant: Authlib's endpoint and grant on Agave storage.

``DeviceAuthorization`` answers ``POST /oauth2/device/authorize`` (a device code, a user code
a person can type, the verification URIs); ``DeviceCodeGrant`` answers the token endpoint's
polls with ``authorization_pending``, ``slow_down``, ``expired_token``, ``access_denied`` or,
once, a token pair. The verification page decides through :mod:`services.device_approvals`.
No web framework here: requests are ``AgaveOAuth2Request`` objects.
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint as _Endpoint
from authlib.oauth2.rfc8628 import DeviceCodeGrant as _Grant

from ..security import digest, new_secret
from ..storage import device_codes as store
from ..storage import users as user_store
from ..storage.device_codes import DeviceCode
from .models import PUBLIC_OR_SECRET

#: RFC 8628 §6.1's alphabet: no vowels (no words), no digits (no 0/O, 1/I confusion).
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
#: 20**8 codes: log2 = 34.6 bits of entropy.
USER_CODE_LENGTH = 8
VERIFICATION_PATH = "device"
DEVICE_AUTHORIZATION_PATH = "/oauth2/device/authorize"


def new_user_code() -> str:
    """Eight characters of the alphabet, normalised (no dash)."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def normalise_user_code(typed: str) -> str | None:
    """What a person typed, as stored: case and dashes/spaces ignored; None if it cannot be one."""
    cleaned = "".join(ch for ch in typed.upper() if ch not in "- \t")
    if len(cleaned) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in cleaned):
        return None
    return cleaned


def display_user_code(code: str) -> str:
    """``ABCDEFGH`` -> ``ABCD-EFGH``, as shown to people."""
    half = USER_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


class DeviceAuthorization(_Endpoint):
    """``POST /oauth2/device/authorize``: any client of the tenant allowed the device grant."""

    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(PUBLIC_OR_SECRET)
    USER_CODE_ATTEMPTS = 5

    def create_endpoint_response(self, request):
        self.request = request
        settings = self.server.settings
        self.EXPIRES_IN = settings.device_code_lifetime
        self.INTERVAL = settings.device_poll_interval
        self.authenticate_client(request)
        if not request.client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError(
                description="This client may not use the device authorization grant."
            )
        return super().create_endpoint_response(request)

    def generate_user_code(self) -> str:
        return display_user_code(new_user_code())

    def generate_device_code(self) -> str:
        return new_secret()

    def get_verification_uri(self) -> str:
        return self.request.tenant.base_url.rstrip("/") + "/" + VERIFICATION_PATH

    def save_device_credential(self, client_id: str, scope: str | None, data: dict) -> None:
        """Store the digest of the device code; draw another user code on the rare clash."""
        request = self.request
        for attempt in range(self.USER_CODE_ATTEMPTS):
            try:
                store.create(
                    request.db,
                    tenant_id=request.tenant.id,
                    client_id=request.client.id,
                    device_digest=digest(data["device_code"]),
                    user_code=normalise_user_code(data["user_code"]) or "",
                    scope=requested_scope(request),
                    lifetime=self.EXPIRES_IN,
                    interval=self.INTERVAL,
                )
                return
            except store.DuplicateUserCode:
                if attempt + 1 == self.USER_CODE_ATTEMPTS:
                    raise
                data["user_code"] = self.generate_user_code()
                data["verification_uri_complete"] = (
                    data["verification_uri"] + "?user_code=" + data["user_code"]
                )


def requested_scope(request) -> str:
    """The scope the device asked for, as shown on the approval page (Agave's default if none)."""
    scope = " ".join((request.form.get("scope") or "").split())
    return scope[:255] or "PRODUCTION"


class DeviceCredential:
    """A stored device authorization, as Authlib's grant asks about it."""

    def __init__(self, record: DeviceCode) -> None:
        self.record = record

    def get_user_code(self) -> str:
        return self.record.user_code

    def get_scope(self) -> str:
        return self.record.scope

    def is_expired(self) -> bool:
        return self.record.is_expired()


class DeviceCodeGrant(_Grant):
    """The token endpoint's ``urn:ietf:params:oauth:grant-type:device_code``."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(PUBLIC_OR_SECRET)

    def validate_token_request(self) -> None:
        request = self.request
        device_code = request.form.get("device_code")
        if not device_code:
            raise InvalidRequestError("Missing 'device_code' in request.")
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(
                description="This client may not use the device authorization grant."
            )
        record = store.by_device_digest(request.db, request.tenant.id, digest(device_code))
        if record is None or record.client_id != client.id:
            raise InvalidGrantError("Unknown device_code for this client.")
        if record.status == store.REDEEMED:
            raise InvalidGrantError("This device code was already used; start a new login.")
        credential = DeviceCredential(record)
        request.user = self.validate_device_credential(credential)
        request.client = client
        request.credential = credential

    def query_user_grant(self, user_code: str) -> tuple[Any, bool] | None:
        record = self.request.credential_record
        if record.status == store.PENDING:
            return None
        user = (
            user_store.get_user_by_id(self.request.db, record.user_id) if record.user_id else None
        )
        if user is None:  # decided by a user removed since: nobody to issue tokens to
            return None if record.status == store.PENDING else (None, False)
        return user, record.status == store.APPROVED

    def validate_device_credential(self, credential: DeviceCredential):
        self.request.credential_record = credential.record
        return super().validate_device_credential(credential)

    def should_slow_down(self, credential: DeviceCredential) -> bool:
        settings = self.server.settings
        return store.poll(self.request.db, credential.record.id, settings.device_poll_interval)

    def create_token_response(self):
        """Redeem the code (exactly one poll wins), then issue the pair."""
        if not store.redeem(self.request.db, self.request.credential.record.id):
            raise InvalidGrantError("This device code was already used; start a new login.")
        return super().create_token_response()
