"""A virtual environment with ``agave-oauth`` and only its required dependencies.

What ``pip install agave-oauth`` (no extras) gives a user, built without the network: a
fresh venv (no system site-packages) whose site-packages links to exactly the distributions
that the project's ``dependencies`` need, found from the installed metadata, plus a ``.pth``
with the checkout's ``src/``. The console scripts are the ones pip generated for ``.venv``,
run with this venv's interpreter.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from devtools.server import BIN

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _required(dist: metadata.Distribution) -> list[str]:
    """Requirements without an extra marker that apply to this interpreter."""
    out = []
    for req in dist.requires or []:
        if "extra ==" in req.replace("extra==", "extra =="):
            continue
        if ";" in req:
            try:
                from packaging.markers import Marker

                if not Marker(req.split(";", 1)[1]).evaluate():
                    continue
            except ImportError:
                pass
        out.append(_name(req))
    return out


def base_distributions() -> set[str]:
    """agave-oauth's required distributions and theirs, transitively."""
    todo = _required(metadata.distribution("agave-oauth"))
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            todo.extend(_required(metadata.distribution(name)))
        except metadata.PackageNotFoundError:
            continue
    return seen


def _top_level(dist: metadata.Distribution) -> set[str]:
    names = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first.endswith((".dist-info", ".pth")) or first in ("..", "__pycache__"):
            continue
        names.add(first)
    return names


def make(where: Path) -> Path:
    """Create the venv at ``where``; return its ``python``."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120
    )
    python = where / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for name in base_distributions():
        dist = metadata.distribution(name)
        base = Path(str(dist.locate_file("")))
        for top in _top_level(dist):
            target = site / top
            if not target.exists():
                target.symlink_to(base / top)
    (site / "agave_oauth_src.pth").write_text(str(ROOT / "src") + "\n")
    return python


def console_script(name: str) -> Path:
    """The console script pip generated for ``.venv`` (its body, not its shebang, matters)."""
    return BIN / name
