"""nginx keeps its connections to the decision: a call through the gateway opens none.

nginx's ``auth_request`` reads only the answer's headers, and nginx puts an upstream
connection back in its keep-alive cache only when no body is left unread. A decision asked
with GET (it has a body) cost a new TCP connection to the tenant server on nearly every call,
a third of the decision's CPU (0.18 → 0.12 ms; bench/NOTES.md item 29). The generated config
asks with HEAD.
"""

from __future__ import annotations

from pathlib import Path

from tests.gateway.conftest import Gateway, bearer, new_app, token_for

TIME_WAIT = "06"


def _closed_connections(ports: set[int]) -> set[tuple[str, str]]:
    """The loopback TCP connections to or from ``ports`` in TIME_WAIT (closed, lingering)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state = fields[1], fields[2], fields[3]
        if state != TIME_WAIT:
            continue
        if {int(local.split(":")[1], 16), int(remote.split(":")[1], 16)} & ports:
            found.add((local, remote))
    return found


def test_calls_through_the_gateway_reuse_the_connections_to_the_decision(
    gateway: Gateway,
) -> None:
    app = new_app(gateway)
    token = token_for(gateway, app)["access_token"]
    ours = {srv.port for srv in gateway.servers}
    calls = 60
    with gateway.http() as http:
        http.get("/jobs/v2/warm", headers=bearer(token))  # nginx opens what it keeps
        before = _closed_connections(ours)
        for i in range(calls):
            allowed = http.get(f"/jobs/v2/{i}", headers=bearer(token))
            refused = http.get(f"/jobs/v2/{i}", headers=bearer("junk0123"))
            assert (allowed.status_code, refused.status_code) == (200, 401), allowed.text
    closed = _closed_connections(ours) - before
    # Without keep-alive every decision closes one: 2 * calls. Two nginx workers may each
    # open one more to each server while the calls run.
    assert len(closed) <= 4, f"{len(closed)} connections closed in {2 * calls} decisions"
