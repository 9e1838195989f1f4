"""Scripts without a terminal: values from parameters or the environment, or a clear error."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.sdk.conftest import scan_for


def run_script(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v for k, v in os.environ.items() if k not in ("AGAVE_USERNAME", "AGAVE_PASSWORD")
    }
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=full_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


SCRIPT = """
    from agavepy.agave import Agave
    from agavepy.errors import AgaveError
    ag = Agave(tenant_id="sd2e")
    try:
        ag.clients_create("scripted", "from a script")
        ag.get_access_token()
        print("OK", ag.profile().username, ag.client_name)
    except AgaveError as err:
        print(type(err).__name__, "|", err)
"""


def test_missing_username_names_it(server, tmp_path):
    res = run_script(
        SCRIPT, {"AGAVE_TENANTS_API_BASEURL": server.tenants_url, "AGAVE_CACHE_DIR": str(tmp_path)}
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("MissingValueError | no API username given")
    assert "username=" in res.stdout and "AGAVE_USERNAME" in res.stdout


def test_missing_password_names_it(server, user, tmp_path):
    res = run_script(
        SCRIPT,
        {
            "AGAVE_TENANTS_API_BASEURL": server.tenants_url,
            "AGAVE_CACHE_DIR": str(tmp_path),
            "AGAVE_USERNAME": user.username,
        },
    )
    assert res.stdout.startswith("MissingValueError | no API password given"), res.stderr
    assert "AGAVE_PASSWORD" in res.stdout


def test_environment_supplies_everything(server, user, tmp_path):
    res = run_script(
        SCRIPT,
        {
            "AGAVE_TENANTS_API_BASEURL": server.tenants_url,
            "AGAVE_CACHE_DIR": str(tmp_path),
            "AGAVE_USERNAME": user.username,
            "AGAVE_PASSWORD": user.password,
        },
    )
    assert res.stdout.strip() == f"OK {user.username} scripted", res.stderr
    assert scan_for(tmp_path, user.password) == []


def test_tenant_without_terminal_names_it(server, tmp_path):
    res = run_script(
        """
        from agavepy.agave import Agave
        from agavepy.errors import AgaveError
        try:
            Agave().init()
        except AgaveError as err:
            print(type(err).__name__, "|", err)
    """,
        {"AGAVE_TENANTS_API_BASEURL": server.tenants_url, "AGAVE_CACHE_DIR": str(tmp_path)},
    )
    assert res.stdout.startswith("MissingValueError | no tenant given"), res.stderr
    assert "tenant_id=" in res.stdout


def test_init_resolves_either_way(server, monkeypatch):
    from agavepy.agave import Agave
    from agavepy.errors import NotFoundError

    monkeypatch.setenv("AGAVE_TENANTS_API_BASEURL", server.tenants_url)
    ag = Agave(tenant_id="sd2e")
    ag.init()
    assert ag.api_server == server.base_url
    ag2 = Agave(api_server=server.base_url + "/")
    ag2.init()
    assert ag2.tenant_id == "sd2e"
    try:
        Agave(tenant_id="nope").init()
    except NotFoundError as err:
        assert "choose one of: sd2e" in str(err)
    else:
        raise AssertionError("unknown tenant accepted")
    assert "sd2e" in repr(ag.list_tenants())


def test_import_is_light():
    code = (
        "import sys, agavepy.agave; print(sorted(m for m in sys.modules if m.split('.')[0] "
        "in {'rich', 'click', 'agave_server', 'httpx', 'filelock'} "
        "or m.startswith('agavepy.cli')))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "[]", res.stderr


def test_tenants_url_order(monkeypatch):
    from agavepy.agave import DEFAULT_TENANTS_URL, Agave

    monkeypatch.delenv("AGAVE_TENANTS_API_BASEURL", raising=False)
    assert DEFAULT_TENANTS_URL == "http://127.0.0.1:8000/tenants"  # agave-server's default
    assert Agave().resolved_tenants_url() == DEFAULT_TENANTS_URL
    monkeypatch.setenv("AGAVE_TENANTS_API_BASEURL", "http://env/tenants")
    assert Agave().resolved_tenants_url() == "http://env/tenants"
    assert Agave(tenants_url="http://ctor/tenants").resolved_tenants_url() == "http://ctor/tenants"
    assert Agave(tenants_url="http://ctor/t").resolved_tenants_url("http://arg/t") == "http://arg/t"
