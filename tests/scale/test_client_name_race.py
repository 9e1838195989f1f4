"""The same client name created at the same instant on every process: one 201, the rest 409.

The name is unique per user in the database (a unique constraint), so the
loser of the race is told 409 rather than getting a duplicate or a 500.
"""

from __future__ import annotations

import secrets

import httpx

from tests.scale.cluster import Cluster, run_together

CONTENDERS = 8


def test_same_client_name_concurrently_one_created(cluster: Cluster):
    acct = cluster.new_account(with_client=False)
    name = "race" + secrets.token_hex(4)
    with cluster.clients(CONTENDERS) as cs:
        answers = run_together(
            [
                lambda c=c: c.post(
                    "/clients/v2", auth=acct.auth, data={"clientName": name, "description": "race"}
                )
                for c in cs
            ]
        )
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [201] + [409] * (CONTENDERS - 1), [r.text for r in answers]
        for r in answers:
            body = r.json()
            if r.status_code == 409:
                assert body["status"] == "error" and body["result"] is None, r.text
                assert name in body["message"], r.text
        created = next(r.json()["result"] for r in answers if r.status_code == 201)

        # Every process sees exactly that one client, and its secret is the one returned.
        for c in cs[: len(cluster)]:
            listed = c.get("/clients/v2", auth=acct.auth).json()["result"]
            assert [x["name"] for x in listed] == [name]
            assert listed[0]["consumerKey"] == created["consumerKey"]
        r = cs[1].post(
            "/token",
            auth=(created["consumerKey"], created["consumerSecret"]),
            data={"grant_type": "client_credentials"},
        )
        assert r.status_code == 200, r.text


def test_different_names_concurrently_all_created(cluster: Cluster):
    """No false conflicts: distinct names by one user, created at once, all succeed."""
    acct = cluster.new_account(with_client=False)
    names = [f"many{i}x{secrets.token_hex(3)}" for i in range(CONTENDERS)]
    with cluster.clients(CONTENDERS) as cs:
        answers: list[httpx.Response] = run_together(
            [
                lambda c=c, n=n: c.post("/clients/v2", auth=acct.auth, data={"clientName": n})
                for c, n in zip(cs, names, strict=True)
            ]
        )
        assert [r.status_code for r in answers] == [201] * CONTENDERS, [r.text for r in answers]
        listed = cs[0].get("/clients/v2", auth=acct.auth).json()["result"]
        assert sorted(x["name"] for x in listed) == sorted(names)
        assert len({x["consumerKey"] for x in listed}) == CONTENDERS
