"""``pip install agave-oauth`` without extras: ``agave`` works, ``agave-server`` says what to
install (one line, exit 1) instead of a ``ModuleNotFoundError`` traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import bare_install


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bare_install.make(tmp_path_factory.mktemp("bare") / "venv")


def run(python: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), str(bare_install.console_script(script)), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(python.parents[1])},
    )


def test_the_bare_venv_lacks_the_server_extra(bare_python: Path):
    res = subprocess.run(
        [str(bare_python), "-c", "import sqlalchemy"], capture_output=True, text=True
    )
    assert res.returncode == 1 and "No module named 'sqlalchemy'" in res.stderr


@pytest.mark.parametrize("args", [["--help"], ["migrate"], ["serve", "--port", "0"]])
def test_agave_server_names_the_extra(bare_python: Path, args: list[str]):
    res = run(bare_python, "agave-server", *args)
    assert res.returncode == 1, res
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("agave-server: error: the server's dependencies are not installed")
    assert "sqlalchemy" in lines[0]
    assert "pip install 'agave-oauth[server]'" in lines[0]
    assert "Traceback" not in res.stderr


def test_agave_works_without_the_extra(bare_python: Path):
    res = run(bare_python, "agave", "--help")
    assert res.returncode == 0, res
    assert "Manage OAuth clients" in res.stdout
