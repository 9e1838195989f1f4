"""The node oidc-provider peer (panva's certified OpenID Provider) from ``shared/peers/oidc``.

Two set-ups, as ``shared/peers/README.md`` describes them: one node process on the provider's
memory adapter (``OidcPeer(..., workers=1)``; its LRU sized so nothing issued during a run is
evicted), or a cluster of workers sharing a Redis store (``workers=2``). The shared folder is
read-only: everything the peer writes goes under ``PEER_HOME`` (default ``.cache/peer-oidc`` in
this repository). It is stopped through the pid file its start script writes.

oidc-provider has no password grant: its users' tokens come from refresh tokens it mints
in-process before it serves (``MINT_REFRESH``); the first one is exchanged for the bearer token
of the validation and introspection scenarios, the others feed the refresh scenario (each
request a distinct, never-used token, like ours).
"""

from __future__ import annotations

import os
import subprocess
import urllib.parse
from pathlib import Path

import httpx

from bench.procs import free_port, stop_pid_file, tree_cpu_seconds, wait_http, worker_rss

ROOT = Path(__file__).resolve().parents[1]
# Big enough that the memory adapter forgets nothing a run issues (each minted token takes 3
# entries, each refresh about 5; the stock LRU of 1000 forgets tokens within seconds).
MEMORY_LRU = 2_000_000
MINT_TIMEOUT_S = 600


class OidcPeer:
    """One running oidc-provider set-up: URL, client credentials, a user's access token."""

    def __init__(
        self,
        peers_dir: Path,
        workers: int,
        *,
        access_token_format: str = "opaque",
        home: Path | None = None,
    ) -> None:
        self.dir = peers_dir / "oidc"
        self.home = Path(home or os.environ.get("PEER_OIDC_HOME") or ROOT / ".cache" / "peer-oidc")
        self.workers = workers
        self.adapter = "redis" if workers > 1 else "memory"
        self.access_token_format = access_token_format
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.client_id = ""
        self.client_secret = ""
        self.bearer = ""
        self.refresh_bodies: list[str] = []
        self.redis_pid: int | None = None

    @property
    def label(self) -> str:
        return (
            "oidc-provider, 1 process (memory)"
            if self.workers == 1
            else (f"oidc-provider, {self.workers} workers (Redis)")
        )

    @property
    def basic(self) -> str:
        return f"{self.client_id}:{self.client_secret}"

    @property
    def pid_file(self) -> Path:
        return self.home / f"server-{self.port}.pid"

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "PEER_HOME": str(self.home), "ADAPTER": self.adapter}
        env["ACCESS_TOKEN_FORMAT"] = self.access_token_format
        if self.adapter == "memory":
            env["MEMORY_LRU"] = str(MEMORY_LRU)
        else:
            env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
            env["REDIS_PREFIX"] = f"agave-bench-oidc:{self.port}:"
        return env

    def setup(self) -> None:
        """``setup.sh`` (idempotent: npm runs only when the pins changed), then read the client."""
        self.home.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(self.dir / "setup.sh")],
            env=self._env(),
            check=True,
            capture_output=True,
            timeout=900,
        )
        values = {}
        for line in (self.home / "client.env").read_text().splitlines():
            key, _, value = line.partition("=")
            values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
        self.client_id, self.client_secret = values["CLIENT_ID"], values["CLIENT_SECRET"]

    def start(self, mint: int, workdir: Path) -> None:
        """Start with ``mint`` refresh tokens minted in-process; ready once they are all written."""
        out = workdir / f"oidc-{self.port}-minted.txt"
        env = {**self._env(), "MINT_REFRESH": str(max(2, mint)), "MINT_OUT": str(out)}
        log = open(workdir / f"oidc-{self.port}.log", "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [str(self.dir / "start.sh"), str(self.port), str(self.workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        wait_http(f"{self.url}/health", want=200, proc=self.proc, timeout=MINT_TIMEOUT_S)
        lines = [line for line in out.read_text().splitlines() if line.strip()]
        first = dict(urllib.parse.parse_qsl(lines[0]))
        resp = httpx.post(f"{self.url}/token", auth=self._auth(), data=first, timeout=30)
        resp.raise_for_status()
        self.bearer = resp.json()["access_token"]
        self.refresh_bodies = lines[1:]
        if self.adapter == "redis":
            self.redis_pid = _redis_pid(env["REDIS_URL"])

    def _auth(self) -> tuple[str, str]:
        return (self.client_id, self.client_secret)

    def stop(self) -> None:
        stop_pid_file(self.pid_file, self.proc)
        self.proc = None

    def master_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return self.proc.pid if self.proc is not None else None

    def cpu_seconds(self) -> float:
        """CPU of the provider's processes plus, on Redis, of redis-server: its whole cost."""
        pid = self.master_pid()
        total = tree_cpu_seconds(pid) if pid else 0.0
        if self.redis_pid is not None:
            total += tree_cpu_seconds(self.redis_pid)
        return total

    def worker_rss(self):
        pid = self.master_pid()
        return worker_rss(pid, "node") if pid else []

    def write_refresh_bodies(self, path: Path, start: int, count: int) -> Path:
        """``count`` of the minted refresh bodies from ``start`` on, one per line."""
        path.write_text("".join(line + "\n" for line in self.refresh_bodies[start : start + count]))
        return path


def _redis_pid(url: str) -> int | None:
    """redis-server's pid (its CPU counts for the Redis set-up), from ``INFO server``."""
    parsed = urllib.parse.urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", str(parsed.port or 6379)
    try:
        info = subprocess.run(
            ["redis-cli", "-h", host, "-p", port, "info", "server"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in info.splitlines():
        if line.startswith("process_id:"):
            return int(line.split(":", 1)[1])
    return None
