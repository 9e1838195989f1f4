"""Schema-driven fuzzing: schemathesis against the live server's ``/openapi.json``.

Every documented operation is exercised twice, once with valid credentials
(the right kind for each path: the user's password on the clients service,
a client's key and secret on ``/token`` and ``/revoke``, a bearer token on
the profile) and once with whatever schemathesis generates (no or invalid
credentials). Both positive and negative data. Checks: no 5xx, and status
code, content type, headers and body all as documented. Bounded and
derandomized so CI stays within a few minutes and failures reproduce.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import User
from tests.hardening.api import OAuthClient, create_client, login
from tests.support.server import ServerProcess

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
BOUNDED = settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@dataclass
class Identity:
    """Valid credentials of every kind the API takes."""

    user: User
    client: OAuthClient
    access_token: str

    def headers_for(self, path: str) -> dict[str, str]:
        import base64

        def basic(pair: tuple[str, str]) -> str:
            return "Basic " + base64.b64encode(":".join(pair).encode()).decode()

        if path.startswith("/clients"):
            return {"Authorization": basic(self.user.auth)}
        if path in ("/token", "/revoke"):
            return {"Authorization": basic(self.client.auth)}
        if path.startswith("/profiles"):
            return {"Authorization": f"Bearer {self.access_token}"}
        return {}


@pytest.fixture(scope="module")
def identity(server: ServerProcess) -> Identity:
    user = User("fuzzer", "pw-fuzzer-0123456789")
    server.add_user(user.username, user.password)
    with server.client() as http:
        client = create_client(http, user, "fuzzed")
        access = login(http, client, user).access
    return Identity(user, client, access)


@pytest.fixture(scope="module")
def tried(request: pytest.FixtureRequest) -> Iterator[collections.Counter]:
    """Counts the requests sent per operation and prints the totals at the end."""
    counts: collections.Counter = collections.Counter()
    yield counts
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        total = sum(counts.values())
        reporter.write_line(f"\nschemathesis: {total} requests over {len(counts)} operations")
        for label, n in sorted(counts.items()):
            reporter.write_line(f"  {n:5d}  {label}")


@pytest.fixture
def api_schema(server: ServerProcess):
    return schemathesis.openapi.from_url(server.base_url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@BOUNDED
def test_with_valid_credentials(case, identity: Identity, tried) -> None:
    tried[f"{case.method} {case.path} (authenticated)"] += 1
    path_name = (case.path_parameters or {}).get("name")
    if path_name is not None and case.method != "DELETE":
        # Half the interesting behaviour is behind an existing client's name.
        case.path_parameters["name"] = identity.client.name
    case.call_and_validate(headers=identity.headers_for(case.path), checks=CHECKS)


@schema.parametrize()
@BOUNDED
def test_without_valid_credentials(case, tried) -> None:
    tried[f"{case.method} {case.path} (anonymous)"] += 1
    case.call_and_validate(checks=CHECKS)
