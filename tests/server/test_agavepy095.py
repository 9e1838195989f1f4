"""Compatibility: the seed's session driven through the REAL agavepy 0.9.5 from the package index.

agavepy reads the password with ``getpass`` (from the terminal), so the session runs under a
pseudo-terminal and the test answers every "API password: " prompt, then checks what agavepy
printed and that the key, secret and tokens it obtained work against the server.
"""

from __future__ import annotations

import re
import textwrap

import httpx
import pexpect
import pytest

from agavepy.wire import DEFAULT_API_NAMES
from tests.conftest import User
from tests.server.conftest import me

SESSION = textwrap.dedent(
    """
    import sys
    from agavepy.agave import Agave

    tenants_url, username = sys.argv[1], sys.argv[2]
    ag = Agave(tenant_id="sd2e", username=username)
    ag.init(tenantsurl=tenants_url)
    print("BASEURL", ag.api_server, flush=True)
    ag.clients_create("my_super_cool_client", "my client's desciption")
    print("KEYS", ag.api_key, ag.api_secret, flush=True)
    ag.clients_list()
    ag.clients_subscribe("PublicKeys", "v2", "admin", client_name="my_super_cool_client")
    ag.clients_subscribtions()
    ag.get_access_token()
    print("TOKEN", ag.token, ag.refresh_token, ag.expires_in, flush=True)
    ag.refresh_tokens()
    print("TOKEN2", ag.token, ag.refresh_token, ag.expires_in, flush=True)
    input("CONTINUE? ")
    ag.clients_delete()
    print("DONE", repr(ag.api_key), repr(ag.api_secret), flush=True)
    """
)

DEFAULT_APIS = list(DEFAULT_API_NAMES)


@pytest.mark.slow
@pytest.mark.parametrize("token_format", ["opaque", "jwt"])
def test_seed_session_with_agavepy_095(agavepy095, make_server, tmp_path, token_format):
    # A 30 s lifetime makes agavepy's refresh_tokens() refresh at once (it refreshes when
    # less than 60 s remain). Both access-token formats: agavepy only passes tokens on.
    srv = make_server(
        env={"AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": "30", "AGAVE_SERVER_TENANT_CACHE_SECONDS": "0"}
    )
    if token_format == "jwt":
        srv.admin("tenants", "update", "sd2e", "--access-token-format", "jwt")
    user = User("seeduser", "seed-pw-123")
    srv.add_user(user.username, user.password, email="seed@example.org")
    script = tmp_path / "session.py"
    script.write_text(SESSION)
    home = tmp_path / "home"
    home.mkdir()
    child = pexpect.spawn(
        str(agavepy095),
        ["-u", str(script), srv.tenants_url, user.username],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "NO_PROXY": "*"},
        encoding="utf-8",
        timeout=90,
    )
    out: list[str] = []

    def expect(pattern: str) -> re.Match:
        child.expect(pattern)
        out.append(child.before + str(child.after))
        return child.match

    def password() -> None:
        expect("API password: ")
        child.sendline(user.password)

    try:
        base = expect(r"BASEURL (\S+)\r\n").group(1)
        assert base == srv.base_url  # agavepy strips the tenant's trailing slash
        password()
        key, secret = expect(r"KEYS (\S+) (\S+)\r\n").groups()
        assert key.isalnum() and secret.isalnum() and len(secret) >= 43
        password()
        listing = expect(r"my_super_cool_client\s+my client's desciption")
        assert listing
        assert "NAME" in out[-1] and "DESCRIPTION" in out[-1]
        password()  # subscribe
        password()  # subscriptions
        expect(r"PublicKeys\s+v2\s+admin\s*\r\n")
        table = out[-1]
        rows = re.findall(r"^(\w+)\s+v2\s+admin\s*$", table.replace("\r", ""), re.M)
        assert rows == DEFAULT_APIS
        password()  # get_access_token
        access1, refresh1, expires = expect(r"TOKEN (\S+) (\S+) (\S+)\r\n").groups()
        assert expires == "30"
        assert (access1.count(".") == 2) == (token_format == "jwt")
        expect("Refreshing token...")
        access2, refresh2, _ = expect(r"TOKEN2 (\S+) (\S+) (\S+)\r\n").groups()
        assert access2 != access1 and refresh2 != refresh1
        expect("CONTINUE\\? ")
        with httpx.Client(base_url=srv.base_url) as http:
            # The rotated pair is retired, the new one works, key and secret are real.
            assert me(http, access1).status_code == 401
            r = me(http, access2)
            assert r.status_code == 200 and r.json()["result"]["username"] == user.username
            r = http.post("/token", auth=(key, secret), data={"grant_type": "client_credentials"})
            assert r.status_code == 200
            child.sendline("")
            password()  # clients_delete
            assert expect(r"DONE (\S+) (\S+)\r\n").groups() == ("''", "''")
            child.expect(pexpect.EOF)
            assert me(http, access2).status_code == 401
            r = http.get("/clients/v2", auth=user.auth)
            assert r.json()["result"] == []
    finally:
        child.close(force=True)
    transcript = "".join(out)
    assert "Traceback" not in transcript, transcript
