"""``bench/run.py --render``: a saved run that cannot be read is named, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import run


@pytest.mark.parametrize("content", [None, "{", "not json"])
def test_unreadable_saved_run_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None
) -> None:
    saved = tmp_path / "RESULTS.json"
    if content is not None:
        saved.write_text(content)
    out = tmp_path / "RESULTS.md"
    assert run.main(["--render", str(saved), "--out", str(out)]) == 2
    assert f"--render {saved}: cannot read a saved run's JSON" in capsys.readouterr().err
    assert not out.exists()
