"""JupyterHub's GenericOAuthenticator, configured with docs/oidc.md's snippet as written.

A real JupyterHub and oauthenticator (the versions of ``tests/support/jupyterhub/``, in a
virtualenv of their own under ``.cache/``) with JupyterHub's node proxy, a real tenant, and a
person in headless Chromium: the hub's sign-in goes through the tenant's sign-in and consent
pages and back, the hub knows the person by their Agave username, and the hub's logout goes
through the tenant's ``/oauth2/logout`` back to the hub. The configuration is the docs' code
block with only its placeholders filled in, plus the loopback settings the test needs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.flows import answer_consent, register_client, sign_in_if_asked
from tests.support.jupyterhub import Hub, ensure_proxy, ensure_venv, pinned

DOC = Path(__file__).resolve().parents[2] / "docs" / "oidc.md"


def docs_jupyterhub_config() -> str:
    """The ``jupyterhub_config.py`` block of docs/oidc.md, as a reader would copy it."""
    found = re.search(r"<!-- jupyterhub-config.*?-->\s*```python\n(.*?)```", DOC.read_text(), re.S)
    assert found, "docs/oidc.md lost its jupyterhub-config block"
    return found.group(1)


def filled_in(snippet: str, issuer: str, hub_url: str, client_id: str, secret: str) -> str:
    """The placeholders a reader replaces: the tenant, the hub's URL and the client."""
    for old, new in (
        ('issuer = "https://agave.example.org"', f"issuer = {issuer!r}"),
        ("https://hub.example.org", hub_url),
    ):
        assert old in snippet, f"the docs' snippet no longer contains {old!r}"
        snippet = snippet.replace(old, new)
    for name, value in (("CLIENT_ID", client_id), ("CLIENT_SECRET", secret)):
        snippet, count = re.subn(rf"\b{name}\b", repr(value), snippet)
        assert count, f"the docs' snippet no longer uses {name}"
    return snippet


def test_the_docs_name_the_versions_the_test_runs() -> None:
    text = DOC.read_text()
    for name, version in pinned().items():
        shown = {"jupyterhub": "JupyterHub"}.get(name, name)
        assert f"{shown} {version}" in text, f"docs/oidc.md does not say {shown} {version}"


@pytest.fixture(scope="module")
def installed() -> None:
    ensure_venv()
    ensure_proxy()


@pytest.mark.slow
def test_jupyterhub_signs_in_and_out_with_the_docs_config(
    installed, web_server, web_user, page, tmp_path
) -> None:
    issuer = web_server.base_url
    owner = web_user()
    person = web_user(email="ada@example.org", first_name="Ada", last_name="Lovelace")
    hub = Hub(tmp_path / "hub")
    client = register_client(web_server, owner, hub.url + "/hub/oauth_callback")
    with web_server.client() as http:  # docs: agave clients update --post-logout-redirect-uri
        r = http.put(
            f"/clients/v2/{client.name}",
            data={"postLogoutRedirectUri": hub.url + "/hub/"},
            auth=owner.auth,
        )
        assert r.status_code == 200, r.text
    config = filled_in(docs_jupyterhub_config(), issuer, hub.url, client.key, client.secret)
    hub.start(config)
    try:
        page.goto(hub.url + "/hub/login")
        page.get_by_role("button", name=re.compile("^Sign in with")).click()
        page.wait_for_url(issuer + "/**")
        sign_in_if_asked(page, person)
        answer_consent(page, "Allow")
        page.wait_for_url(hub.url + "/hub/home")
        assert person.username in page.locator("body").inner_text()
        me = page.request.get(hub.url + "/hub/api/user")
        assert me.status == 200, me.text()
        assert me.json()["name"] == person.username

        page.goto(hub.url + "/hub/logout")
        page.wait_for_url(issuer + "/oauth2/logout?**")
        # oauthenticator sends no id_token_hint, so the tenant asks before signing out
        page.locator("main").get_by_role("button", name="Sign out").click()
        page.wait_for_url(hub.url + "/hub/**")
        assert page.request.get(hub.url + "/hub/api/user").status == 403
        page.goto(issuer + "/login")
        assert page.get_by_label("Password").count() == 1, "still signed in at the tenant"
    except Exception:
        print(hub.log())
        raise
    finally:
        hub.stop()
