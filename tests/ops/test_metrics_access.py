"""``/metrics`` is answered only to peers in ``AGAVE_SERVER_METRICS_ALLOW``; everyone else gets
the same 404 as a path that does not exist, whatever forwarded headers they send."""

from __future__ import annotations

import httpx

from tests.hardening.conftest import client_from
from tests.server.test_cli import fresh_env, run


def test_loopback_only_by_default(make_server) -> None:
    srv = make_server()
    with client_from(srv, "127.0.0.7") as http:  # all of 127/8 is loopback
        assert http.get("/metrics").status_code == 200
    with httpx.Client(base_url=srv.base_url, timeout=30) as http:
        # A proxy on 127.0.0.1 (trusted by default) forwarding for an outside client:
        # refused as that client would be.
        forwarded = http.get("/metrics", headers={"X-Forwarded-For": "192.0.2.10"})
        assert forwarded.status_code == 404
        assert http.get("/metrics").status_code == 200


def test_peer_outside_the_list_gets_404(make_server) -> None:
    srv = make_server(env={"AGAVE_SERVER_METRICS_ALLOW": "10.0.0.0/8, 192.0.2.0/24"})
    with httpx.Client(base_url=srv.base_url, timeout=30) as http:
        res = http.get("/metrics")
        unknown = http.get("/no-such-endpoint")
        # A header naming an allowed address does not help: the peer is what counts.
        spoofed = http.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
    assert res.status_code == 404 and spoofed.status_code == 404
    assert res.json()["message"] == "No such resource: GET /metrics"
    assert res.json().keys() == unknown.json().keys()
    assert "agave_server" not in res.text + spoofed.text


def test_forwarded_header_cannot_grant_access(make_server) -> None:
    """Even when every proxy is trusted (FORWARDED_ALLOW_IPS=*), so that uvicorn takes the
    client address from X-Forwarded-For, the TCP peer must be in the list."""
    srv = make_server(
        env={"AGAVE_SERVER_METRICS_ALLOW": "127.0.0.2/32", "FORWARDED_ALLOW_IPS": "*"}
    )
    with client_from(srv, "127.0.0.3") as http:
        assert http.get("/metrics", headers={"X-Forwarded-For": "127.0.0.2"}).status_code == 404
    with client_from(srv, "127.0.0.2") as http:
        assert http.get("/metrics").status_code == 200


def test_bad_allow_list_is_one_clear_line(tmp_path) -> None:
    env = fresh_env(tmp_path)
    env["AGAVE_SERVER_METRICS_ALLOW"] = "127.0.0.1/8,not-a-network"
    r = run(env, "serve", "--port", "0")
    assert r.returncode == 1
    assert "AGAVE_SERVER_METRICS_ALLOW: 'not-a-network' is not an address or CIDR" in r.stderr
    assert "Traceback" not in r.stderr
