"""The ceiling for password-checking calls: raw argon2 verifications per second.

A password grant or a Basic-authenticated call cannot beat the hash that
guards the password. We read the parameters the server actually stored (the
``$argon2id$v=19$m=...,t=...,p=...`` string of the seeded user) and verify that
very hash in as many processes as the server has workers, on the same cores.
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher, extract_parameters


@dataclass
class HashLimit:
    parameters: str
    single_ms: float
    processes: int
    per_second: float


def _verify_for(encoded: str, password: str, seconds: float) -> int:
    """Verify for about ``seconds``; return how many verifications were done."""
    hasher = PasswordHasher.from_parameters(extract_parameters(encoded))
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and done < 1_000_000:
        hasher.verify(encoded, password)
        done += 1
    return done


def describe_parameters(encoded: str) -> str:
    p = extract_parameters(encoded)
    return (
        f"{p.type.name.lower()} v{p.version}, memory {p.memory_cost} KiB, time cost {p.time_cost}, "
        f"parallelism {p.parallelism}, hash {p.hash_len} B, salt {p.salt_len} B"
    )


def measure(encoded: str, password: str, *, processes: int, seconds: float) -> HashLimit:
    """Single-verification cost, then the throughput of ``processes`` verifying in parallel."""
    hasher = PasswordHasher.from_parameters(extract_parameters(encoded))
    hasher.verify(encoded, password)  # fails loudly if the hash is not this password's
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        hasher.verify(encoded, password)
        samples.append(time.perf_counter() - t0)
    samples.sort()
    with ProcessPoolExecutor(max_workers=processes) as pool:
        futures = [pool.submit(_verify_for, encoded, password, 0.2) for _ in range(processes)]
        for f in futures:
            f.result()  # warm the processes up
        t0 = time.perf_counter()
        futures = [pool.submit(_verify_for, encoded, password, seconds) for _ in range(processes)]
        total = sum(f.result() for f in futures)
        elapsed = time.perf_counter() - t0
    return HashLimit(
        parameters=describe_parameters(encoded),
        single_ms=samples[len(samples) // 2] * 1000,
        processes=processes,
        per_second=total / elapsed,
    )
