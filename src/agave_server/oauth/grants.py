"""The four grant types Agave tokens come from; one class per grant, as Authlib organises them.

Every token belongs to a client and a user; only a client's owner (or, with ``admin_password``,
a tenant administrator using their own client) can mint tokens with it.
"""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError

from ..errors import Forbidden, TooManyRequests
from ..security import digest
from ..services import accounts
from ..storage import now
from ..storage import tokens as token_store
from ..storage import users as user_store
from ..storage.records import Token, User
from .errors import TooManyAttemptsError
from .models import OAuthToken


def _not_owner_error(user: User) -> InvalidGrantError:
    return InvalidGrantError(
        f"This client does not belong to user {user.username}: "
        "create your own client with POST /clients/v2."
    )


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    """``grant_type=password``: the client's owner trades username and password for a pair."""

    def authenticate_user(self, username: str, password: str) -> User:
        request = self.request
        try:
            user = accounts.authenticate(
                request.db, request.throttle, request.tenant, username, password, request.address
            )
        except TooManyRequests as err:
            raise TooManyAttemptsError(err.message, err.retry_after) from None
        except Forbidden as err:  # a disabled account
            raise InvalidGrantError(err.message) from None
        if user is None:
            raise InvalidGrantError("Invalid username or password.")
        return user

    def validate_token_request(self) -> None:
        super().validate_token_request()
        if self.request.user.id != self.request.client.user_id:
            raise _not_owner_error(self.request.user)


class AdminPasswordGrant(PasswordGrant):
    """``grant_type=admin_password``: a tenant admin obtains a pair for ``token_username``."""

    GRANT_TYPE = "admin_password"

    def validate_token_request(self) -> None:
        super().validate_token_request()
        admin = self.request.user
        if not admin.is_admin:
            raise InvalidGrantError(
                f"User {admin.username} is not an administrator of this tenant; "
                "grant_type=admin_password is for administrators only."
            )
        target_name = self.request.form.get("token_username")
        if not target_name:
            raise InvalidRequestError("Missing 'token_username' in request.")
        target = user_store.get_user(self.request.db, self.request.tenant.id, target_name)
        if target is None:
            raise InvalidGrantError("The token_username is not a user of this tenant.")
        self.request.user = target


def refused_refresh(request, token_digest: str, known: Token | None = None) -> InvalidGrantError:
    """The error for a refresh token that is not live, revoking its family if it was reused.

    A refresh token that was already exchanged (and not revoked since) is being replayed:
    either a thief or the legitimate holder has a copy, so every descendant is revoked.
    ``known`` is the pair when the caller has just read it (else it is read here).
    """
    if known is None:
        known = token_store.find_by_refresh(request.db, request.tenant.id, token_digest)
    if known is not None and known.rotated_at is not None and known.revoked_at is None:
        token_store.revoke_family(request.db, known.family_id)
        return InvalidGrantError(
            "This refresh token was already used; every token descended from it is now "
            "revoked. Log in again."
        )
    return InvalidGrantError("The refresh token is invalid, expired or revoked.")


class RefreshGrant(grants.RefreshTokenGrant):
    """``grant_type=refresh_token`` with rotation: each refresh token works exactly once.

    Validation reads the pair; ``save_token`` then retires it and stores the successor in one
    transaction whose conditional UPDATE decides the winner (``storage.tokens.store_pair``), so of
    concurrent exchanges of one token exactly one succeeds and the others are refused as reuse.
    """

    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> OAuthToken:
        request = self.request
        token_digest = digest(refresh_token)
        known = token_store.find_by_refresh(request.db, request.tenant.id, token_digest)
        if known is None or known.rotated_at is not None or known.revoked_at is not None:
            raise refused_refresh(request, token_digest, known)
        if known.refresh_expires_at is None or known.refresh_expires_at <= now():
            raise InvalidGrantError("The refresh token is invalid, expired or revoked.")
        request.refresh_digest = token_digest
        return OAuthToken(known)

    def authenticate_user(self, refresh_token: OAuthToken) -> User | None:
        owner = self.request.client.owner  # read with the client; usually the token's user
        if refresh_token.user_id == owner.id:
            return owner
        return user_store.get_user_by_id(self.request.db, refresh_token.user_id)

    def revoke_old_credential(self, refresh_token: OAuthToken) -> None:
        """Nothing left to do: ``save_token`` retired the old pair when it stored the new one."""


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """``grant_type=client_credentials``: an access token (no refresh) for the client's owner."""

    def create_token_response(self):
        self.request.user = self.request.client.owner
        return super().create_token_response()
