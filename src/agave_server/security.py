"""Secrets and password hashing: the only place that generates or compares credentials.

Consumer secrets, access and refresh tokens are 256-bit random strings in base62 (so the Bash
CLI can post them unencoded) and are stored only as SHA-256 hex digests. Passwords use argon2id;
its parameters come from the settings (``AGAVE_SERVER_ARGON2_*``; argon2-cffi's defaults:
time_cost=3, memory_cost=64 MiB, parallelism=4). A hash made with other parameters still
verifies (its PHC string carries them) and ``needs_rehash`` tells when to upgrade it.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import os
import secrets
import string
import threading
import time
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from . import metrics
from .config import Settings

_BASE62 = string.ascii_letters + string.digits
# 43 base62 characters carry log2(62) * 43 ~= 256.03 bits.
_SECRET_LENGTH = 43


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, where the OS has one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return max(1, len(affinity(0)) if affinity else os.cpu_count() or 1)


class _Hashing:
    """One set of argon2 parameters: the hasher, and a dummy hash made with it (lazily)."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self._dummy: str | None = None
        self._dummy_lock = threading.Lock()

    @property
    def dummy_hash(self) -> str:
        # Verified when the user does not exist, so that a wrong username costs as much as a
        # wrong password (same parameters) and response time does not reveal which usernames
        # exist. Made on first use: CLI commands that never verify do not pay for it. The
        # lock makes a request that needs it while it is being made wait for that one.
        if self._dummy is None:
            with self._dummy_lock:
                if self._dummy is None:
                    self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy


_hashing: _Hashing | None = None
_hashing_lock = threading.Lock()


class FairSlots:
    """A semaphore that serves waiters in arrival order.

    ``threading.Semaphore`` lets a thread that arrives just as a slot frees up take it before
    the thread that was woken for it, so under a burst some requests waited many times
    longer than others (p99 5x p50 on Basic-authenticated calls at concurrency 32). Here a
    released slot is handed straight to the oldest waiter.
    """

    def __init__(self, slots: int, waiting: Any = None, running: Any = None) -> None:
        self._lock = threading.Lock()
        self._free = slots
        self._waiters: collections.deque[threading.Event] = collections.deque()
        # Optional gauges (``inc``/``dec``): how many wait for a slot, how many hold one.
        self._waiting = waiting
        self._running = running

    def __enter__(self) -> None:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                if self._running is not None:
                    self._running.inc()
                return
            turn = threading.Event()
            self._waiters.append(turn)
        if self._waiting is not None:
            self._waiting.inc()
        turn.wait()  # the releasing thread handed its slot over
        if self._waiting is not None:
            self._waiting.dec()
        if self._running is not None:
            self._running.inc()

    def __exit__(self, *exc: object) -> None:
        if self._running is not None:
            self._running.dec()
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()
            else:
                self._free += 1


# Each verification takes ARGON2_MEMORY_KIB (64 MiB by default) and a CPU for a while.
# Unbounded, a burst of Basic requests (valid or not) runs one per worker thread (up to 40):
# memory balloons (1.1 GB per worker measured) and the threads holding database locks starve
# until SQLite gives up (503). One verification per usable CPU at a time; the rest wait.
_VERIFY_SLOTS = FairSlots(_usable_cpus(), metrics.ARGON2_WAITING, metrics.ARGON2_RUNNING)


def configure_hashing(settings: Settings) -> None:
    """Use the settings' argon2 parameters (the server and the operator CLI call this)."""
    global _hashing
    _hashing = _Hashing(
        PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
    )


def _current() -> _Hashing:
    """The configured hashing; from the environment's settings if nobody configured it."""
    if _hashing is None:
        with _hashing_lock:
            if _hashing is None:
                configure_hashing(Settings.load())
    assert _hashing is not None
    return _hashing


# Random bytes below 248 = 4 * 62 map to base62 digits without bias (byte % 62); the others
# are dropped. As a bytes.translate table, so a whole secret is made in C.
_TO_BASE62 = bytes(ord(_BASE62[b % 62]) for b in range(248)) + bytes(8)
_BIASED = bytes(range(248, 256))


def new_secret() -> str:
    """A fresh >= 256-bit base62 secret (consumer secret, access or refresh token).

    Each character is a uniform base62 digit made from one random byte: the same
    distribution as 43 ``secrets.choice`` calls, from one read of the OS's random source
    instead of 43.
    """
    out = b""
    while len(out) < _SECRET_LENGTH:
        out += os.urandom(64).translate(_TO_BASE62, _BIASED)
    return out[:_SECRET_LENGTH].decode("ascii")


def new_consumer_key() -> str:
    """A consumer key: an identifier, random so it cannot be guessed, base62 like the secrets."""
    return new_secret()


def new_family_id() -> str:
    """Identifies one chain of refresh-token rotations: 32 hex digits, time first.

    Unique by its 64 random bits; the time prefix makes new families sort last, so storing
    one touches the end of the family index instead of a random page of it.
    """
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


def digest(secret: str) -> str:
    """SHA-256 hex digest: how secrets are stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def digest_matches(secret: str, stored_digest: str) -> bool:
    """Compare a presented secret with a stored digest in constant time."""
    return hmac.compare_digest(digest(secret), stored_digest)


def hash_password(password: str) -> str:
    """argon2id hash with a random salt, in the PHC string format."""
    return _current().hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; costs the same when the user is unknown (hash None)."""
    hashing = _current()
    try:
        with _VERIFY_SLOTS:
            matches = hashing.hasher.verify(password_hash or hashing.dummy_hash, password)
        return matches and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def dummy_password_hash() -> str:
    """The hash verified for unknown usernames (made with the configured parameters)."""
    return _current().dummy_hash


def prepare_dummy_password_hash() -> threading.Thread:
    """Make the dummy hash on a thread, so the server answers while it is being made.

    One argon2 hash with the production parameters is ~0.2 s of a server's start; argon2-cffi
    releases the GIL while hashing. A password check arriving before it is done waits for it
    (``dummy_hash``'s lock), so no request pays for it twice or sees a different cost.
    """
    thread = threading.Thread(target=dummy_password_hash, name="agave-dummy-hash", daemon=True)
    thread.start()
    return thread


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the configured ones."""
    try:
        return _current().hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return False
