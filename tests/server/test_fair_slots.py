"""The argon2 gate (``security.FairSlots``): bounded, and first come, first served.

Under a burst of Basic-authenticated requests every one waits for a verification slot; with
``threading.Semaphore`` late arrivals could overtake threads already woken for a slot, so
some requests waited many times longer than others.
"""

from __future__ import annotations

import threading
import time

from agave_server.security import FairSlots


def test_slots_bound_concurrency_and_serve_in_arrival_order():
    slots = FairSlots(2)
    lock = threading.Lock()
    active, peak, order = 0, 0, []

    def work(i: int) -> None:
        nonlocal active, peak
        with slots:
            with lock:
                active += 1
                peak = max(peak, active)
                order.append(i)
            time.sleep(0.01)
            with lock:
                active -= 1

    threads = []
    for i in range(16):
        t = threading.Thread(target=work, args=(i,))
        t.start()
        threads.append(t)
        time.sleep(0.002)  # arrive in a known order while the slots are busy
    for t in threads:
        t.join(timeout=10)
    assert peak == 2
    assert order == list(range(16))


def test_a_slot_freed_with_nobody_waiting_is_reusable():
    slots = FairSlots(1)
    for _ in range(3):
        with slots:
            pass
    done = threading.Event()

    def again() -> None:
        with slots:
            done.set()

    threading.Thread(target=again).start()
    assert done.wait(5)
