"""Token grants under concurrency: each request gets its own working pair, rotations stay exact.

On SQLite the grants without a password check write through a group commit (one transaction
for the writes a process collected meanwhile, ``storage.batch``); on PostgreSQL each request
writes on its own. Either way every answer must mean what it says: a 200 is a stored pair, a
refresh token is exchanged once.
"""

from __future__ import annotations

import asyncio
import os
import re

import httpx
import pytest

from tests.server.conftest import create_client, me, password_token

ON_POSTGRES = bool(os.environ.get("AGAVE_TEST_DATABASE_URL"))


async def _together(base_url: str, requests: list[dict]) -> list[httpx.Response]:
    """Send every request at once, each on its own connection."""
    limits = httpx.Limits(max_connections=len(requests))
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        return await asyncio.gather(*(client.post("/token", **kw) for kw in requests))


def test_concurrent_client_credentials_each_get_a_working_token(http, server, user):
    client = create_client(http, user)
    form = {"grant_type": "client_credentials"}
    answers = asyncio.run(_together(server.base_url, [{"data": form, "auth": client.auth}] * 40))
    assert [r.status_code for r in answers] == [200] * 40, [r.text for r in answers]
    tokens = [r.json()["access_token"] for r in answers]
    assert len(set(tokens)) == 40
    assert {me(http, t).status_code for t in tokens} == {200}


def test_concurrent_refreshes_of_distinct_tokens_all_rotate(http, server, user):
    client = create_client(http, user)
    pairs = [password_token(http, client) for _ in range(12)]
    requests = [
        {
            "data": {"grant_type": "refresh_token", "refresh_token": p["refresh_token"]},
            "auth": client.auth,
        }
        for p in pairs
    ]
    answers = asyncio.run(_together(server.base_url, requests))
    assert [r.status_code for r in answers] == [200] * 12, [r.text for r in answers]
    for old, r in zip(pairs, answers, strict=True):
        new = r.json()
        assert me(http, new["access_token"]).status_code == 200
        assert me(http, old["access_token"]).status_code == 401  # retired with its pair


def test_one_refresh_token_sent_concurrently_to_one_process_wins_once(http, server, user):
    """The contenders can land in one group commit: the claim inside it still decides."""
    client = create_client(http, user)
    pair = password_token(http, client)
    form = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    answers = asyncio.run(_together(server.base_url, [{"data": form, "auth": client.auth}] * 10))
    assert sorted(r.status_code for r in answers) == [200] + [400] * 9, [r.text for r in answers]
    assert {r.json()["error"] for r in answers if r.status_code == 400} == {"invalid_grant"}
    assert me(http, pair["access_token"]).status_code == 401


@pytest.mark.skipif(ON_POSTGRES, reason="group commit is SQLite's (PostgreSQL writes in parallel)")
def test_concurrent_grants_share_commits(make_server):
    """Under concurrency the writes really are grouped (the server logs what it achieved)."""
    srv = make_server(workers=1)
    srv.add_user("gc", "gc-password-1")
    with srv.client() as http:
        r = http.post("/clients/v2", data={"clientName": "gc"}, auth=("gc", "gc-password-1"))
        assert r.status_code == 201, r.text
        result = r.json()["result"]
    auth = (result["consumerKey"], result["consumerSecret"])
    form = {"grant_type": "client_credentials"}
    for _ in range(3):  # three bursts: grouping needs requests that arrive together
        answers = asyncio.run(_together(srv.base_url, [{"data": form, "auth": auth}] * 64))
        assert [r.status_code for r in answers] == [200] * 64
    srv.stop()
    found = re.search(r"group commit: (\d+) token writes in (\d+) transactions", srv.log())
    assert found, srv.log()[-2000:]
    writes, transactions = int(found[1]), int(found[2])
    assert writes == 3 * 64
    assert transactions < writes
