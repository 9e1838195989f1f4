"""Bad operations settings stop ``serve`` with one line naming the variable."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.server.test_cli import fresh_env, run


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AGAVE_SERVER_LOG_FORMAT", "xml", "AGAVE_SERVER_LOG_FORMAT='xml': use json or text"),
        ("AGAVE_SERVER_READY_TIMEOUT", "0", "AGAVE_SERVER_READY_TIMEOUT=0 must be between 0.1"),
        ("AGAVE_SERVER_READY_TIMEOUT", "soon", "'soon' is not a number of seconds"),
        ("AGAVE_SERVER_METRICS_ALLOW", "10.0.0.0/33", "'10.0.0.0/33' is not an address or CIDR"),
    ],
)
def test_bad_value_is_one_clear_line(tmp_path, variable: str, value: str, message: str) -> None:
    env = fresh_env(tmp_path)
    env[variable] = value
    r = run(env, "serve", "--port", "0")
    assert r.returncode == 1
    assert message in r.stderr and "Traceback" not in r.stderr


def test_log_format_option_is_checked(tmp_path) -> None:
    r = run(fresh_env(tmp_path), "serve", "--log-format", "xml")
    assert r.returncode == 2 and "'xml' is not one of 'json', 'text'" in r.stderr
    assert "--log-format [json|text]" in run(fresh_env(tmp_path), "serve", "--help").stdout


def _metrics_dir(srv) -> Path:
    """The server's Prometheus directory: the one holding files named for its pid."""
    suffix = f"_{srv.proc.pid}.db"
    tmp = Path(tempfile.gettempdir())
    (found,) = {f.parent for f in tmp.glob("agave-server-metrics-*/*") if f.name.endswith(suffix)}
    return found


def test_metrics_directory_is_removed_on_stop_and_after_a_kill(make_server) -> None:
    srv = make_server()
    folder = _metrics_dir(srv)
    assert folder.is_dir() and any(folder.iterdir())
    srv.stop()  # SIGTERM: graceful
    assert not folder.exists()
    srv.start()
    folder = _metrics_dir(srv)
    srv.kill()  # SIGKILL: nothing runs; the next start removes what it left
    assert folder.exists()
    srv.start()
    assert not folder.exists()
    assert _metrics_dir(srv).is_dir()
