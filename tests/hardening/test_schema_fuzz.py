"""Schema-driven fuzzing: schemathesis against the live server's ``/openapi.json``.

Every documented operation is exercised twice: once with valid credentials
(the right kind for each path: the user's password on the clients service,
a client's key and secret on ``/token`` and ``/revoke``, a bearer token on
the profile) and once with whatever schemathesis generates (no or invalid
credentials); each time with positive and negative data. Checks: no 5xx, and
status code, content type, headers and body all as documented.

schemathesis' pytest integration (``from_fixture``) does not run under
pytest 9, so this drives its documented Python API directly: one Hypothesis
strategy per operation and generation mode (``APIOperation.as_strategy``).
Bounded (``EXAMPLES`` per operation and mode, no shrinking) and derandomized,
so CI stays within minutes and a failure reproduces.
"""

from __future__ import annotations

import base64
import collections
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
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

EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
BOUNDED = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
# The wire contract's operations (AGAVE_WIRE.md); path parameters written as {}.
CONTRACT = {
    "GET /tenants",
    "GET /tenants/{}",
    "GET /clients/v2",
    "POST /clients/v2",
    "GET /clients/v2/{}",
    "DELETE /clients/v2/{}",
    "GET /clients/v2/{}/subscriptions",
    "POST /clients/v2/{}/subscriptions",
    "DELETE /clients/v2/{}/subscriptions",
    "POST /token",
    "POST /revoke",
    "GET /profiles/v2/me",
}
# Issue 11's JSON endpoints (and Agave's PEM public key), fuzzed like the contract's.
OAUTH = {
    "POST /oauth2/introspect",
    "GET /oauth2/jwks",
    "GET /apim/v2/publickey",
    "GET /.well-known/openid-configuration",
    "GET /.well-known/oauth-authorization-server",
}


def _basic(pair: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(":".join(pair).encode()).decode()


@dataclass
class Identity:
    """Valid credentials of every kind the API takes."""

    user: User
    client: OAuthClient
    access_token: str

    def headers_for(self, path: str) -> dict[str, str]:
        if path.startswith("/clients"):
            return {"Authorization": _basic(self.user.auth)}
        if path in ("/token", "/revoke", "/oauth2/introspect"):
            return {"Authorization": _basic(self.client.auth)}
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
    if reporter is not None and counts:
        reporter.write_line(
            f"\nschemathesis: {sum(counts.values())} requests over {len(counts)} "
            "operation/credential/mode combinations"
        )
        for label, n in sorted(counts.items()):
            reporter.write_line(f"  {n:5d}  {label}")


def _operations(srv: ServerProcess) -> list:
    schema = schemathesis.openapi.from_url(srv.base_url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = {re.sub(r"\{[^}]*\}", "{}", op.label) for op in operations}
    assert documented >= CONTRACT | OAUTH, (
        f"undocumented: {sorted((CONTRACT | OAUTH) - documented)}"
    )
    return operations


def _runner(op, mode: GenerationMode, label: str, prepare: Callable, tried) -> Callable:
    """A bounded Hypothesis test of one operation in one generation mode."""

    @given(case=op.as_strategy(generation_mode=mode))
    @BOUNDED
    def run(case) -> None:
        tried[label] += 1
        case.call_and_validate(headers=prepare(case), checks=CHECKS)

    return run


def _fuzz(
    srv: ServerProcess, prepare: Callable, tried: collections.Counter, kind: str
) -> list[str]:
    """Run every operation in both generation modes; return the failures, one per run."""
    failures = []
    for op in _operations(srv):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{op.label} [{kind}, {mode.value}]"
            try:
                _runner(op, mode, label, prepare, tried)()
            except Unsatisfiable:
                continue  # e.g. nothing about this operation can be made invalid
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
                failures.append(f"{label}:\n{exc}")
    return failures


@pytest.mark.timeout(1200)
def test_with_valid_credentials(server: ServerProcess, identity: Identity, tried) -> None:
    def prepare(case) -> dict[str, str]:
        if "name" in (case.path_parameters or {}) and case.method != "DELETE":
            # Much of the behaviour lives behind an existing client's name.
            case.path_parameters["name"] = identity.client.name
        return identity.headers_for(case.path)

    failures = _fuzz(server, prepare, tried, "authenticated")
    assert not failures, "\n\n".join(failures)


@pytest.mark.timeout(1200)
def test_without_valid_credentials(server: ServerProcess, tried) -> None:
    failures = _fuzz(server, lambda case: {}, tried, "anonymous")
    assert not failures, "\n\n".join(failures)
