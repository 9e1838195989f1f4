"""A token revoked through one process is rejected by every process at once.

Each process is first made to accept the token (so any per-process cache
would hold it), then the token is retired through another process, or by
the operator CLI straight in the database, and every process is asked again
right away.
"""

from __future__ import annotations

from tests.scale.cluster import Cluster, me_status


def _warm(cluster: Cluster, cs, token: str) -> None:
    for _ in range(2):
        assert [me_status(c, token) for c in cs] == [200] * len(cs)


def test_revoked_access_token_rejected_by_every_process(cluster: Cluster):
    acct = cluster.new_account()
    pair = cluster.password_grant(acct, i=0)
    with cluster.clients(len(cluster)) as cs:
        _warm(cluster, cs, pair["access_token"])
        r = cs[1].post("/revoke", auth=acct.client_auth, data={"token": pair["access_token"]})
        assert r.status_code == 200, r.text
        for c in cs:
            r = c.get(
                "/profiles/v2/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
            )
            assert r.status_code == 401, r.text
            assert r.json()["fault"]["code"] == "900901"


def test_revoked_refresh_token_rejected_by_every_process(cluster: Cluster):
    acct = cluster.new_account()
    pair = cluster.password_grant(acct, i=1)
    with cluster.clients(len(cluster)) as cs:
        r = cs[2].post("/revoke", auth=acct.client_auth, data={"token": pair["refresh_token"]})
        assert r.status_code == 200, r.text
        for c in cs:
            r = c.post(
                "/token",
                auth=acct.client_auth,
                data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
            )
            assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text


def test_refresh_on_one_process_retires_old_access_token_everywhere(cluster: Cluster):
    acct = cluster.new_account()
    pair = cluster.password_grant(acct, i=0)
    with cluster.clients(len(cluster)) as cs:
        _warm(cluster, cs, pair["access_token"])
        r = cs[3].post(
            "/token",
            auth=acct.client_auth,
            data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        )
        assert r.status_code == 200, r.text
        assert [me_status(c, pair["access_token"]) for c in cs] == [401] * len(cs)
        assert [me_status(c, r.json()["access_token"]) for c in cs] == [200] * len(cs)


def test_deleted_client_tokens_rejected_by_every_process(cluster: Cluster):
    acct = cluster.new_account()
    pair = cluster.password_grant(acct, i=2)
    with cluster.clients(len(cluster)) as cs:
        _warm(cluster, cs, pair["access_token"])
        r = cs[0].delete(f"/clients/v2/{acct.client_name}", auth=acct.auth)
        assert r.status_code == 200, r.text
        assert [me_status(c, pair["access_token"]) for c in cs] == [401] * len(cs)


def test_unsubscribed_profiles_forbidden_by_every_process(cluster: Cluster):
    """Subscriptions gate tokens too: a change via one process holds on all at once."""
    acct = cluster.new_account()
    pair = cluster.password_grant(acct, i=0)
    with cluster.clients(len(cluster)) as cs:
        _warm(cluster, cs, pair["access_token"])
        r = cs[1].delete(
            f"/clients/v2/{acct.client_name}/subscriptions",
            auth=acct.auth,
            params={"apiName": "Profiles"},
        )
        assert r.is_success, r.text
        assert [me_status(c, pair["access_token"]) for c in cs] == [403] * len(cs)
        r = cs[2].post(
            f"/clients/v2/{acct.client_name}/subscriptions",
            auth=acct.auth,
            data={"apiName": "Profiles"},
        )
        assert r.is_success, r.text
        assert [me_status(c, pair["access_token"]) for c in cs] == [200] * len(cs)


def test_removed_user_tokens_rejected_by_every_process(cluster: Cluster):
    """The operator CLI writes only to the database; no process may keep trusting the token."""
    acct = cluster.new_account()
    pair = cluster.password_grant(acct, i=3)
    with cluster.clients(len(cluster)) as cs:
        _warm(cluster, cs, pair["access_token"])
        cluster.admin("users", "remove", acct.username, "--tenant", "sd2e")
        assert [me_status(c, pair["access_token"]) for c in cs] == [401] * len(cs)
