"""A real JupyterHub for the tests: the hub and GenericOAuthenticator, with its node proxy.

``tests/support/jupyterhub/`` holds what is installed: ``requirements.txt`` (JupyterHub and
oauthenticator, exact versions) goes into a virtualenv of its own, ``.cache/jupyterhub-venv/``
at the repository's root (git-ignored), so that their dependency pins never meet ours; the
pinned ``configurable-http-proxy`` (``package.json`` with its lock file) is installed with
``npm ci`` into ``.cache/jupyterhub-proxy/``. Both are made at first use and reused while
they hold the committed versions.

``Hub`` runs ``jupyterhub -f CONFIG`` in a folder of its own, on loopback ports, as the leader
of a new process group, and stops it by its pid (and the proxy it started, by the pid the
proxy wrote, should it outlive the hub).

Tests skip with a reason when node or npm is missing or an install cannot reach its index;
any other install failure fails them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.installs import install_failed, npm_ci, require_node
from tests.support.server import ServerError, free_port, stop_process_group, wait_http

SUPPORT = Path(__file__).resolve().parent / "jupyterhub"
REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".cache" / "jupyterhub-venv"
PROXY_HOME = REPO / ".cache" / "jupyterhub-proxy"
REQUIREMENTS = SUPPORT / "requirements.txt"


def pinned() -> dict[str, str]:
    """The pinned versions, ``{"jupyterhub": "5.5.4", ...}``, the proxy's included."""
    versions = dict(line.split("==", 1) for line in REQUIREMENTS.read_text().split())
    return {**versions, **json.loads((SUPPORT / "package.json").read_text())["dependencies"]}


def ensure_venv() -> Path:
    """The ``bin`` folder of the virtualenv holding the pinned JupyterHub and oauthenticator."""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    stamp = VENV / "agave-requirements.txt"
    wanted = REQUIREMENTS.read_bytes()
    with open(VENV.parent / ".jupyterhub-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test processes install once
        if stamp.exists() and stamp.read_bytes() == wanted:
            return VENV / "bin"
        if not (VENV / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
        res = subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if res.returncode != 0:
            stamp.unlink(missing_ok=True)
            install_failed("pip install of " + " ".join(wanted.decode().split()), res)
        stamp.write_bytes(wanted)
    return VENV / "bin"


def ensure_proxy() -> Path:
    """The ``configurable-http-proxy`` command, installed from the committed lock file."""
    require_node("JupyterHub's proxy is a node program")
    command = PROXY_HOME / "node_modules" / ".bin" / "configurable-http-proxy"
    npm_ci(SUPPORT, PROXY_HOME, command, "configurable-http-proxy")
    return command


class Hub:
    """A hub in ``folder``, answering at ``url`` (the proxy's public port on 127.0.0.1).

    The ports are chosen here, before the hub starts, so that a client can be registered with
    the hub's callback URL first; ``start(config)`` runs ``config`` (the settings under test)
    followed by ``loopback_settings()``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = self.folder / "jupyterhub_config.py"
        self.log_path = self.folder / "jupyterhub.log"
        self.proxy_pid_file = self.folder / "proxy.pid"
        self.proc: subprocess.Popen[bytes] | None = None

    def loopback_settings(self, proxy_command: Path) -> str:
        """Everything on 127.0.0.1 and in ``folder``; no single-user server is ever spawned
        (only the sign-in is under test), so the simple spawner and the hub's home page."""
        folder = self.folder
        return f"""
# -- the test's own settings: loopback ports, files in the test's folder --
c.JupyterHub.bind_url = {self.url + "/"!r}
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{str(proxy_command)!r}]
c.ConfigurableHTTPProxy.pid_file = {str(self.proxy_pid_file)!r}
c.JupyterHub.db_url = {"sqlite:///" + str(folder / "jupyterhub.sqlite")!r}
c.JupyterHub.cookie_secret_file = {str(folder / "jupyterhub_cookie_secret")!r}
c.JupyterHub.spawner_class = "simple"
c.JupyterHub.default_url = "/hub/home"
c.JupyterHub.log_level = "DEBUG"
"""

    def start(self, config: str, timeout: float = 60.0) -> Hub:
        bin_dir = ensure_venv()
        self.config_path.write_text(config + self.loopback_settings(ensure_proxy()))
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.pop("CONFIGPROXY_AUTH_TOKEN", None)
        cmd = [str(bin_dir / "jupyterhub"), "-f", str(self.config_path)]
        with open(self.log_path, "ab") as log:
            # cwd: the hub writes its runtime files next to where it starts
            self.proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.folder,
                start_new_session=True,
            )
        try:
            wait_http(self.url + "/hub/health", proc=self.proc, timeout=timeout)
        except ServerError as exc:
            self.stop()
            raise AssertionError(f"JupyterHub did not start: {exc}\n{self.log()}") from None
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Stop the hub's process group. The hub stops the proxy it started (in a session of
        its own) and removes the proxy's pid file; a pid file left behind names a proxy that
        outlived the hub, which is then stopped by that pid."""
        if self.proc is not None:
            stop_process_group(self.proc)
            self.proc = None
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int(self.proxy_pid_file.read_text().strip()), signal.SIGTERM)
            self.proxy_pid_file.unlink()
