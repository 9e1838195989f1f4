"""The seed transcript (``shared/seed/oauth-clients.txt``) parsed into REPL steps.

Tests read the expected prompts and tables from the seed file itself, so
they follow the specification. The project's copy (``data/``, for machines
without the shared folder) is checked against the shared original whenever
that is present.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED_SEED = ROOT.parent / "shared" / "seed" / "oauth-clients.txt"
SEED_COPY = Path(__file__).with_name("data") / "oauth-clients.txt"


def _seed_path() -> Path:
    if os.environ.get("AGAVE_SEED_FILE"):
        return Path(os.environ["AGAVE_SEED_FILE"])
    return SHARED_SEED if SHARED_SEED.exists() else SEED_COPY


SEED = _seed_path()


@dataclass
class Step:
    """One ``>>>`` line and the lines the seed shows after it."""

    command: str
    output: list[str] = field(default_factory=list)

    @property
    def our_command(self) -> str:
        """The seed names the object ``agave`` in two lines where it means ``ag``."""
        return self.command.replace("agave.clients_create", "ag.clients_create").replace(
            "agave.api_key, agave.api_secret", "ag.api_key, ag.api_secret"
        )


def seed_steps(path: Path = SEED) -> list[Step]:
    """Every ``>>>`` command of the seed, in order, with its output lines."""
    steps: list[Step] = []
    in_block = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.rstrip()
        if line.startswith(">>> "):
            steps.append(Step(line[4:]))
            in_block = True
        elif not line:
            in_block = False
        elif in_block:
            steps[-1].output.append(line)
    return steps


def step(starting: str, path: Path = SEED) -> Step:
    """The first step whose command starts with ``starting``."""
    return next(s for s in seed_steps(path) if s.our_command.startswith(starting))
