"""The sign-in pages in a real browser and over plain HTTP: sessions, CSRF, redirects,
security headers, error pages."""

from __future__ import annotations

import httpx

from tests.browser.conftest import csrf_of, sign_in
from tests.support.server import ServerProcess

SESSION = "agave_session_sd2e"


def _cookie(page, name: str) -> str | None:
    for cookie in page.context.cookies():
        if cookie["name"] == name:
            return cookie["value"]
    return None


def test_sign_in_and_out_in_chromium(web_server: ServerProcess, web_user, page) -> None:
    user = web_user()
    page.goto(web_server.base_url + "/login")
    assert page.title().startswith("Sign in")
    page.shot("login-signed-out")
    # Keyboard order: the username field has focus, then password, then the button.
    assert page.evaluate("document.activeElement.id") == "username"
    page.keyboard.type(user.username)
    page.keyboard.press("Tab")
    page.keyboard.type(user.password)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Sign in"
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Signed in").wait_for()
    assert page.get_by_text(f"Signed in as {user.username}").is_visible()
    page.shot("signed-in")
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    page.get_by_role("button", name="Sign out", exact=True).last.click()
    page.get_by_role("heading", name="Signed out").wait_for()
    assert page.get_by_text("You are signed out").is_visible()
    page.shot("signed-out")
    assert _cookie(page, SESSION) is None


def test_pages_fit_a_phone(web_server, web_user, page) -> None:
    """At 360 CSS pixels nothing scrolls sideways and the targets stay large."""
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(web_server.base_url + "/login")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    box = page.get_by_role("button", name="Sign in").bounding_box()
    assert box and box["height"] >= 44
    page.shot("login-phone")


def test_browser_404_is_a_page(web_server, anon) -> None:
    r = anon.get("/no/such/page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "Page not found" in r.text and r.headers["x-frame-options"] == "DENY"
    api = anon.get("/no/such/page")  # API clients keep the JSON envelope
    assert api.status_code == 404 and api.json()["status"] == "error"


def test_wrong_password_is_a_page_with_the_message(web_server, web_user, page) -> None:
    user = web_user()
    page.goto(web_server.base_url + "/login")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()
    assert page.get_by_role("alert").inner_text().strip() == "Invalid username or password."
    assert page.get_by_label("Username").input_value() == user.username
    assert page.evaluate("document.activeElement.id") == "password"
    page.shot("wrong-password")


def test_new_session_id_at_every_sign_in(web_server, web_user, page) -> None:
    """Session fixation: an id planted before sign-in (or an old one) is never kept."""
    user = web_user()
    planted = "A" * 43
    page.context.add_cookies([{"name": SESSION, "value": planted, "url": web_server.base_url}])
    sign_in(page, web_server.base_url, user)
    first = _cookie(page, SESSION)
    assert first and first != planted
    page.context.clear_cookies()
    page.context.add_cookies([{"name": SESSION, "value": first, "url": web_server.base_url}])
    page.goto(web_server.base_url + "/login")
    page.get_by_role("heading", name="Signed in").wait_for()
    assert page.get_by_text(f"Signed in as {user.username}").is_visible()


def test_sign_in_replaces_the_previous_session(web_server, web_user, anon) -> None:
    user = web_user()
    _http_sign_in(anon, user)
    first = anon.cookies[SESSION]
    r = anon.get("/login")
    # Signed in, a second sign-in is still possible by POST and gets a new id; the old id
    # stops working.
    r = anon.post(
        "/login",
        data={"username": user.username, "password": user.password, "csrf_token": csrf_of(r.text)},
    )
    assert r.status_code == 303
    second = anon.cookies[SESSION]
    assert second != first
    with httpx.Client(base_url=web_server.base_url, cookies={SESSION: first}) as old:
        assert "Signed in as" not in old.get("/login").text


def _http_sign_in(c: httpx.Client, user, next_path: str | None = None) -> httpx.Response:
    r = c.get("/login")
    data = {"username": user.username, "password": user.password, "csrf_token": csrf_of(r.text)}
    if next_path is not None:
        data["next"] = next_path
    r = c.post("/login", data=data)
    assert r.status_code == 303, r.text
    return r


def test_open_redirect_in_next_is_refused(web_server, web_user, anon, page) -> None:
    user = web_user()
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/x"):
        r = anon.get("/login", params={"next": bad})
        assert r.status_code == 400, bad
        assert "text/html" in r.headers["content-type"]
        assert "must be a path on this site" in r.text
        r = anon.get("/login")
        r = anon.post(
            "/login",
            data={
                "username": user.username,
                "password": user.password,
                "next": bad,
                "csrf_token": csrf_of(r.text),
            },
        )
        assert r.status_code == 400 and "location" not in r.headers, bad
    page.goto(web_server.base_url + "/login?next=https://evil.example/")
    assert page.url.startswith(web_server.base_url)
    page.shot("bad-next")
    r = _http_sign_in(anon, user, "/login?x=1")
    assert r.headers["location"] == web_server.base_url + "/login?x=1"


def test_post_without_csrf_token_is_refused(web_server, web_user, anon) -> None:
    user = web_user()
    anon.get("/login")  # has the CSRF cookie, but sends no token
    for data in (
        {"username": user.username, "password": user.password},
        {"username": user.username, "password": user.password, "csrf_token": "x" * 43},
    ):
        r = anon.post("/login", data=data)
        assert r.status_code == 403
        assert "text/html" in r.headers["content-type"]
        assert "This form cannot be accepted" in r.text
        assert "agave_session_sd2e" not in r.headers.get("set-cookie", "")
    # A token of another browser (its cookie) is refused too.
    with httpx.Client(base_url=web_server.base_url) as other:
        token = csrf_of(other.get("/login").text)
    r = anon.post(
        "/login", data={"username": user.username, "password": user.password, "csrf_token": token}
    )
    assert r.status_code == 403
    r = anon.post("/logout", data={"everywhere": "1"})
    assert r.status_code == 403


def test_security_headers_on_every_page(web_server, web_user, anon) -> None:
    user = web_user()
    pages = [anon.get("/login"), anon.get("/login", params={"next": "//x"})]
    pages.append(anon.post("/login", data={}))
    pages.append(_http_sign_in(anon, user))
    pages.append(anon.get("/login"))
    for r in pages:
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cache-control"] == "no-store"
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp


def test_sign_out_everywhere(web_server, web_user) -> None:
    user = web_user()
    browsers = [httpx.Client(base_url=web_server.base_url) for _ in range(3)]
    try:
        for c in browsers:
            _http_sign_in(c, user)
        r = browsers[0].get("/login")
        r = browsers[0].post("/logout", data={"csrf_token": csrf_of(r.text), "everywhere": "1"})
        assert r.status_code == 200 and "on 3 browsers" in r.text
        for c in browsers:
            assert "Signed in as" not in c.get("/login").text
    finally:
        for c in browsers:
            c.close()


def test_links_come_from_the_base_url_not_host(web_server, anon) -> None:
    r = anon.get("/login", headers={"Host": "evil.example"})
    assert "evil.example" not in r.text
    assert f'action="{web_server.base_url}/login"' in r.text
