"""One ``agave-server serve --workers 4``: uvicorn's processes share nothing but the database.

Requests to one port land on whichever worker the kernel picks, so these
races hit several workers without the test choosing them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scale.cluster import Cluster, me_status, run_together

CONTENDERS = 12


@pytest.fixture(scope="module")
def workers4(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with Cluster(tmp_path_factory.mktemp("workers4"), size=1, workers=4) as c:
        yield c


@pytest.mark.parametrize("round_", range(3))
def test_refresh_race_on_four_workers(workers4: Cluster, round_: int):
    acct = workers4.new_account()
    pair = workers4.password_grant(acct)
    form = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    with workers4.clients(CONTENDERS) as cs:
        answers = run_together(
            [lambda c=c: c.post("/token", auth=acct.client_auth, data=form) for c in cs]
        )
        assert sorted(r.status_code for r in answers) == [200] + [400] * (CONTENDERS - 1)
        assert {me_status(c, pair["access_token"]) for c in cs} == {401}


def test_revocation_on_four_workers(workers4: Cluster):
    acct = workers4.new_account()
    pair = workers4.password_grant(acct)
    with workers4.clients(CONTENDERS) as cs:
        assert {me_status(c, pair["access_token"]) for c in cs} == {200}
        r = cs[0].post("/revoke", auth=acct.client_auth, data={"token": pair["access_token"]})
        assert r.status_code == 200
        assert {me_status(c, pair["access_token"]) for c in cs} == {401}
