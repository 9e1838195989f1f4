"""The tenants service and routing requests to tenants by Host."""

from __future__ import annotations

import secrets

import httpx

from tests.server.conftest import create_client, me, password_token


def test_tenants_list_and_show(http, server):
    r = http.get("/tenants")
    assert r.status_code == 200
    tenants = r.json()["result"]
    sd2e = next(t for t in tenants if t["code"] == "sd2e")
    assert sd2e["name"] == "SD2E Tenant"
    assert sd2e["baseUrl"] == server.base_url + "/"
    # The Agave wire's fields, plus extensions the old tools ignore: the OpenID issuer and the
    # built-in public client of `agave login`.
    assert set(sd2e) == {
        "id",
        "code",
        "name",
        "baseUrl",
        "contact",
        "_links",
        "issuer",
        "cliClientId",
    }
    assert sd2e["issuer"] == server.base_url  # the base URL without its trailing slash
    assert sd2e["cliClientId"] == "agave-cli"  # the public client of `agave login`
    assert sd2e["_links"]["self"]["href"] == server.base_url + "/tenants/sd2e"
    assert sd2e["_links"]["publickey"]["href"].startswith(server.base_url + "/")
    r = http.get("/tenants/sd2e/")
    assert r.status_code == 200 and r.json()["result"]["code"] == "sd2e"
    r = http.get("/tenants/nope")
    assert r.status_code == 404 and r.json()["status"] == "error"


def test_tenant_by_host(server, tmp_path):
    code = "loc" + secrets.token_hex(3)
    server.admin(
        "tenants",
        "add",
        code,
        "--name",
        "Local",
        "--base-url",
        f"http://localhost:{server.port}/",
        "--contact-email",
        "ops@example.org",
    )
    server.add_user("locuser", "pw-local", tenant=code)
    local = httpx.Client(base_url=server.base_url, headers={"Host": f"localhost:{server.port}"})
    main = httpx.Client(base_url=server.base_url)
    with local, main:
        # The local tenant's user is unknown to sd2e (the default tenant) and vice versa.
        assert main.get("/clients/v2", auth=("locuser", "pw-local")).status_code == 401
        r = local.post("/clients/v2", data={"clientName": "lc"}, auth=("locuser", "pw-local"))
        assert r.status_code == 201, r.text
        c = r.json()["result"]
        assert c["_links"]["self"]["href"] == f"http://localhost:{server.port}/clients/v2/lc"
        tok = local.post(
            "/token",
            auth=(c["consumerKey"], c["consumerSecret"]),
            data={"grant_type": "password", "username": "locuser", "password": "pw-local"},
        )
        assert tok.status_code == 200
        access = tok.json()["access_token"]
        assert me(local, access).status_code == 200
        # Tokens and client credentials of one tenant never work on another.
        assert me(main, access).status_code == 401
        r = main.post(
            "/token",
            auth=(c["consumerKey"], c["consumerSecret"]),
            data={"grant_type": "client_credentials"},
        )
        assert r.status_code == 401
        listed = {t["code"]: t for t in main.get("/tenants").json()["result"]}
        assert listed[code]["contact"][0]["email"] == "ops@example.org"
    server.admin("tenants", "remove", code)


def test_unknown_host_uses_default_tenant(http, user, server):
    client = create_client(http, user)
    t = password_token(http, client)
    with httpx.Client(base_url=server.base_url, headers={"Host": "elsewhere.example"}) as other:
        assert me(other, t["access_token"]).status_code == 200
