"""Saved sessions in ``~/.agave`` (or ``$AGAVE_CACHE_DIR``), shared with older tools.

Two files, as docs/AGAVE_WIRE.md describes them: ``current`` (the active session,
one flat JSON object, keys sorted; agave-cli reads and writes only this one)
and ``config.json`` (``{"current": {client: session}, "sessions": {tenant:
{user: {client: session}}}}``, agavepy 0.9.5's layout). Readers here accept
what every writer produces (numbers or strings, missing keys, unsorted keys,
a trailing slash on ``baseurl``); writers keep keys they do not know.

Every change happens under one file lock and lands by writing a temporary
file in the same folder and renaming it over the old one, so a reader never
sees half a file and concurrent writers never lose each other's changes.
Files are created mode 0600. No password ever reaches this module.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agavepy.errors import NotFoundError, SessionError

if TYPE_CHECKING:
    from filelock import FileLock

CURRENT = "current"
CONFIG = "config.json"
LOCK = ".agave.lock"
LOCK_TIMEOUT = 60.0

#: The keys of a session in ``current``, as agave-cli writes them.
WIRE_KEYS = (
    "access_token",
    "apikey",
    "apisecret",
    "baseurl",
    "created_at",
    "devurl",
    "expires_at",
    "expires_in",
    "refresh_token",
    "tenantid",
    "username",
)


def default_cache_dir() -> Path:
    """``$AGAVE_CACHE_DIR`` if set, else ``~/.agave`` (agave-cli's rule)."""
    env = os.environ.get("AGAVE_CACHE_DIR")
    return Path(env).expanduser() if env else Path("~/.agave").expanduser()


@dataclass(frozen=True)
class SessionRef:
    """Where a saved session lives in ``config.json``."""

    tenant: str
    username: str
    client_name: str
    current: bool


def same_identity(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Two session dicts are the same session: same tenant, user and client key."""
    if not a or not b:
        return False
    return all(str(a.get(k, "")) == str(b.get(k, "")) for k in ("tenantid", "username", "apikey"))


def _stringify(session: dict[str, Any]) -> dict[str, Any]:
    """Wire keys as strings (``None`` as ``""``); other keys untouched."""
    out = dict(session)
    for key in WIRE_KEYS:
        if key in out:
            value = out[key]
            out[key] = "" if value is None else str(value)
    return out


class SessionStore:
    """The ``current`` and ``config.json`` files of one cache folder."""

    def __init__(self, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self.dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.current_path = self.dir / CURRENT
        self.config_path = self.dir / CONFIG
        self._lock: FileLock | None = None

    def __repr__(self) -> str:
        return f"SessionStore({str(self.dir)!r})"

    # -- locking -----------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[SessionStore]:
        """Hold the store's file lock (re-entrant within this object)."""
        from filelock import FileLock, Timeout  # imported when first needed: it is not cheap

        self._ensure_dir()
        if self._lock is None:
            self._lock = FileLock(str(self.dir / LOCK), timeout=LOCK_TIMEOUT)
        try:
            with self._lock:
                yield self
        except Timeout as exc:
            raise SessionError(
                f"could not lock {self.dir / LOCK} within {LOCK_TIMEOUT:g}s",
                hint="another program holds it; try again",
            ) from exc

    def _ensure_dir(self) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    # -- reading -----------------------------------------------------------
    def _read_json(self, path: Path) -> Any:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SessionError(f"cannot read {path}: {exc.strerror}") from exc
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SessionError(
                f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno})",
                hint="fix or remove the file",
            ) from exc

    def load_current(self) -> dict[str, Any] | None:
        """The active session from ``current``, or None when there is none."""
        data = self._read_json(self.current_path)
        if isinstance(data, list):  # very old agave-cli wrote a list of sessions
            data = data[0] if data else None
        if data is None:
            return None
        if not isinstance(data, dict):
            raise SessionError(f"{self.current_path} does not hold a JSON object")
        return data

    def load_config(self) -> dict[str, Any]:
        """``config.json`` with ``current`` and ``sessions`` always present."""
        data = self._read_json(self.config_path)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise SessionError(f"{self.config_path} does not hold a JSON object")
        if not isinstance(data.get("current"), dict):
            data["current"] = {}
        if not isinstance(data.get("sessions"), dict):
            data["sessions"] = {}
        return data

    def current_client_name(self) -> str | None:
        """The client name of the active session, when ``config.json`` knows it."""
        config = self.load_config()
        current = self.load_current()
        for name, session in config["current"].items():
            if current is None or same_identity(session, current):
                return name
        for ref in self.sessions():
            found = self.find(ref.tenant, ref.username, ref.client_name)
            if same_identity(found, current):
                return ref.client_name
        return None

    def find(self, tenant: str, username: str, client_name: str) -> dict[str, Any] | None:
        """A saved session from ``config.json``, or None."""
        sessions = self.load_config()["sessions"]
        found = sessions.get(tenant, {}).get(username, {}).get(client_name)
        return dict(found) if isinstance(found, dict) else None

    def sessions(self) -> list[SessionRef]:
        """Every session saved in ``config.json``, the active one marked."""
        config = self.load_config()
        current_names = set(config["current"])
        current = self.load_current()
        refs = []
        for tenant, users in sorted(config["sessions"].items()):
            if not isinstance(users, dict):
                continue
            for username, clients in sorted(users.items()):
                if not isinstance(clients, dict):
                    continue
                for client_name, session in sorted(clients.items()):
                    active = client_name in current_names and (
                        current is None or same_identity(session, current)
                    )
                    refs.append(SessionRef(tenant, username, client_name, active))
        return refs

    # -- writing -----------------------------------------------------------
    def _write_json(self, path: Path, data: Any, **dump_kw: Any) -> None:
        """Write ``data`` to ``path`` atomically: temp file in the same folder, then rename."""
        import tempfile  # only writers need it

        self._ensure_dir()
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                if hasattr(os, "fchmod"):  # POSIX; mkstemp already made it 0600
                    os.fchmod(fh.fileno(), 0o600)
                json.dump(data, fh, **dump_kw)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _write_both(self, config: dict[str, Any], current: dict[str, Any] | None) -> None:
        self._write_json(self.config_path, config, indent=4)
        if current is not None:
            self._write_json(self.current_path, current, sort_keys=True)

    def save(self, session: dict[str, Any], client_name: str, make_current: bool = True) -> None:
        """Save ``session`` under its tenant, user and ``client_name``.

        With ``make_current`` it becomes the active session (both files);
        without, it is updated where it is saved, and in ``current`` only if
        ``current`` still holds this same session (a token refresh must not
        switch another program's active session back).
        """
        if not client_name:  # config.json files sessions by client name: no place for it
            self.save_current_only(session, make_current)
            return
        tenant = str(session.get("tenantid") or "")
        username = str(session.get("username") or "")
        with self.lock():
            config = self.load_config()
            on_disk = self.load_current()
            users = config["sessions"].setdefault(tenant, {})
            clients = users.setdefault(username, {})
            previous = clients.get(client_name)
            merged = dict(previous) if isinstance(previous, dict) else {}
            if same_identity(on_disk, session):
                merged.update(on_disk or {})
            merged.update(_stringify(session))
            clients[client_name] = merged
            write_current: dict[str, Any] | None = None
            if make_current:
                self._retire_current(config)
                config["current"] = {client_name: merged}
                write_current = merged
            else:
                if same_identity(config["current"].get(client_name), merged):
                    config["current"][client_name] = merged
                if same_identity(on_disk, merged):
                    write_current = merged
            self._write_both(config, write_current)

    def save_current_only(self, session: dict[str, Any], make_current: bool = True) -> None:
        """Write ``session`` to ``current`` alone, as agave-cli does.

        For a session without a client name: a tenant chosen before any
        client exists (agave-cli's ``tenants-init``), or a session agave-cli
        wrote. Keys already in ``current`` for the same session are kept.
        Without ``make_current``, nothing is written unless ``current``
        still holds this same session.
        """
        with self.lock():
            on_disk = self.load_current()
            same = same_identity(on_disk, session)
            if not (make_current or same):
                return
            merged = dict(on_disk or {}) if same else {}
            merged.update(_stringify(session))
            self._write_json(self.current_path, merged, sort_keys=True)

    def _retire_current(self, config: dict[str, Any]) -> None:
        """Keep the outgoing active session in ``sessions`` (as agavepy 0.9.5 does)."""
        for name, session in config["current"].items():
            if not isinstance(session, dict):
                continue
            users = config["sessions"].setdefault(str(session.get("tenantid") or ""), {})
            clients = users.setdefault(str(session.get("username") or ""), {})
            clients.setdefault(name, session)

    def switch(self, tenant: str, username: str, client_name: str) -> dict[str, Any]:
        """Make a saved session the active one; returns it."""
        with self.lock():
            found = self.find(tenant, username, client_name)
            if found is None:
                raise NotFoundError(
                    f"no saved session for tenant {tenant!r}, user {username!r}, "
                    f"client {client_name!r} in {self.dir}",
                    hint="SessionStore.sessions() lists the saved ones",
                )
            self.save(found, client_name, make_current=True)
            return found

    def forget(self, tenant: str, username: str, client_name: str) -> None:
        """Drop a saved session whose client no longer exists; clear it from ``current``."""
        with self.lock():
            config = self.load_config()
            clients = config["sessions"].get(tenant, {}).get(username, {})
            gone = clients.pop(client_name, None) if isinstance(clients, dict) else None
            on_disk = self.load_current()
            current_entry = config["current"].get(client_name)
            # agavepy 0.9.5 expects exactly one entry in "current": clear it, keep it.
            if (
                isinstance(current_entry, dict)
                and current_entry.get("tenantid") == tenant
                and (current_entry.get("username") == username)
            ):
                gone = gone or dict(current_entry)
                _clear_credentials(current_entry)
            write_current = None
            if gone and same_identity(on_disk, gone):
                write_current = _clear_credentials(dict(on_disk or {}))
            self._write_both(config, write_current)


def _clear_credentials(session: dict[str, Any]) -> dict[str, Any]:
    """Blank the key, secret and tokens of a session whose client is gone."""
    for key in ("apikey", "apisecret", "access_token", "refresh_token"):
        session[key] = ""
    return session
