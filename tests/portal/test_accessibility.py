"""axe-core on every portal page (and the sign-in page it starts from): no serious or critical
violation, signed in as a tenant admin so that every page and every control is there."""

from __future__ import annotations

import httpx

from tests.conftest import unique_name
from tests.portal.conftest import sign_in
from tests.support.axe import audit, axe_script
from tests.support.browser import ARTIFACTS


def test_no_serious_accessibility_violation_on_any_page(
    portal_server, portal_user, browser, cli
) -> None:
    axe_script()  # install (or skip) before the browser work
    admin = portal_user(admin=True, email="admin@example.org")
    name = unique_name("a11y")
    made = cli.as_user(admin, "clients", "create", "-N", name, "-D", "audited", "--json")
    assert made.code == 0, str(made)
    key, secret = made.json()["consumerKey"], made.json()["consumerSecret"]
    httpx.post(
        portal_server.base_url + "/token",
        auth=(key, secret),
        data={"grant_type": "password", "username": admin.username, "password": admin.password},
        timeout=30,
    ).raise_for_status()  # a live session for the client's page
    httpx.get(portal_server.base_url + "/clients/v2", auth=(admin.username, "x"), timeout=30)

    # The portal's CSP allows only its own script: axe is injected past it, in this context only.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1000, "height": 800})
    page = context.new_page()
    folder = ARTIFACTS / "test_accessibility"
    folder.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[dict]] = {}
    try:
        page.goto(portal_server.base_url + "/login")
        found["/login"] = audit(page)
        sign_in(page, portal_server.base_url, admin, "/portal/clients")
        paths = [
            "/portal/clients",
            "/portal/clients/new",
            f"/portal/clients/{name}",
            f"/portal/clients/{name}/delete",
            "/portal/account",
            "/portal/admin/users",
            "/portal/admin/apis",
            "/portal/admin/failed-logins",
        ]
        for path in paths:
            page.goto(portal_server.base_url + path)
            page.wait_for_load_state()
            found[path] = audit(page)
            page.screenshot(path=str(folder / (path.strip("/").replace("/", "_") + ".png")))
        # A form with errors shown next to the fields, and the page that shows a secret.
        page.goto(portal_server.base_url + "/portal/clients/new")
        page.get_by_label("Name").fill("bad name")
        page.get_by_role("button", name="Create client").click()
        page.locator("#name-error").wait_for()
        found["/portal/clients/new (errors)"] = audit(page)
        page.get_by_label("Name").fill(unique_name("a11y"))
        page.get_by_role("button", name="Create client").click()
        page.locator("#consumer-secret").wait_for()
        found["created"] = audit(page)
    finally:
        context.close()
    serious = {path: v for path, v in found.items() if v}
    assert not serious, serious
    assert len(found) == 11


def test_the_audit_finds_what_it_should(browser) -> None:
    """The check itself can fail: a form field without a label is a serious violation."""
    axe_script()
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content(
            "<!doctype html><html lang=en><head><title>t</title></head><body><main>"
            "<h1>t</h1><form><input type=text name=x><button></button></form></main></body></html>"
        )
        ids = {v["id"] for v in audit(page)}
    finally:
        context.close()
    assert {"label", "button-name"} <= ids, ids
