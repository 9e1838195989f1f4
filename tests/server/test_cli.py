"""The operator CLI: every command, its output, and one-line errors with exit status 1."""

from __future__ import annotations

import json
import os
import socket
import subprocess

import pexpect

from tests.support.server import AGAVE_SERVER
from tests.support.terminal import interruptible


def run(env: dict[str, str], *args: str, input: str | None = None):
    return subprocess.run(
        [AGAVE_SERVER, *args], input=input, capture_output=True, text=True, env=env, timeout=120
    )


def fresh_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGAVE_SERVER_")}
    env["AGAVE_SERVER_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_default_database_in_data_dir(tmp_path):
    env = fresh_env(tmp_path)
    r = run(env, "migrate")
    assert r.returncode == 0, r.stderr
    assert "revision" in r.stdout
    assert (tmp_path / "data" / "agave.db").exists()
    # Idempotent.
    assert run(env, "migrate").returncode == 0


def test_tenants_users_apis_purge(tmp_path):
    env = fresh_env(tmp_path)
    db = f"sqlite:///{tmp_path / 'other.db'}"
    base = ["--db", db]
    assert run(env, *base, "migrate").returncode == 0
    r = run(
        env,
        *base,
        "tenants",
        "add",
        "t1",
        "--name",
        "T One",
        "--base-url",
        "https://api.example.org",
    )
    assert r.returncode == 0 and "https://api.example.org/" in r.stdout
    r = run(env, *base, "tenants", "list", "--json")
    listed = json.loads(r.stdout)
    assert listed[0]["code"] == "t1" and listed[0]["baseUrl"] == "https://api.example.org/"
    r = run(env, *base, "tenants", "add", "t1", "--name", "again", "--base-url", "http://x/")
    assert r.returncode == 1 and "already exists" in r.stderr and "Traceback" not in r.stderr
    r = run(
        env,
        *base,
        "users",
        "add",
        "ann",
        "--tenant",
        "t1",
        "--password-stdin",
        "--admin",
        "--email",
        "ann@example.org",
        input="s3cret-pw\n",
    )
    assert r.returncode == 0 and "admin" in r.stdout
    r = run(env, *base, "users", "list", "--tenant", "t1", "--json")
    users = json.loads(r.stdout)
    assert users == [
        {
            "tenant": "t1",
            "username": "ann",
            "admin": True,
            "email": "ann@example.org",
            "first_name": "",
            "last_name": "",
        }
    ]
    assert "s3cret-pw" not in r.stdout
    r = run(
        env,
        *base,
        "users",
        "passwd",
        "ann",
        "--tenant",
        "t1",
        "--password-stdin",
        input="n3w-pass\n",
    )
    assert r.returncode == 0
    r = run(env, *base, "apis", "list", "--tenant", "t1")
    assert len(r.stdout.strip().splitlines()) == 11 and "PublicKeys" in r.stdout
    r = run(env, *base, "apis", "add", "Tags", "--tenant", "t1", "--default")
    assert r.returncode == 0 and "/tags/v2" in r.stdout
    r = run(env, *base, "apis", "add", "Tags", "--tenant", "t1")
    assert r.returncode == 1 and "already exists" in r.stderr
    assert run(env, *base, "apis", "remove", "Tags", "--tenant", "t1").returncode == 0
    r = run(env, *base, "purge")
    assert r.returncode == 0 and "removed 0 tokens" in r.stdout
    r = run(env, *base, "users", "remove", "ann", "--tenant", "t1")
    assert r.returncode == 0
    r = run(env, *base, "users", "remove", "ann", "--tenant", "t1")
    assert r.returncode == 1 and "No user ann" in r.stderr
    assert run(env, *base, "tenants", "remove", "t1").returncode == 0


def test_errors_are_one_line(tmp_path):
    env = fresh_env(tmp_path)
    assert run(env, "migrate").returncode == 0
    cases = [
        (["users", "add", "x", "--tenant", "nope", "--password-stdin"], "No tenant nope"),
        (["tenants", "add", "bad code", "--name", "n", "--base-url", "http://h/"], "tenant code"),
        (["tenants", "add", "t", "--name", "n", "--base-url", "ftp://h/"], "base URL"),
        (["tenants", "add", "t", "--name", "n", "--base-url", "http://h/prefix"], "no path"),
        (["--db", "mysql://h/db", "migrate"], "unsupported database URL"),
    ]
    for args, fragment in cases:
        r = run(env, *args, input="pw\n")
        assert r.returncode == 1, (args, r.stderr)
        assert fragment in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = run(env, "tenants", "add")
    assert r.returncode == 2
    env2 = {**env, "AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": "soon"}
    r = run(env2, "migrate")
    assert r.returncode == 1 and "AGAVE_SERVER_ACCESS_TOKEN_LIFETIME" in r.stderr


def test_users_add_hidden_prompt_with_confirmation(tmp_path):
    env = fresh_env(tmp_path)
    assert run(env, "migrate").returncode == 0
    assert run(env, "tenants", "add", "t", "--name", "T", "--base-url", "http://h/").returncode == 0
    child = pexpect.spawn(
        AGAVE_SERVER,
        ["users", "add", "pat", "--tenant", "t"],
        env=env,
        encoding="utf-8",
        timeout=60,
    )
    child.expect("Password: ")
    child.sendline("one")
    child.expect("Repeat for confirmation: ")
    child.sendline("two")
    child.expect("do not match")
    child.expect("Password: ")
    child.sendline("same-passw0rd")
    child.expect("Repeat for confirmation: ")
    child.sendline("same-passw0rd")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "same-passw0rd" not in child.before
    r = run(env, "users", "list", "--tenant", "t")
    assert "pat" in r.stdout


def test_concurrent_migrations_do_not_race(tmp_path):
    from tests.support.server import PostgresDatabase

    env = fresh_env(tmp_path)
    pg = None
    if os.environ.get("AGAVE_TEST_DATABASE_URL"):
        pg = PostgresDatabase(os.environ["AGAVE_TEST_DATABASE_URL"])
        env["AGAVE_SERVER_DB"] = pg.url
    try:
        procs = [
            subprocess.Popen(
                [AGAVE_SERVER, "migrate"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        results = [(p.wait(120), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        assert all(code == 0 for code, _ in results), results
        r = run(env, "tenants", "add", "t", "--name", "T", "--base-url", "http://h/")
        assert r.returncode == 0, r.stderr
    finally:
        if pg is not None:
            pg.drop()


# -- what an operator sees when something is off (issue 16, item 6) ----------------------------


def _one_line(r, code: int, *fragments: str) -> None:
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("agave-server: "), r.stderr
    for fragment in fragments:
        assert fragment in lines[0], r.stderr
    assert "Traceback" not in r.stderr and "INFO" not in r.stderr


def test_serve_on_a_port_in_use_is_one_line(tmp_path):
    env = fresh_env(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run(env, "serve", "--host", "127.0.0.1", "--port", str(port))
    _one_line(r, 1, f"127.0.0.1:{port}", "already in use", "--port")
    assert r.stdout == ""


def test_users_add_without_a_terminal_says_password_stdin(tmp_path):
    env = fresh_env(tmp_path)
    assert run(env, "migrate").returncode == 0
    assert run(env, "tenants", "add", "t", "--name", "T", "--base-url", "http://h/").returncode == 0
    r = run(env, "users", "add", "pat", "--tenant", "t", input="")
    _one_line(r, 2, "no terminal", "--password-stdin")
    assert "GetPassWarning" not in r.stderr and "Aborted" not in r.stderr
    assert "pat" not in run(env, "users", "list", "--tenant", "t").stdout


def test_dash_h_is_help_everywhere(tmp_path):
    env = fresh_env(tmp_path)
    for args in (["-h"], ["users", "-h"], ["users", "add", "-h"], ["serve", "-h"]):
        r = run(env, *args)
        assert r.returncode == 0, (args, r.stderr)
        assert r.stdout.startswith("Usage: agave-server"), (args, r.stdout)


def test_ctrl_c_at_a_prompt_is_interrupted_130(tmp_path):
    env = fresh_env(tmp_path)
    assert run(env, "migrate").returncode == 0
    assert run(env, "tenants", "add", "t", "--name", "T", "--base-url", "http://h/").returncode == 0
    child = pexpect.spawn(
        AGAVE_SERVER,
        ["users", "add", "pat", "--tenant", "t"],
        env=env,
        encoding="utf-8",
        preexec_fn=interruptible,
    )
    child.expect("Password: ", timeout=60)
    child.sendintr()
    child.expect(pexpect.EOF, timeout=60)
    child.close()
    assert child.exitstatus == 130, (child.exitstatus, child.before)
    assert "agave-server: interrupted" in child.before
    assert "Aborted" not in child.before


def test_short_passwords_are_refused(tmp_path):
    env = fresh_env(tmp_path)
    assert run(env, "migrate").returncode == 0
    assert run(env, "tenants", "add", "t", "--name", "T", "--base-url", "http://h/").returncode == 0
    r = run(env, "users", "add", "pat", "--tenant", "t", "--password-stdin", input="x\n")
    _one_line(r, 1, "too short (1 characters)", "at least 8 characters")
    assert "pat" not in run(env, "users", "list", "--tenant", "t").stdout
    r = run(env, "users", "add", "pat", "--tenant", "t", "--password-stdin", input="8-chars!\n")
    assert r.returncode == 0, r.stderr
    r = run(env, "users", "passwd", "pat", "--tenant", "t", "--password-stdin", input="short\n")
    _one_line(r, 1, "too short (5 characters)", "at least 8")
