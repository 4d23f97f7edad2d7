"""The SQLite state store keeps the same contract as the in-memory one, across restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.state import MemoryStateStore
from gateway.state.sqlite import SqliteStateStore
from gateway.state.store import StateStore
from schemas.errors import StateUnavailable
from tests.gateway.state.test_memory import FakeClock


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateStore]:
    clock = FakeClock()
    if request.param == "memory":
        memory = MemoryStateStore(clock)
        memory.clock = clock  # type: ignore[attr-defined]
        yield memory
        return
    sqlite = SqliteStateStore(tmp_path / "state.sqlite", clock)
    sqlite.clock = clock  # type: ignore[attr-defined]
    await sqlite.open()
    yield sqlite
    await sqlite.close()


async def test_concurrent_reservations_never_exceed_the_limit(store: StateStore) -> None:
    results = await asyncio.gather(
        *(store.reserve("k", Decimal("30.50"), Decimal(2000), 86400) for _ in range(100))
    )
    assert len([r for r, _ in results if r is not None]) == 65
    assert await store.usage("k", 86400) == Decimal("1982.50")


async def test_windows_slide_and_refusals_say_when_to_retry(store: StateStore) -> None:
    clock: FakeClock = store.clock  # type: ignore[attr-defined]
    await store.reserve("k", Decimal(1), Decimal(2), 60)
    clock.now += 30
    await store.reserve("k", Decimal(1), Decimal(2), 60)
    refused, usage = await store.reserve("k", Decimal(1), Decimal(2), 60)
    assert refused is None
    assert usage.retry_after_s == 30
    clock.now += 30
    admitted, usage = await store.reserve("k", Decimal(1), Decimal(2), 60)
    assert admitted is not None
    assert usage.used == Decimal(2)
    await store.release(admitted)
    assert await store.usage("k", 60) == Decimal(1)


async def test_records_expire_and_put_if_absent_is_first_come(store: StateStore) -> None:
    clock: FakeClock = store.clock  # type: ignore[attr-defined]
    claims = await asyncio.gather(*(store.put_if_absent("i", b"%d" % n, 10) for n in range(10)))
    assert claims.count(None) == 1
    await store.put("i", b"done", 10)
    assert await store.get("i") == b"done"
    clock.now += 10
    assert await store.get("i") is None
    assert await store.put_if_absent("i", b"again", 10) is None
    await store.delete("i")
    assert await store.get("i") is None


async def test_sqlite_state_survives_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    first = SqliteStateStore(tmp_path / "s.sqlite", clock)
    await first.open()
    await first.put("idem", b"kept", 60)
    await first.reserve("rl", Decimal(1), Decimal(1), 60)
    await first.close()

    second = SqliteStateStore(tmp_path / "s.sqlite", clock)
    await second.open()
    assert await second.get("idem") == b"kept"
    refused, _ = await second.reserve("rl", Decimal(1), Decimal(1), 60)
    assert refused is None
    await second.close()


async def test_a_closed_sqlite_store_is_state_unavailable(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "s.sqlite", FakeClock())
    await store.open()
    await store.close()
    with pytest.raises(StateUnavailable):
        await store.put_if_absent("k", b"v", 10)
    with pytest.raises(StateUnavailable):
        await store.reserve("k", Decimal(1), Decimal(1), 10)
