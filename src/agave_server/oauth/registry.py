"""The grant types this server accepts: ONE list, from which everything else is derived.

The authorization server registers these grants with Authlib; the discovery metadata's
``grant_types_supported`` and ``response_types_supported``, the OpenAPI enum of
``grant_type``, the clients' ``check_grant_type`` and the token route's choice of running a
grant on the event loop (``inline``) all read this list. Adding a grant is adding its class
(in a module named for its RFC) and one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .authorization_code import AuthorizationCodeGrant, S256CodeChallenge
from .device import DeviceCodeGrant
from .grants import AdminPasswordGrant, ClientCredentialsGrant, PasswordGrant, RefreshGrant
from .oidc import AgaveOpenIDCode


@dataclass(frozen=True)
class RegisteredGrant:
    """An Authlib grant class and how the server runs it.

    ``inline``: the grant does no slow work (no password hash) and may run on the event
    loop on SQLite, its write joining the group commit (``api/routes/token.py``).
    ``reads``: the statements an inline grant reads before its write; more than one share a
    read transaction (``Database.snapshot``), which one alone does not need.
    ``extensions``: factories of Authlib grant extensions (e.g. PKCE's ``CodeChallenge``).
    """

    grant: type
    inline: bool = False
    reads: int = 1
    extensions: tuple[Callable[[], object], ...] = ()

    @property
    def grant_type(self) -> str:
        return self.grant.GRANT_TYPE


GRANTS: tuple[RegisteredGrant, ...] = (
    RegisteredGrant(PasswordGrant),
    RegisteredGrant(RefreshGrant, inline=True, reads=2),  # the client, then the old pair
    RegisteredGrant(ClientCredentialsGrant, inline=True),  # the client with its owner
    RegisteredGrant(AdminPasswordGrant),
    RegisteredGrant(AuthorizationCodeGrant, extensions=(S256CodeChallenge, AgaveOpenIDCode)),
    RegisteredGrant(DeviceCodeGrant),
)


def grant_types() -> tuple[str, ...]:
    """Every ``grant_type`` the token endpoint accepts, in registration order."""
    return tuple(g.grant_type for g in GRANTS if hasattr(g.grant, "check_token_endpoint"))


def inline_grant_types() -> frozenset[str]:
    return frozenset(g.grant_type for g in GRANTS if g.inline)


def snapshot_grant_types() -> frozenset[str]:
    """The inline grants whose reads share one read transaction (``RegisteredGrant.reads``)."""
    return frozenset(g.grant_type for g in GRANTS if g.inline and g.reads > 1)


def response_types() -> tuple[str, ...]:
    """Every ``response_type`` the authorization endpoint accepts (none without a code grant)."""
    out: list[str] = []
    for g in GRANTS:
        if hasattr(g.grant, "check_authorization_endpoint"):
            out += [t for t in sorted(getattr(g.grant, "RESPONSE_TYPES", ())) if t not in out]
    return tuple(out)


GRANT_TYPES = frozenset(grant_types())
