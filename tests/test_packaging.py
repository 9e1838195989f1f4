"""What the package index and an installed wheel show (issue 16, items 7 and 9)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LINK = re.compile(r"\[([^\]]+)\]\(([^)]*)\)")


def long_description() -> str:
    """README.md as the build's fancy-pypi-readme hook renders it (same fragments, same
    substitutions, applied with ``re`` as the hook does)."""
    hook = PYPROJECT["tool"]["hatch"]["metadata"]["hooks"]["fancy-pypi-readme"]
    text = "".join((ROOT / f["path"]).read_text() for f in hook["fragments"])
    for sub in hook["substitutions"]:
        text = re.sub(sub["pattern"], sub["replacement"], text)
    return text


def test_the_readme_has_repository_links_and_the_long_description_has_none():
    readme = (ROOT / "README.md").read_text()
    relative = [target for _, target in LINK.findall(readme) if "://" not in target]
    assert "docs/AGAVE_WIRE.md" in relative and "LICENSE" in relative
    for target in relative:  # they work in the repository
        assert (ROOT / target).exists(), target
    rendered = long_description()
    assert [t for _, t in LINK.findall(rendered) if "://" not in t] == []
    assert "`docs/server.md`" in rendered
    assert "[Agave](https://agaveplatform.org)" in rendered  # absolute links are kept
    assert "readme" in PYPROJECT["project"]["dynamic"]


def test_license_file_matches_the_declared_license():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License")
    assert "Copyright (c) 2026, Agave OAuth contributors" in text
    assert "Neither the name of the copyright holder" in text
    assert PYPROJECT["project"]["license"] == "BSD-3-Clause"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]


def test_no_placeholder_project_urls():
    for name, url in PYPROJECT["project"].get("urls", {}).items():
        assert url.startswith("https://"), (name, url)
        assert not re.search(r"example\.(org|com)|your-?org|TODO|XXX", url), (name, url)


def test_the_wire_contract_is_in_the_repository():
    text = (ROOT / "docs" / "AGAVE_WIRE.md").read_text()
    assert text.startswith("# The Agave v2 wire contract for OAuth clients")


def test_the_demo_is_dev_tooling_not_part_of_the_server_package():
    assert importlib.util.find_spec("agave_server.demo") is None
    assert (ROOT / "devtools" / "demo.py").is_file()
    wheel = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert wheel == ["src/agavepy", "src/agave_server"]
    for path in (ROOT / "src").rglob("*.py"):  # no dev-only dependency in what is installed
        assert not re.search(r"^\s*(import|from) (pexpect|pytest)\b", path.read_text(), re.M), path
