"""Every state store keeps the in-memory store's contract; SQLite and Redis across restarts.

Redis tests need a server at 127.0.0.1:6379; they skip without one, unless
``LASTMILE_REQUIRE_SERVICES=1`` (as in CI), where its absence fails them.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from redis.asyncio import Redis

from gateway.state import MemoryStateStore
from gateway.state.redis import RedisStateStore
from gateway.state.sqlite import SqliteStateStore
from gateway.state.store import StateStore
from schemas.errors import StateUnavailable
from tests.gateway.state.test_memory import FakeClock

REDIS_URL = "redis://127.0.0.1:6379/0"


def require_redis() -> None:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        if os.environ.get("LASTMILE_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip("Redis is not running at 127.0.0.1:6379 (LASTMILE_REQUIRE_SERVICES unset)")


async def purge(prefix: str) -> None:
    """Remove a test's keys (some windows would otherwise live for a day)."""
    client = Redis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateStore]:
    clock = FakeClock()
    if request.param == "redis":
        require_redis()
        prefix = f"lastmile-test-{uuid.uuid4().hex}:"
        redis = RedisStateStore(REDIS_URL, clock, prefix=prefix)
        redis.clock = clock  # type: ignore[attr-defined]
        await redis.open()
        yield redis
        await redis.close()
        await purge(prefix)
        return
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
        *(store.reserve("k", Decimal("30.50"), Decimal(600), 86400) for _ in range(30))
    )
    assert len([r for r, _ in results if r is not None]) == 19  # 19 x 30.50 = 579.50
    assert await store.usage("k", 86400) == Decimal("579.50")


async def test_concurrent_whole_number_reservations_never_exceed_the_limit(
    store: StateStore,
) -> None:
    results = await asyncio.gather(
        *(store.reserve("calls", Decimal(1), Decimal(60), 1) for _ in range(100))
    )
    admitted = [r for r, _ in results if r is not None]
    assert len(admitted) == 60
    refused = [usage for r, usage in results if r is None]
    assert all(usage.retry_after_s == 1 for usage in refused)
    assert await store.usage("calls", 1) == Decimal(60)


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


async def test_redis_state_is_shared_between_gateways() -> None:
    require_redis()
    clock, prefix = FakeClock(), f"lastmile-test-{uuid.uuid4().hex}:"
    one, two = RedisStateStore(REDIS_URL, clock, prefix), RedisStateStore(REDIS_URL, clock, prefix)
    await one.open()
    await two.open()
    assert await one.put_if_absent("idem", b"mine", 60) is None
    assert await two.put_if_absent("idem", b"theirs", 60) == b"mine"
    results = await asyncio.gather(
        *(s.reserve("rl", Decimal(1), Decimal(5), 60) for s in (one, two) * 5)
    )
    assert len([r for r, _ in results if r is not None]) == 5
    await one.close()
    await two.close()
    await purge(prefix)


async def test_an_unreachable_redis_is_state_unavailable() -> None:
    store = RedisStateStore("redis://127.0.0.1:1/0", FakeClock())
    with pytest.raises(StateUnavailable):
        await store.put_if_absent("k", b"v", 10)
    await store.close()
