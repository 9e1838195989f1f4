"""The old tools through the gateway: agavepy 0.9.5's seed session and agave-cli's curl calls.

Every tenant-server answer passes through nginx unchanged, so what passes against the server
directly (tests/server/test_agavepy095.py) passes through the gateway too.
"""

from __future__ import annotations

import re
import subprocess
import textwrap

import httpx
import pexpect
import pytest

from tests.gateway.conftest import Gateway, bearer
from tests.server.test_agavepy095 import DEFAULT_APIS, SESSION


@pytest.mark.slow
def test_seed_session_with_agavepy_095_through_the_gateway(agavepy095, gateway: Gateway, tmp_path):
    user = gateway.new_user(email="seed@example.org")
    script = tmp_path / "session.py"
    script.write_text(SESSION)
    home = tmp_path / "home"
    home.mkdir()
    child = pexpect.spawn(
        str(agavepy095),
        ["-u", str(script), gateway.url + "/tenants", user.username],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "NO_PROXY": "*"},
        encoding="utf-8",
        timeout=120,
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
        assert expect(r"BASEURL (\S+)\r\n").group(1) == gateway.url
        password()
        key, secret = expect(r"KEYS (\S+) (\S+)\r\n").groups()
        assert key.isalnum() and secret.isalnum()
        password()
        expect(r"my_super_cool_client\s+my client's desciption")
        password()  # subscribe
        password()  # subscriptions
        expect(r"PublicKeys\s+v2\s+admin\s*\r\n")
        rows = re.findall(r"^(\w+)\s+v2\s+admin\s*$", out[-1].replace("\r", ""), re.M)
        assert rows == DEFAULT_APIS
        password()  # get_access_token
        access1, refresh1, _ = expect(r"TOKEN (\S+) (\S+) (\S+)\r\n").groups()
        expect("Refreshing token...")
        access2, refresh2, _ = expect(r"TOKEN2 (\S+) (\S+) (\S+)\r\n").groups()
        assert access2 != access1 and refresh2 != refresh1
        expect("CONTINUE\\? ")
        with gateway.http() as http:
            assert http.get("/jobs/v2/", headers=bearer(access1)).status_code == 401
            r = http.get("/echo/v2/", headers=bearer(access2))
            assert r.status_code == 200 and r.json()["backend"] == "echo"
            child.sendline("")
            password()  # clients_delete
            assert expect(r"DONE (\S+) (\S+)\r\n").groups() == ("''", "''")
            child.expect(pexpect.EOF)
            assert http.get("/echo/v2/", headers=bearer(access2)).status_code == 401
    finally:
        child.close(force=True)
    assert "Traceback" not in "".join(out)


# What agave-cli's commands send (curl -sk, forms, the tenant base URL kept with its trailing
# slash, so a refresh posts to //token), and how it reads answers: sed on the JSON.
AGAVE_CLI_FLOW = textwrap.dedent(
    r"""
    set -eu
    base="$1"; user="$2"; pass="$3"; name="$4"
    val() { sed -n "s/.*\"$1\" *: *\"\([^\"]*\)\".*/\1/p" | head -n 1; }
    created=$(curl -sk -X POST -u "$user:$pass" \
      -d "clientName=$name&tier=Bronze&description=made+by+agave-cli&callbackUrl=" \
      "${base}clients/v2/?pretty=true")
    key=$(printf '%s' "$created" | val consumerKey)
    secret=$(printf '%s' "$created" | val consumerSecret)
    echo "KEY $key"
    tokens=$(curl -sk -u "$key:$secret" -X POST \
      -d "grant_type=password&username=$user&password=$pass&scope=PRODUCTION" \
      -H "Content-Type: application/x-www-form-urlencoded" "${base}token")
    access=$(printf '%s' "$tokens" | val access_token)
    refresh=$(printf '%s' "$tokens" | val refresh_token)
    echo "TYPE $(printf '%s' "$tokens" | val token_type)"
    refreshed=$(curl -sk -u "$key:$secret" -X POST \
      -d "grant_type=refresh_token&refresh_token=$refresh&scope=PRODUCTION" \
      -H "Content-Type: application/x-www-form-urlencoded" "${base}/token")
    access2=$(printf '%s' "$refreshed" | val access_token)
    [ -n "$access2" ] && [ "$access2" != "$access" ] && echo "REFRESHED"
    echo "ME $(curl -sk -H "Authorization: Bearer $access2" "${base}profiles/v2/me?pretty=true" \
      | val username)"
    echo "OLD $(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $access" \
      "${base}profiles/v2/me")"
    echo "SUBS $(curl -sk -u "$user:$pass" "${base}clients/v2/$name/subscriptions?pretty=true" \
      | grep -c '"apiName"')"
    echo "JOBS $(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $access2" \
      "${base}echo/v2/?pretty=true")"
    echo "FAULT $(curl -sk -H "Authorization: Bearer $access" "${base}echo/v2/" | val message)"
    curl -sk -X POST -u "$key:$secret" -d "token=$access2" "${base}revoke" >/dev/null
    echo "REVOKED $(curl -sk -o /dev/null -w '%{http_code}' \
      -H "Authorization: Bearer $access2" "${base}echo/v2/")"
    echo "DELETE $(curl -sk -X DELETE -u "$user:$pass" "${base}clients/v2/$name?pretty=true" \
      | val message)"
    """
)


def test_agave_cli_calls_through_the_gateway(gateway: Gateway, tmp_path) -> None:
    user = gateway.new_user()
    script = tmp_path / "flow.sh"
    script.write_text(AGAVE_CLI_FLOW)
    res = subprocess.run(
        ["bash", str(script), gateway.url + "/", user.username, user.password, "cli_client"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    lines = dict(line.split(" ", 1) for line in res.stdout.splitlines() if " " in line)
    assert lines["KEY"].isalnum()
    assert lines["TYPE"] == "bearer"
    assert "REFRESHED" in res.stdout
    assert lines["ME"] == user.username
    assert lines["OLD"] == "401"
    assert int(lines["SUBS"]) >= 11
    assert lines["JOBS"] == "200"
    assert lines["FAULT"] == "Invalid Credentials"
    assert lines["REVOKED"] == "401"
    assert lines["DELETE"] == "Client removed successfully."
    with httpx.Client(base_url=gateway.url) as http:
        assert http.get("/clients/v2", auth=user.auth).json()["result"] == []
