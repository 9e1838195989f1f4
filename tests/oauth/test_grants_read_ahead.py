"""On PostgreSQL the token grants run on the event loop: what they read is read ahead in the
loop's batched queries (``oauth.server.reads_ahead``, ``storage.lookups``), so the grant
itself sends no statement, and its pair goes to the batched write (``storage.pair_writes``).

The server's own authorization server runs here in-process against the test server's
database, with every statement it sends recorded: a grant that read something the plan did
not foresee would still answer correctly, only slower, and this test is what notices.
"""

from __future__ import annotations

import asyncio
import base64
import os

import pytest
import sqlalchemy as sa

from agave_server.app import create_app
from agave_server.config import Settings
from agave_server.oauth.requests import HttpInput
from agave_server.storage.lookups import reading_ahead
from agave_server.storage.tenants import get_tenant
from tests.oauth.conftest import FAST_CACHE, Tenant

pytestmark = pytest.mark.skipif(
    not os.environ.get("AGAVE_TEST_DATABASE_URL"), reason="needs AGAVE_TEST_DATABASE_URL"
)


def _basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


@pytest.fixture(scope="module")
def agave(a: Tenant):
    srv = a.server
    app = create_app(Settings.load(db=srv.db_url, data_dir=srv.workdir, env=FAST_CACHE))
    state = app.state.agave
    assert state.pair_writes is not None and state.oauth.throttle.in_database
    yield state
    state.db.dispose()


def _grant(agave, tenant, headers: dict, form: dict):
    """One grant as ``_on_loop_postgres`` runs it, with the statements it sent."""
    oauth = agave.oauth
    request = oauth.request(
        HttpInput("POST", "/token", tenant, headers=headers, form=form, address="127.0.0.1")
    )
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_rest) -> None:
        sent.append(statement)

    async def run():
        rows = await oauth.lookups.read_ahead(oauth.reads_ahead(request))
        request.defer_write = True
        agave.db.statement_hook = lambda statement, _args: sent.append(statement)
        sa.event.listen(agave.db.engine, "before_cursor_execute", record)
        try:
            with reading_ahead(rows):
                answer = oauth.token_response(request)
        finally:
            agave.db.statement_hook = None
            sa.event.remove(agave.db.engine, "before_cursor_execute", record)
        stored = None
        if request.pending_pair is not None:
            stored = await agave.pair_writes.submit(request.pending_pair)
            answer = oauth.finish_deferred(request, answer, stored)
        return answer, stored

    answer, stored = asyncio.run(run())
    return answer, stored, sent


def test_client_credentials_and_refresh_send_nothing_beyond_what_was_read_ahead(a: Tenant, agave):
    client = a.client(a.shared_user())
    tenant = get_tenant(agave.db, a.code)
    headers = {"Authorization": _basic(client.key, client.secret), "Host": "127.0.0.1"}

    answer, stored, sent = _grant(agave, tenant, headers, {"grant_type": "client_credentials"})
    assert answer.status == 200 and stored is True and sent == []
    issued = answer.body["access_token"]
    assert a.me(issued).status_code == 200  # stored, and the running server sees it

    refresh = a.token(client)["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh}
    answer, stored, sent = _grant(agave, tenant, headers, form)
    assert answer.status == 200 and stored is True and sent == []
    assert a.refresh(client, refresh).status_code == 400  # rotated: a replay is refused
    assert a.me(answer.body["access_token"]).status_code == 401  # ... and revokes the family


def test_a_wrong_secret_or_an_unknown_key_is_refused_as_before(a: Tenant, agave):
    client = a.client(a.shared_user())
    tenant = get_tenant(agave.db, a.code)
    for key, secret in ((client.key, "wrong"), ("no-such-key", "x")):
        headers = {"Authorization": _basic(key, secret)}
        answer, stored, _sent = _grant(agave, tenant, headers, {"grant_type": "client_credentials"})
        assert answer.status == 401 and stored is None
        assert answer.body["error"] == "invalid_client"


def _introspect(agave, tenant, headers: dict, form: dict):
    """Introspection as the route runs it on PostgreSQL, with the statements it sent."""
    oauth = agave.oauth
    request = oauth.request(
        HttpInput(
            "POST", "/oauth2/introspect", tenant, headers=headers, form=form, address="127.0.0.1"
        )
    )
    sent: list[str] = []

    async def run():
        rows = await oauth.lookups.read_ahead(oauth.introspection_reads_ahead(request))
        agave.db.statement_hook = lambda statement, _args: sent.append(statement)
        try:
            with reading_ahead(rows):
                return oauth.introspection_response(request)
        finally:
            agave.db.statement_hook = None

    return asyncio.run(run()), sent


@pytest.mark.parametrize("token_format", ["opaque", "jwt"])
def test_introspection_sends_nothing_beyond_what_was_read_ahead(a: Tenant, agave, token_format):
    client = a.client(a.shared_user())
    tenant = get_tenant(agave.db, a.code)
    headers = {"Authorization": _basic(client.key, client.secret)}
    a.set_format(token_format)
    try:
        issued = a.token(client)["access_token"]
    finally:
        a.set_format("opaque")
    answer, sent = _introspect(agave, tenant, headers, {"token": issued})
    assert answer.status == 200 and answer.body["active"] is True, answer.body
    assert answer.body["username"] == client.owner.username
    assert sent == []
    answer, sent = _introspect(agave, tenant, headers, {"token": "x" * 43})
    assert answer.status == 200 and answer.body == {"active": False}
