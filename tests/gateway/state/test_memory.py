"""The in-memory state store: GCRA rates, budget windows, expiring records, constant
memory per key."""

from __future__ import annotations

import tracemalloc

from gateway.state import BudgetWindow, MemoryStateStore, Rate


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
