#!/usr/bin/env python3
"""The project's entry point on a fresh machine: only ``python3`` is assumed.

``python3 tasks.py demo``  sets up ``.venv`` and runs the main job (a local
tenant on SQLite, the seed's session replayed through the SDK).
``python3 tasks.py test``  sets up ``.venv`` and runs the whole test suite.
``python3 tasks.py bench`` sets up ``.venv`` and runs the benchmarks.
``python3 tasks.py lint``  runs ruff.

Standard library only: this file runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".agave-oauth-installed"
#: What ``lint`` checks (tests/test_lint.py runs the same, so ``test`` fails on lint errors).
LINTED = ("src", "tests", "bench", "devtools", "scripts", "tasks.py")


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _install_digest() -> str:
    """What the install depends on: re-install only when it changes."""
    h = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    h.update(sys.version.encode())
    return h.hexdigest()


def setup() -> Path:
    """Create ``.venv`` and install the project with its extras, once."""
    if sys.version_info < (3, 10):  # noqa: UP036 - tasks.py runs on any python3
        sys.exit(f"agave-oauth needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    py = venv_python()
    if not py.exists():
        print(f"[setup] creating {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    digest = _install_digest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return py
    print("[setup] installing agave-oauth[server,dev] (editable)", flush=True)
    pip = [str(py), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[server,dev]"], check=True)
    STAMP.write_text(digest)
    return py


def run(py: Path, *args: str) -> int:
    env = dict(os.environ)
    env["PATH"] = f"{py.parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    return subprocess.run([str(py), *args], cwd=ROOT, env=env).returncode


def main(argv: list[str]) -> int:
    task = argv[0] if argv else "help"
    rest = argv[1:]
    if task == "setup":
        setup()
        return 0
    if task == "demo":
        return run(setup(), "-m", "devtools.demo", *rest)
    if task == "test":
        return run(setup(), "-m", "pytest", *rest)
    if task == "bench":
        return run(setup(), str(ROOT / "bench" / "run.py"), *rest)
    if task == "lint":
        return run(setup(), "-m", "ruff", "check", *LINTED, *rest) or run(
            setup(), "-m", "ruff", "format", "--check", *LINTED
        )
    print(__doc__)
    return 0 if task in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
