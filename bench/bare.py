"""Start and stop the bare Starlette endpoint (``bench/bare_app.py``) under uvicorn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.procs import free_port, stop_process_group, wait_http, worker_rss

ROOT = Path(__file__).resolve().parents[1]


class BareServer:
    """``uvicorn bench.bare_app:app --workers N`` (or another app) on a free loopback port."""

    def __init__(
        self, workers: int, log_path: Path, app: str = "bench.bare_app:app", probe: str = "/health"
    ) -> None:
        self.workers = workers
        self.app = app
        self.probe = probe
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                self.app,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_http(f"{self.url}{self.probe}", want=200, proc=self.proc, timeout=60)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process_group(self.proc)
            self.proc = None

    def worker_rss(self):
        assert self.proc is not None
        return worker_rss(self.proc.pid, "spawn_main")

    def __enter__(self) -> BareServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
