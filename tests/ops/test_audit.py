"""The audit log: operator commands and token-family revocations, with who, when, where."""

from __future__ import annotations

import json

from tests.conftest import User, unique_name
from tests.hardening.api import create_client, login, refresh_grant


def audit(srv, *args: str) -> list[dict]:
    return json.loads(srv.admin("audit", *args, "--json").stdout)


def test_operator_commands_are_recorded(make_server) -> None:
    srv = make_server()
    srv.add_user("alice", "pw-alice-1", admin=True)
    srv.admin(
        "users", "passwd", "alice", "--tenant", "sd2e", "--password-stdin", input="pw-second-2\n"
    )
    srv.admin("apis", "add", "Widgets", "--tenant", "sd2e", "--default")
    srv.admin("apis", "remove", "Widgets", "--tenant", "sd2e")
    srv.admin("users", "remove", "alice", "--tenant", "sd2e")
    srv.admin("purge")
    srv.admin("tenants", "add", "other", "--name", "Other", "--base-url", "http://o.example/")
    srv.admin("tenants", "remove", "other")

    entries = audit(srv, "--tenant", "sd2e")
    assert [(e["action"], e["target"]) for e in entries] == [
        ("tenant.add", "sd2e"),
        ("user.add", "alice"),
        ("user.password", "alice"),
        ("api.add", "Widgets v2 admin"),
        ("api.remove", "Widgets v2 admin"),
        ("user.remove", "alice"),
        ("tokens.purge", ""),
    ]
    for e in entries:
        assert e["actor"].startswith("cli:") and e["address"] == "local"
        assert e["time"].endswith("Z")
    assert entries[1]["detail"] == {"admin": True}
    assert entries[5]["detail"] == {"tokens_revoked": 0}
    assert entries[6]["tenant"] is None  # server-wide, shown with every tenant
    assert "pw-alice-1" not in json.dumps(entries) and "pw-second-2" not in json.dumps(entries)

    # A removed tenant's entries stay readable.
    other = audit(srv, "--tenant", "other")
    assert [e["action"] for e in other if e["tenant"] == "other"] == ["tenant.add", "tenant.remove"]

    assert len(audit(srv, "--tenant", "sd2e", "--since", "1h")) == 7
    assert audit(srv, "--tenant", "sd2e", "--since", "2999-01-01T00:00:00Z") == []
    text = srv.admin("audit", "--tenant", "sd2e").stdout
    assert "user.password" in text and "alice" in text
    bad = srv.admin("audit", "--since", "last tuesday", check=False)
    assert bad.returncode == 1 and "--since 'last tuesday': use a duration" in bad.stderr
    missing = srv.admin("audit", "--tenant", "nosuch", check=False)
    assert missing.returncode == 1 and "no tenant nosuch" in missing.stderr


def test_refresh_token_reuse_records_the_family_revocation(make_server) -> None:
    srv = make_server()
    user = User(unique_name("aud"), "pw-" + unique_name("Pw"))
    srv.add_user(user.username, user.password)
    with srv.client() as http:
        client = create_client(http, user)
        pair = login(http, client, user)
        assert refresh_grant(http, client, pair.refresh).status_code == 200
        assert refresh_grant(http, client, pair.refresh).status_code == 400  # reused
        assert refresh_grant(http, client, pair.refresh).status_code == 400  # nothing new
    revoked = [e for e in audit(srv, "--tenant", "sd2e") if e["action"] == "token_family.revoke"]
    assert len(revoked) == 1, revoked
    (entry,) = revoked
    assert entry["actor"] == f"client:{client.key}" and entry["address"] == "127.0.0.1"
    assert entry["detail"] == {"reason": "refresh token reused", "pairs_revoked": 2}
    assert pair.refresh not in json.dumps(revoked)
