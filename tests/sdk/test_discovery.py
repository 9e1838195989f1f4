"""The SDK finds a tenant's endpoints in its discovery document, once per session, and falls
back to the Agave defaults when there is none (or one it must not trust)."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from agavepy._discovery import Endpoints
from agavepy.agave import Agave
from agavepy.errors import NetworkError
from tests.support.server import free_port

WELL_KNOWN = "/.well-known/openid-configuration"


def count_requests(ag: Agave) -> list[str]:
    """The paths this Agave object requests, in order (an httpx event hook: it only watches)."""
    seen: list[str] = []
    ag.transport.client.event_hooks["request"].append(lambda r: seen.append(r.url.path))
    return seen


def test_endpoints_come_from_the_document_once_per_session(make_agave, user, server):
    ag = make_agave(user)
    seen = count_requests(ag)
    ag.clients_create("disc1", "")
    assert WELL_KNOWN not in seen  # the clients service is Agave's, not in the document
    ag.get_access_token()
    ag.tokens.refresh(force=True)
    assert ag.tokens.introspect().active
    ag.tokens.revoke()
    assert seen.count(WELL_KNOWN) == 1
    assert seen[-4:] == ["/token", "/token", "/oauth2/introspect", "/revoke"]
    found = ag.endpoints()
    doc = httpx.get(server.base_url + WELL_KNOWN).json()
    assert found.discovered and found.issuer == doc["issuer"] == server.base_url
    assert (found.token, found.revocation, found.introspection, found.jwks_uri) == (
        doc["token_endpoint"],
        doc["revocation_endpoint"],
        doc["introspection_endpoint"],
        doc["jwks_uri"],
    )


def test_a_document_naming_another_issuer_is_not_used(make_agave, user, server, caplog):
    ag = make_agave(user)
    ag.clients_create("disc2", "")
    # The same server by another name: its document names 127.0.0.1, not localhost.
    ag.api_server = server.base_url.replace("127.0.0.1", "localhost")
    with caplog.at_level(logging.WARNING, logger="agavepy"):
        ag.get_access_token()
    found = ag.endpoints()
    assert not found.discovered
    assert found.token == server.base_url.replace("127.0.0.1", "localhost") + "/token"
    assert "names issuer" in caplog.text and WELL_KNOWN in caplog.text
    assert ag.profile().username == user.username  # the defaults work


@pytest.fixture
def plain_web_server(tmp_path) -> Iterator[str]:
    """A real HTTP server that has no discovery document (every path but / is 404)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "http.server did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_no_document_means_the_agave_defaults(plain_web_server):
    with Agave(api_server=plain_web_server, tenant_id="t", prompt=False) as ag:
        seen = count_requests(ag)
        found = ag.endpoints()
        assert found == Endpoints.defaults(plain_web_server)
        assert not found.discovered
        assert (found.token, found.revocation, found.introspection) == (
            plain_web_server + "/token",
            plain_web_server + "/revoke",
            plain_web_server + "/oauth2/introspect",
        )
        ag.endpoints()
        assert seen == [WELL_KNOWN]  # a definite "none" is kept for the session


def test_an_unreachable_tenant_is_asked_again_and_the_real_call_says_so():
    url = f"http://127.0.0.1:{free_port()}"
    with Agave(api_server=url, tenant_id="t", api_key="k", api_secret="s", prompt=False) as ag:
        assert not ag.endpoints().discovered
        assert ag._endpoints is None  # not kept: the next call asks again
        with pytest.raises(NetworkError, match="/token"):
            ag.tokens.create("bob", "pw")


def test_endpoints_that_would_leave_https_are_not_used():
    doc = {
        "issuer": "https://tenant.example.org",
        "token_endpoint": "http://tenant.example.org/token",
        "revocation_endpoint": "https://tenant.example.org/oauth2/revoke",
        "introspection_endpoint": "javascript:alert(1)",
        "jwks_uri": 42,
    }
    found = Endpoints.from_metadata("https://tenant.example.org/", doc)
    assert found.token == "https://tenant.example.org/token"  # the default, not the http one
    assert found.revocation == "https://tenant.example.org/oauth2/revoke"
    assert found.introspection == "https://tenant.example.org/oauth2/introspect"
    assert found.jwks_uri == "https://tenant.example.org/oauth2/jwks"
