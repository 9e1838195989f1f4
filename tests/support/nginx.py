"""Debian's nginx as a throw-away process for tests: its prefix in a temp dir, a loopback port.

``NginxProcess(prefix, config_text)`` writes the config, starts ``nginx -p PREFIX -c FILE``
in the foreground (``daemon off``, so the process we started is the master and is stopped by
its pid), and waits until the port answers. Tests that need nginx call ``require_nginx()``
first, which skips them with the reason when the binary is missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return next((p for p in NGINX_CANDIDATES if os.access(p, os.X_OK)), None)


def require_nginx() -> str:
    """The nginx binary, or skip: `.ci/run` installs Debian's nginx; elsewhere it may lack."""
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light or nginx)")
    return binary


class NginxProcess:
    """One nginx master (and its workers) serving ``config`` from ``prefix``."""

    def __init__(self, prefix: Path, config: str, port: int, host: str = "127.0.0.1") -> None:
        self.binary = require_nginx()
        self.prefix = Path(prefix)
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.conf = self.prefix / "nginx.conf"
        self.conf.write_text(config)
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def _command(self, *extra: str) -> list[str]:
        # -e: the error log from the first moment (before the config is read) under PREFIX too.
        return [
            self.binary,
            "-p",
            str(self.prefix) + "/",
            "-c",
            str(self.conf),
            "-e",
            str(self.prefix / "error.log"),
            *extra,
        ]

    def start(self, timeout: float = 20.0) -> NginxProcess:
        test = subprocess.run(self._command("-t"), capture_output=True, text=True, timeout=30)
        if test.returncode != 0:
            raise AssertionError(f"nginx -t refused the config:\n{test.stderr}")
        out = open(self.prefix / "nginx.out", "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            self._command("-g", "daemon off;"),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 1):
                self._check_bound()
                return self
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"nginx did not listen on {self.port} in {timeout}s:\n{self.log()}")

    def _check_bound(self) -> None:
        """Fail if another process answered on the port: nginx then logs bind() failed, retries."""
        time.sleep(0.2)
        error_log = (
            (self.prefix / "error.log").read_text(errors="replace")
            if (self.prefix / "error.log").exists()
            else ""
        )
        if "bind() to" in error_log and "failed" in error_log:
            self.stop()
            raise AssertionError(f"nginx could not bind port {self.port}:\n{error_log[-2000:]}")

    def reload(self, config: str) -> None:
        """New config, as an operator would: write it, SIGHUP the master, wait for workers."""
        self.conf.write_text(config)
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGHUP)
        time.sleep(0.5)

    def log(self) -> str:
        parts = []
        for name in ("error.log", "nginx.out"):
            with contextlib.suppress(FileNotFoundError):
                parts.append((self.prefix / name).read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGQUIT (graceful) to the master we started, then SIGKILL to its group if needed."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGQUIT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def __enter__(self) -> NginxProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
