"""The in-memory state store: GCRA rates, budget windows, expiring records, constant
memory per key."""

from __future__ import annotations

import tracemalloc

from gateway.state import BudgetWindow, MemoryStateStore, Rate
from gateway.state.memory import SWEEP_EVERY


class FakeClock:
    """Time that tests move by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_per_key_does_not_grow_with_the_calls_in_a_window() -> None:
    clock = FakeClock()
    store = MemoryStateStore(clock)
    rate = Rate(100_000, 3600)
    windows = [BudgetWindow(f"day-{day}", clock.now + day) for day in range(5000)]
    await store.take("rate", rate)
    await store.charge("budget", windows[0], 1, None)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for window in windows:  # 5,000 admitted calls, 5,000 budget windows
            assert (await store.take("rate", rate)).admitted
            await store.charge("budget", window, 1, None)
            clock.now += 0.01
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 2_000  # a log would hold 5,000 entries (about 270 bytes each)
    assert await store.spent("budget", windows[-1]) == 1


async def test_records_expire_and_put_if_absent_returns_the_existing_value() -> None:
    clock = FakeClock()
    store = MemoryStateStore(clock)
    assert await store.put_if_absent("idem", b"first", ttl_s=10) is None
    assert await store.put_if_absent("idem", b"second", ttl_s=10) == b"first"
    clock.now += 10
    assert await store.get("idem") is None
    assert await store.put_if_absent("idem", b"third", ttl_s=10) is None
    await store.delete("idem")
    assert await store.get("idem") is None


async def test_keys_nobody_uses_any_more_are_dropped() -> None:
    clock = FakeClock()
    store = MemoryStateStore(clock)
    ended = BudgetWindow("yesterday", clock.now + 10)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for user in range(SWEEP_EVERY):  # a per-end-user budget, and a rate, for each user
            await store.charge(f"budget:b:user:{user}", ended, 1, None)
            await store.take(f"rl:user:{user}", Rate(10, 10))
        held = tracemalloc.get_traced_memory()[0] - before
        clock.now += 3600
        today = BudgetWindow("today", clock.now + 86400)
        for _ in range(SWEEP_EVERY):
            await store.charge("budget:b:user:still-here", today, 1, None)
        left = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held > 100 * SWEEP_EVERY  # thousands of keys held while their windows were open
    assert left < held / 5  # what is left is mostly CPython's free list of small tuples
    assert await store.spent("budget:b:user:still-here", today) == SWEEP_EVERY
    assert await store.spent("budget:b:user:0", today) == 0
