"""Refresh-token reuse detection (OAuth 2.0 Security BCP, section 4.14.2).

A rotated refresh token showing up again means it was stolen (or the real
client lost a race it should not have): every token descended from it is
revoked, so the thief and the victim both have to log in again.
"""

from __future__ import annotations

import httpx

from tests.hardening.api import (
    TokenPair,
    create_client,
    login,
    pair_of,
    refresh_grant,
    token_works,
)


def _chain(http: httpx.Client, client, first: TokenPair, length: int) -> list[TokenPair]:
    pairs = [first]
    for _ in range(length):
        pairs.append(pair_of(refresh_grant(http, client, pairs[-1].refresh)))
    return pairs


def test_rotation_retires_the_old_pair(http: httpx.Client, user) -> None:
    client = create_client(http, user)
    old, new = _chain(http, client, login(http, client, user), 1)
    assert not token_works(http, old.access)
    assert token_works(http, new.access)


def test_reusing_a_rotated_refresh_token_revokes_its_descendants(http: httpx.Client, user) -> None:
    client = create_client(http, user)
    pairs = _chain(http, client, login(http, client, user), 3)
    bystander = login(http, client, user)  # another login: another family
    latest = pairs[-1]
    assert token_works(http, latest.access)

    replay = refresh_grant(http, client, pairs[1].refresh)
    assert replay.status_code == 400, replay.text
    assert replay.json()["error"] == "invalid_grant"
    assert "access_token" not in replay.json()

    # Everything descended from the replayed token is dead, access and refresh.
    assert not token_works(http, latest.access)
    dead = refresh_grant(http, client, latest.refresh)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    # The other family is untouched.
    assert token_works(http, bystander.access)
    assert token_works(http, pair_of(refresh_grant(http, client, bystander.refresh)).access)


def test_replaying_the_first_refresh_token_revokes_the_whole_family(
    http: httpx.Client, user
) -> None:
    client = create_client(http, user)
    pairs = _chain(http, client, login(http, client, user), 2)
    assert refresh_grant(http, client, pairs[0].refresh).status_code == 400
    assert not any(token_works(http, p.access) for p in pairs)
    for p in pairs:
        assert refresh_grant(http, client, p.refresh).status_code == 400


def test_a_second_replay_changes_nothing(http: httpx.Client, user) -> None:
    """Replays are idempotent: the family stays revoked, no error turns into a 500."""
    client = create_client(http, user)
    pairs = _chain(http, client, login(http, client, user), 1)
    for _ in range(3):
        res = refresh_grant(http, client, pairs[0].refresh)
        assert res.status_code == 400 and res.json()["error"] == "invalid_grant"
    assert not token_works(http, pairs[1].access)
