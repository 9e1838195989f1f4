"""axe-core (npm), the accessibility engine browsers' audit tools use, for the page tests.

Installed once into ``.cache/axe-core`` (git-ignored) from the npm registry with the pinned
version below; tests skip with the reason when npm or the registry is not there. ``audit``
runs it in a playwright page and returns the violations axe rates serious or critical.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

VERSION = "4.10.3"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / "axe-core"
SCRIPT = CACHE / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def axe_script() -> Path:
    """The path of ``axe.min.js``, installing the pinned axe-core first if needed."""
    if SCRIPT.is_file():
        return SCRIPT
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: axe-core cannot be fetched")
    CACHE.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", f"axe-core@{VERSION}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 or not SCRIPT.is_file():
        pytest.skip(f"npm could not install axe-core@{VERSION}: {done.stderr.strip()[-300:]}")
    return SCRIPT


def audit(page) -> list[dict]:
    """axe's serious and critical violations on the page as it is now (WCAG 2.1 A/AA rules)."""
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                            'best-practice']}})"""
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["html"][:200] for n in v["nodes"][:3]],
        }
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]
