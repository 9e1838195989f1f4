"""A real upstream OpenID Connect provider for the tests: panva's node ``oidc-provider``.

``tests/support/oidc_provider/`` holds the server script and the pinned package (with its
lock file); the first use installs it with ``npm ci`` into ``.cache/oidc-provider/`` at the
repository's root (git-ignored), later uses find it there. ``UpstreamProviders`` starts one
node process serving one provider per ``ProviderSpec``, each on its own loopback port (issuer
``http://127.0.0.1:PORT``), and stops it by pid. Its sign-in pages are oidc-provider's
``devInteractions`` (a login form that takes any password for a known account, then a
consent form): ``sign_in_at_upstream`` fills them in a playwright page.

Tests skip with a reason when node or npm is missing or npm cannot reach its index.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.support.installs import npm_ci, require_node, stop_pid
from tests.support.server import free_port

SUPPORT = Path(__file__).resolve().parent / "oidc_provider"
REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("AGAVE_TEST_OIDC_PROVIDER_HOME") or REPO / ".cache" / "oidc-provider")


def ensure_installed() -> Path:
    """The cache folder with oidc-provider installed from the committed lock file."""
    require_node("Node 20 and npm run the upstream provider")
    installed = CACHE / "node_modules" / "oidc-provider" / "package.json"
    npm_ci(SUPPORT, CACHE, installed, "oidc-provider")
    return CACHE


@dataclass
class Account:
    """An account at the upstream (its login is its ``sub``)."""

    login: str
    claims: dict


@dataclass
class ProviderSpec:
    name: str
    accounts: list[Account]
    client_id: str = field(default_factory=lambda: "agave-" + secrets.token_hex(4))
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    redirect_uris: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class UpstreamProviders:
    """One node process serving every provider of ``specs``."""

    def __init__(self, folder: Path, specs: list[ProviderSpec]) -> None:
        self.home = ensure_installed()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.specs = {s.name: s for s in specs}
        self.log_path = self.folder / "oidc-provider.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __getitem__(self, name: str) -> ProviderSpec:
        return self.specs[name]

    def _write_config(self) -> Path:
        config = {
            "cookieKeys": [secrets.token_urlsafe(32)],
            "providers": [
                {
                    "port": s.port,
                    "clients": [
                        {
                            "client_id": s.client_id,
                            "client_secret": s.client_secret,
                            "redirect_uris": s.redirect_uris,
                        }
                    ],
                    "accounts": {a.login: a.claims for a in s.accounts},
                }
                for s in self.specs.values()
            ],
        }
        path = self.folder / "providers.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    def start(self, timeout: float = 60.0) -> UpstreamProviders:
        config = self._write_config()
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            ["node", str(SUPPORT / "server.mjs"), str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "OIDC_PROVIDER_HOME": str(self.home), "NODE_ENV": "test"},
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        waiting = {s.port for s in self.specs.values()}
        while waiting and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"oidc-provider exited {self.proc.returncode}:\n{self.log()}")
            for port in list(waiting):
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), timeout=0.5),
                ):
                    waiting.discard(port)
            time.sleep(0.1)
        if waiting:
            self.stop()
            raise AssertionError(f"oidc-provider did not listen in {timeout}s:\n{self.log()}")
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        stop_pid(self.proc, grace=10)
        self.proc = None

    def __enter__(self) -> UpstreamProviders:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def sign_in_at_upstream(tab, login: str, password: str = "any-password", timeout: float = 60):
    """Fill oidc-provider's devInteractions pages in a playwright page: the sign-in form,
    then the consent form when it comes; returns once the browser has left the upstream."""
    tab.wait_for_selector("input[name=login]")
    parts = urlsplit(tab.url)
    upstream = f"{parts.scheme}://{parts.netloc}/"
    tab.fill("input[name=login]", login)
    tab.fill("input[name=password]", password)
    tab.click("button[type=submit]")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not tab.url.startswith(upstream):
            tab.wait_for_load_state()
            return
        consent = tab.locator("button[type=submit]", has_text="Continue")
        if consent.count():
            # suppress: the page may be navigating already
            with (
                contextlib.suppress(Exception),
                tab.expect_navigation(timeout=timeout * 1000),
            ):
                consent.first.click()
            continue
        tab.wait_for_timeout(100)
    raise AssertionError(f"the browser is still at the upstream: {tab.url}")


_FORM = re.compile(r"<form[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", re.S | re.I)
_HIDDEN = re.compile(
    r"<input[^>]*type=\"hidden\"[^>]*name=\"([^\"]+)\"[^>]*value=\"([^\"]*)\"", re.I
)


def answer_without_browser(authorization_url: str, login: str, stop_at: str) -> str:
    """Sign in at the upstream with plain HTTP and return the URL it sends the browser back
    to (starting with ``stop_at``) without opening it: what an attacker holding the answer
    sees. A browser cannot be stopped there (redirects are not interceptable)."""
    url = authorization_url
    with httpx.Client(timeout=30) as upstream:
        response = upstream.get(url)
        for _step in range(20):
            if response.is_redirect:
                url = str(response.url.join(response.headers["location"]))
                if url.startswith(stop_at):
                    return url
                response = upstream.get(url)
                continue
            found = _FORM.search(response.text)
            assert found, f"no form at {response.url}:\n{response.text[:800]}"
            action, body = found.groups()
            data = dict(_HIDDEN.findall(body))
            if 'name="login"' in body:
                data.update(login=login, password="any-password")
            response = upstream.post(str(response.url.join(html.unescape(action))), data=data)
    raise AssertionError(f"the upstream never sent the browser to {stop_at}")
