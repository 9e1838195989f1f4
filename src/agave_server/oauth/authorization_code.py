"""The authorization code grant (RFC 6749 section 4.1) with PKCE (RFC 7636), through Authlib.

Every client must send a PKCE challenge, and only S256 is accepted (``plain`` would give a
code thief the verifier). A code lives 60 seconds, is stored as a digest, and is bound to the
client, the redirect URI of the request and the challenge. The exchange claims the code with
one conditional UPDATE before any token is made, so it is used at most once; a second use
revokes the tokens the first one received (section 4.1.2), whichever exchange came first.
The tokens are an access token and a rotating refresh token in a family of their own, as the
password grant's are.
"""

from __future__ import annotations

from typing import ClassVar

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import compare_s256_code_challenge
from authlib.oidc.core import AuthorizationCodeMixin

from ..security import digest, new_family_id, new_secret
from ..storage import authorization_codes as code_store
from ..storage import now
from ..storage import tokens as token_store
from ..storage import users as user_store
from ..storage.authorization_codes import AuthorizationCode
from ..storage.records import User
from .models import PUBLIC_OR_SECRET
from .redirect_uris import matches

CODE_LIFETIME = 60
PKCE_METHODS = ("S256",)


class StoredCode(AuthorizationCodeMixin):
    """A stored code as Authlib's grant and the OpenID Connect extension read it."""

    def __init__(self, record: AuthorizationCode) -> None:
        self.record = record
        self.code_challenge = record.code_challenge
        self.code_challenge_method = record.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope

    def get_nonce(self) -> str | None:
        return self.record.nonce or None

    def get_auth_time(self) -> int:
        return self.record.auth_time


class S256CodeChallenge(CodeChallenge):
    """PKCE required for every client, S256 only."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = list(PKCE_METHODS)
    CODE_CHALLENGE_METHODS: ClassVar[dict] = {"S256": compare_s256_code_challenge}

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant, redirect_uri) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError(
                "PKCE is required: send code_challenge = BASE64URL(SHA256(code_verifier)) "
                "with code_challenge_method=S256."
            )
        method = data.get("code_challenge_method")
        if method not in PKCE_METHODS:
            raise InvalidRequestError(
                f"code_challenge_method {method[:20]!r} is not supported: use S256 "
                "(plain is refused)."
                if method
                else "Missing code_challenge_method: use S256 (plain is refused)."
            )
        super().validate_code_challenge(grant, redirect_uri)


def replay_error(db, record: AuthorizationCode) -> InvalidGrantError:
    """A second use of a code: revoke what the first use received, and refuse.

    The code is marked replayed first: an exchange that won the claim but had not stored its
    tokens yet sees the mark after storing them and revokes them itself (``confirm_claim``).
    """
    family = code_store.mark_replayed(db, record.id)
    if family:
        token_store.revoke_family(db, family)
    return _replayed()


def _replayed() -> InvalidGrantError:
    return InvalidGrantError(
        "This authorization code was already used; the tokens issued for it are now revoked. "
        "Start the authorization again."
    )


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """``response_type=code`` at /oauth2/authorize, ``grant_type=authorization_code`` at /token."""

    # The public CLI client too: `agave login --web` (RFC 8252, PKCE instead of a secret).
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(PUBLIC_OR_SECRET)

    # -- the authorization request ---------------------------------------------------------
    @staticmethod
    def validate_authorization_redirect_uri(request, client) -> str:
        """The client's registered callback (or a loopback port variant of it), else a page:
        a redirect to an unregistered URI would hand the code (or the error) to anyone."""
        registered = client.get_default_redirect_uri()
        presented = request.payload.redirect_uri
        if not registered:
            raise InvalidRequestError(
                f"Client {client.record.name} has no callbackUrl registered, so it cannot "
                "use the authorization code flow; its owner can set one with "
                "`agave clients update`."
            )
        if presented and not matches(registered, presented):
            raise InvalidRequestError(
                "The redirect_uri of this request is not the one registered for client "
                f"{client.record.name}; nothing was sent to it."
            )
        return presented or registered

    def generate_authorization_code(self) -> str:
        return new_secret()

    def save_authorization_code(self, code: str, request) -> None:
        data = request.payload.data
        code_store.store(
            request.db,
            tenant_id=request.tenant.id,
            client_id=request.client.id,
            user_id=request.user.id,
            code_digest=digest(code),
            # As requested ('' when omitted): the token request must then repeat it exactly.
            redirect_uri=request.payload.redirect_uri or "",
            scope=request.scope,
            nonce=(data.get("nonce") or "")[:255],
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            auth_time=getattr(request, "auth_time", None) or now(),
            lifetime=CODE_LIFETIME,
        )

    # -- the token request -----------------------------------------------------------------
    def query_authorization_code(self, code: str, client) -> StoredCode | None:
        if not isinstance(code, str) or not code or len(code) > 200:
            return None
        request = self.request
        record = code_store.find(request.db, request.tenant.id, digest(code))
        if record is None or record.client_id != client.id:
            return None
        if record.used_at is not None:
            raise replay_error(request.db, record)
        if record.expires_at <= now():
            raise InvalidGrantError(
                f"The authorization code has expired (codes live {CODE_LIFETIME} seconds)."
            )
        return StoredCode(record)

    def create_token_response(self):
        """Claim the code first: of concurrent exchanges exactly one goes on to get tokens."""
        request = self.request
        record = request.authorization_code.record
        family = new_family_id()
        if not code_store.claim(request.db, record.id, family):
            raise replay_error(request.db, record)
        request.family_id = family  # the new pair's family (``save_token``)
        return super().create_token_response()

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        """Called once the tokens are stored: nothing to delete (the claim marked the code
        used, and the row stays a while so that a late replay is recognised), but if a replay
        came meanwhile, the tokens just stored are revoked and refused."""
        request = self.request
        if code_store.used_family(request.db, authorization_code.record.id) != request.family_id:
            token_store.revoke_family(request.db, request.family_id)
            raise _replayed()

    def authenticate_user(self, authorization_code: StoredCode) -> User | None:
        return user_store.get_user_by_id(self.request.db, authorization_code.record.user_id)
