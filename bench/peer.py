"""The DOT peer (Django + django-oauth-toolkit on gunicorn) from ``shared/peers/dot``.

The shared folder is read-only: everything the peer writes goes to
``PEER_HOME`` (default ``.cache/peer-dot`` in this repository, so our runs never
touch anybody else's peer). It is stopped through gunicorn's own pid file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from bench.procs import free_port, stop_pid_file, wait_http, worker_rss

ROOT = Path(__file__).resolve().parents[1]
USERNAME = "bench"
PASSWORD = "bench-password"


class Peer:
    """One running peer: its URL, its client credentials, a bearer token."""

    def __init__(self, peers_dir: Path, workers: int, home: Path | None = None) -> None:
        self.dot = peers_dir / "dot"
        self.home = Path(home or os.environ.get("PEER_HOME") or ROOT / ".cache" / "peer-dot")
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PEER_HOME": str(self.home)}
        self.proc: subprocess.Popen | None = None
        self.client_id = ""
        self.client_secret = ""

    @property
    def basic(self) -> str:
        return f"{self.client_id}:{self.client_secret}"

    @property
    def pid_file(self) -> Path:
        return self.home / f"gunicorn-{self.port}.pid"

    def setup(self) -> None:
        """Run the peer's ``setup.sh --reset`` (a fresh database each run), read its client."""
        subprocess.run(
            [str(self.dot / "setup.sh"), "--reset"],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=900,
        )
        values = {}
        for line in (self.home / "client.env").read_text().splitlines():
            key, _, value = line.partition("=")
            values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
        self.client_id, self.client_secret = values["CLIENT_ID"], values["CLIENT_SECRET"]

    def start(self) -> None:
        log = open(self.home / f"server-{self.port}.log", "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [str(self.dot / "start.sh"), str(self.port), str(self.workers)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_http(f"{self.url}/profiles/v2/me", want=401, proc=self.proc, timeout=120)

    def stop(self) -> None:
        stop_pid_file(self.pid_file, self.proc)
        self.proc = None

    def password_token(self) -> dict:
        """One password grant (two PBKDF2 checks, about a second)."""
        resp = httpx.post(
            f"{self.url}/token",
            auth=(self.client_id, self.client_secret),
            data={
                "grant_type": "password",
                "username": USERNAME,
                "password": PASSWORD,
                "scope": "PRODUCTION",
            },
            timeout=60,
        )
        resp.raise_for_status()
        return resp.json()

    def mint_refresh_tokens(self, count: int, out: Path) -> None:
        """Pre-mint ``count`` one-shot refresh-grant bodies with the peer's own script."""
        subprocess.run(
            [
                sys.executable,
                str(self.dot / "mint_refresh_tokens.py"),
                "--count",
                str(count),
                "--out",
                str(out),
            ],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=600,
        )

    def master_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def worker_rss(self):
        pid = self.master_pid()
        return worker_rss(pid, "gunicorn") if pid else []

    def __enter__(self) -> Peer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
