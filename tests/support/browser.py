"""Headless Debian Chromium through Python playwright: the one browser helper of the suite.

One browser per test module (``browser`` fixture), a fresh context (cookies, storage) per
test (``page`` fixture). Never downloads a browser: it launches the ``chromium`` binary on
PATH and skips, with the reason, when there is none (``.ci/run`` installs Debian's package).
Screenshots go to ``tests/artifacts/<test>/`` (ignored by git; ``AGAVE_TEST_ARTIFACTS``
moves it), one per ``shot()`` call and a last one when the test ends.

The root ``tests/conftest.py`` registers this module as a plugin, so every test can ask for
``browser`` and ``page``. One Chromium per test module: playwright's sync API keeps an event
loop on the main thread while it runs, so a browser left running for the whole session would
break the later tests that run their own ``asyncio.run`` (and two at once collide).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(
    os.environ.get("AGAVE_TEST_ARTIFACTS") or Path(__file__).resolve().parents[1] / "artifacts"
)
# Generous: on a loaded two-core machine a first page load can take seconds.
TIMEOUT_MS = 30_000


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def skip_reason() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if chromium_path() is None:
        return "no chromium binary on PATH (Debian package 'chromium'; .ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python playwright is not installed (pip install -e '.[dev]')"
    return None


class Page:
    """A playwright page plus where its screenshots go."""

    def __init__(self, page, folder: Path) -> None:
        self.pw = page
        self.folder = folder
        self._shots = 0

    def __getattr__(self, name: str):
        return getattr(self.pw, name)

    def shot(self, name: str) -> Path:
        """Save a full-page screenshot ``NN-name.png`` and return its path."""
        self._shots += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self._shots:02d}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"
        self.pw.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=chromium_path(), args=LAUNCH_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _test_folder(request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.nodeid.split("::", 1)[-1])
    module = Path(request.node.path).stem
    return ARTIFACTS / module / name


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies from other tests)."""
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    folder = _test_folder(request)
    shutil.rmtree(folder, ignore_errors=True)  # only this run's screenshots
    wrapped = Page(context.new_page(), folder)
    try:
        yield wrapped
    finally:
        with contextlib.suppress(Exception):  # a closed page has nothing to show
            wrapped.shot("last")
        context.close()
