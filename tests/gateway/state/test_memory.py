"""The in-memory state store: windows, atomic reservations, expiring records."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from gateway.state import MemoryStateStore


class FakeClock:
    """Time that tests move by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_reserve_within_limit_and_refuse_beyond() -> None:
    store = MemoryStateStore(FakeClock())
    first, usage = await store.reserve("k", Decimal(600), Decimal(1000), 3600)
    assert first is not None
    assert usage.used == Decimal(600)

    refused, usage = await store.reserve("k", Decimal(500), Decimal(1000), 3600)
    assert refused is None
    assert usage.used == Decimal(600)
    assert usage.retry_after_s == 3600


async def test_window_slides_with_the_clock() -> None:
    clock = FakeClock()
    store = MemoryStateStore(clock)
    await store.reserve("k", Decimal(1), Decimal(2), 60)
    clock.now += 30
    await store.reserve("k", Decimal(1), Decimal(2), 60)
    refused, usage = await store.reserve("k", Decimal(1), Decimal(2), 60)
    assert refused is None
    assert usage.retry_after_s == 30

    clock.now += 30
    admitted, _ = await store.reserve("k", Decimal(1), Decimal(2), 60)
    assert admitted is not None


async def test_release_gives_the_amount_back() -> None:
    store = MemoryStateStore(FakeClock())
    reservation, _ = await store.reserve("k", Decimal(5), Decimal(5), 60)
    assert reservation is not None
    await store.release(reservation)
    assert await store.usage("k", 60) == Decimal(0)


async def test_concurrent_reservations_never_exceed_the_limit() -> None:
    store = MemoryStateStore(FakeClock())
    results = await asyncio.gather(
        *(store.reserve("k", Decimal("30.50"), Decimal(2000), 86400) for _ in range(100))
    )
    admitted = [r for r, _ in results if r is not None]
    assert len(admitted) == 65  # 65 x 30.50 = 1982.50; a 66th would pass 2000
    assert await store.usage("k", 86400) == Decimal("1982.50")


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
