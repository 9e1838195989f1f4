"""The access log (request events): off by default (it costs a third of a bare request), on
when asked. In the text log format, where the request line reads as uvicorn's did; the JSON
format is tested in tests/ops."""

from __future__ import annotations

import httpx

from tests.server.test_cli import fresh_env, run

HEALTH_LINE = '"GET /health HTTP/1.1" 200'
TEXT = {"AGAVE_SERVER_LOG_FORMAT": "text"}


def test_off_by_default(make_server) -> None:
    srv = make_server(env=TEXT)
    httpx.get(srv.base_url + "/health")
    srv.stop()
    log = srv.log_path.read_text()
    assert "Uvicorn running" in log or "Application startup complete" in log, log
    assert HEALTH_LINE not in log


def test_on_by_environment_without_query_strings(make_server) -> None:
    srv = make_server(env={**TEXT, "AGAVE_SERVER_ACCESS_LOG": "true"})
    httpx.get(srv.base_url + "/health?access_token=SECRETVALUE")
    srv.stop()
    log = srv.log_path.read_text()
    assert HEALTH_LINE in log
    assert "SECRETVALUE" not in log


def test_bad_value_is_one_clear_line(tmp_path) -> None:
    env = fresh_env(tmp_path)
    env["AGAVE_SERVER_ACCESS_LOG"] = "maybe"
    r = run(env, "serve", "--port", "0")
    assert r.returncode == 1
    assert "AGAVE_SERVER_ACCESS_LOG='maybe' is not a boolean" in r.stderr
    assert "Traceback" not in r.stderr


def test_flag_appears_in_help(tmp_path) -> None:
    r = run(fresh_env(tmp_path), "serve", "--help")
    assert "--access-log / --no-access-log" in r.stdout
