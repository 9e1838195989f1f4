"""``agave`` finds the token endpoints in the tenant's discovery document (seen with -v)."""

from __future__ import annotations


def test_token_commands_read_the_document_once(logged_in):
    agave, user, _created = logged_in
    res = agave.as_user(user, "-v", "tokens", "create", "-q")
    assert res.code == 0, str(res)
    lines = [ln for ln in res.err.splitlines() if "HTTP Request" in ln]
    assert len(lines) == 2, res.err
    assert "GET " in lines[0] and "/.well-known/openid-configuration" in lines[0]
    assert "200" in lines[0]
    assert "POST " in lines[1] and "/token" in lines[1]
    res = agave(
        "-v", "clients", "list", "-u", user.username, "--password-stdin", input=user.password
    )
    assert res.code == 0 and ".well-known" not in res.err  # the clients service is Agave's
