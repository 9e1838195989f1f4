"""The real server over HTTPS on port 443, for agavepy 0.9.5's API calls.

agavepy 0.9.5 builds every API URL as ``https://<host of the saved base URL>/...`` and only
sends the token to a URL whose host equals the base URL's ``host:port`` (its swagger client
compares the netloc with the hostname), so a session it reads back works only on an https
tenant at the default port. ``TlsServer`` runs the same application
(``agave_server.app:create_app``) under uvicorn on ``https://127.x.y.z/`` (a random loopback
address, so port 443 is free) with a throw-away self-signed certificate made with Debian's
``openssl``. Clients trust it through ``SSL_CERT_FILE`` (httpx), a CA bundle for requests,
or a browser context that ignores certificate errors. Needs root (port 443); skips otherwise.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess


def free_loopback_address() -> str:
    """A 127.x.y.z address whose port 443 this process can bind (skips when it cannot)."""
    for _ in range(20):
        address = "127.{}.{}.{}".format(*(secrets.randbelow(250) + 2 for _ in range(3)))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((address, 443))
            except PermissionError:
                pytest.skip("binding port 443 needs root (agavepy 0.9.5 only calls port 443)")
            except OSError:
                continue
        return address
    pytest.skip("no free loopback address with port 443")


def make_certificate(folder: Path, address: str) -> tuple[Path, Path]:
    """(certificate, key) for ``IP:address``, valid for a day; skips without openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl binary on PATH to make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={address}",
            "-addext",
            f"subjectAltName=IP:{address}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class TlsServer(ServerProcess):
    """A ``ServerProcess`` whose tenant lives at ``https://127.x.y.z/``."""

    def __init__(self, workdir: Path, *, tenant: str = "sd2e", env: dict | None = None) -> None:
        super().__init__(workdir, tenants=(), env=env)
        self.host, self.port = free_loopback_address(), 443
        self.cert, self.key = make_certificate(self.workdir, self.host)
        self.base_url = f"https://{self.host}"
        self.tenants_url = f"{self.base_url}/tenants"
        self.admin(
            "tenants", "add", tenant, "--name", "TLS tenant", "--base-url", self.base_url + "/"
        )

    def start(self, timeout: float = 30.0) -> TlsServer:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "agave_server.app:create_app",
            "--factory",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--ssl-certfile",
            str(self.cert),
            "--ssl-keyfile",
            str(self.key),
        ]
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"uvicorn exited {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.get(self.base_url + "/health", timeout=1, verify=self.trust())
                if answer.status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"the TLS server did not answer /health in {timeout}s:\n{self.log()}")

    def client(self, **kw) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30, verify=self.trust(), **kw)

    def trust(self) -> ssl.SSLContext:
        """A context trusting this server's certificate (httpx 0.28 deprecates paths)."""
        return ssl.create_default_context(cafile=str(self.cert))

    @property
    def trust_env(self) -> dict[str, str]:
        """Environment that makes httpx and requests trust this server's certificate."""
        return {"SSL_CERT_FILE": str(self.cert), "REQUESTS_CA_BUNDLE": str(self.cert)}
