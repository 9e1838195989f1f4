"""One refresh token, presented at the same instant to every process: one winner.

Rotation must be atomic across processes (a conditional UPDATE in the
database, not a check-then-write in memory), or two callers both get a new
pair from one refresh token and the stolen-token detection is worthless.
"""

from __future__ import annotations

import pytest

from tests.scale.cluster import Cluster, me_status, run_together

CONTENDERS = 8  # two per process
ROUNDS = 3


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_same_refresh_token_concurrently_exactly_one_success(cluster: Cluster, round_: int):
    acct = cluster.new_account()
    pair = cluster.password_grant(acct, i=round_)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": pair["refresh_token"],
        "scope": "PRODUCTION",
    }
    with cluster.clients(CONTENDERS) as cs:
        answers = run_together(
            [lambda c=c: c.post("/token", auth=acct.client_auth, data=form) for c in cs]
        )
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [200] + [400] * (CONTENDERS - 1), [r.text for r in answers]
        for r in answers:
            if r.status_code == 400:
                assert r.json()["error"] == "invalid_grant", r.text
        winner = next(r.json() for r in answers if r.status_code == 200)
        assert winner["refresh_token"] != pair["refresh_token"]
        # The retired pair's access token is dead on every process.
        assert [me_status(c, pair["access_token"]) for c in cs] == [401] * CONTENDERS


def test_refresh_chain_across_processes(cluster: Cluster):
    """Each refresh on another process works once and retires the previous pair everywhere."""
    acct = cluster.new_account()
    pair = cluster.password_grant(acct)
    with cluster.clients(len(cluster)) as cs:
        for step in range(2 * len(cluster)):
            c = cs[step % len(cs)]
            r = c.post(
                "/token",
                auth=acct.client_auth,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": pair["refresh_token"],
                    "scope": "PRODUCTION",
                },
            )
            assert r.status_code == 200, r.text
            new = r.json()
            assert [me_status(x, new["access_token"]) for x in cs] == [200] * len(cs)
            assert [me_status(x, pair["access_token"]) for x in cs] == [401] * len(cs)
            pair = new
