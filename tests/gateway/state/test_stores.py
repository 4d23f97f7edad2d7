"""Every state store keeps the in-memory store's contract; SQLite and Redis across restarts.

Redis tests need a server at 127.0.0.1:6379; they skip without one, unless
``LASTMILE_REQUIRE_SERVICES=1`` (as in CI), where its absence fails them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from gateway.state import BudgetWindow, MemoryStateStore, Rate
from gateway.state.redis import RedisStateStore
from gateway.state.sqlite import SWEEP_EVERY, SqliteStateStore
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
        redis = RedisStateStore(REDIS_URL, clock, prefix=prefix, server_clock=False)
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


DAY_1 = BudgetWindow("2026-11-30T00:00:00Z", 1_086_400.0)
DAY_2 = BudgetWindow("2026-12-01T00:00:00Z", 1_172_800.0)


async def test_concurrent_charges_never_exceed_the_limit(store: StateStore) -> None:
    results = await asyncio.gather(
        *(store.charge("k", DAY_1, 30_500_000, 600_000_000) for _ in range(30))
    )
    taken = [r for r in results if r.hold is not None]
    assert len(taken) == 19  # 19 x 30.50 = 579.50; a 20th would pass 600
    assert sorted(r.used for r in taken) == [n * 30_500_000 for n in range(19)]
    assert all(r.used == 579_500_000 for r in results if r.hold is None)
    assert await store.spent("k", DAY_1) == 579_500_000


async def test_a_budget_window_starts_afresh_and_a_refund_stays_in_its_window(
    store: StateStore,
) -> None:
    first = await store.charge("k", DAY_1, 7, 10)
    assert first.hold is not None
    assert (await store.charge("k", DAY_1, 4, 10)).hold is None
    second = await store.charge("k", DAY_2, 4, 10)
    assert second.used == 0
    assert second.hold is not None
    await store.refund(first.hold)  # its window is over: nothing to give back in DAY_2
    assert await store.spent("k", DAY_2) == 4
    assert await store.spent("k", DAY_1) == 0  # DAY_1 is no longer kept
    await store.refund(second.hold)
    assert await store.spent("k", DAY_2) == 0


async def test_a_charge_without_a_limit_is_always_taken(store: StateStore) -> None:
    for _ in range(3):
        assert (await store.charge("k", DAY_1, 10**15, None)).hold is not None
    assert await store.spent("k", DAY_1) == 3 * 10**15
    assert (await store.charge("k", DAY_1, 1, 10**15)).hold is None


async def test_concurrent_rate_checks_admit_exactly_the_limit(store: StateStore) -> None:
    rate = Rate(60, 1)
    results = await asyncio.gather(*(store.take("calls", rate) for _ in range(100)))
    assert len([r for r in results if r.admitted]) == 60
    assert sorted(r.remaining for r in results if r.admitted) == list(range(60))
    # at one moment, the next call conforms one emission interval on
    assert {r.retry_after_s for r in results if not r.admitted} == {rate.interval_us / 1e6}


async def test_gcra_admits_a_burst_then_one_per_interval_with_exact_retry_after(
    store: StateStore,
) -> None:
    clock: FakeClock = store.clock  # type: ignore[attr-defined]
    rate = Rate(2, 60)  # one call every 30 s, two at once
    first = await store.take("k", rate)
    assert (first.admitted, first.remaining, first.reset_s) == (True, 1, 30)
    clock.now += 10
    second = await store.take("k", rate)
    assert (second.admitted, second.remaining, second.reset_s) == (True, 0, 50)
    clock.now += 5
    refused = await store.take("k", rate)
    assert (refused.admitted, refused.retry_after_s, refused.reset_s) == (False, 15, 45)
    clock.now += 14.999999
    assert not (await store.take("k", rate)).admitted
    clock.now += 0.000001
    assert (await store.take("k", rate)).admitted
    assert not (await store.take("k", rate)).admitted


async def test_gcra_admits_at_most_2n_minus_1_in_any_window_of_w(store: StateStore) -> None:
    clock: FakeClock = store.clock  # type: ignore[attr-defined]
    rate, start, admitted = Rate(4, 60), clock.now, []
    for second in range(180):  # one attempt a second for three windows
        clock.now = start + second
        if (await store.take("k", rate)).admitted:
            admitted.append(second)
    # a burst of 4, then one every 15 s: the documented worst case, reached, never passed
    assert admitted[:8] == [0, 1, 2, 3, 15, 30, 45, 60]
    assert max(sum(1 for a in admitted if t <= a < t + 60) for t in admitted) == 7
    assert len(admitted) == 4 + 11  # the long-run rate: N per W after the burst


async def test_a_call_given_back_frees_its_slot_but_never_credits_more_than_the_limit(
    store: StateStore,
) -> None:
    clock: FakeClock = store.clock  # type: ignore[attr-defined]
    rate = Rate(2, 60)
    assert (await store.take("k", rate)).admitted
    assert (await store.take("k", rate)).admitted
    await store.give_back("k", rate)
    assert (await store.take("k", rate)).admitted
    assert not (await store.take("k", rate)).admitted
    clock.now += 3600  # idle: the quota is whole again, a late give-back adds nothing
    await store.give_back("k", rate)
    assert (await store.take("k", rate)).admitted
    assert (await store.take("k", rate)).admitted
    assert not (await store.take("k", rate)).admitted


async def test_take_all_takes_from_every_rate_or_from_none(store: StateStore) -> None:
    wide, narrow = Rate(10, 60), Rate(2, 60)
    both = [("wide", wide), ("narrow", narrow)]
    for remaining in (1, 0):
        first, second = await store.take_all(both)
        assert (first.admitted, second.admitted) == (True, True)
        assert second.remaining == remaining
    [open_one, refused] = await store.take_all(both)  # the narrow one is spent
    assert open_one.admitted
    assert (refused.admitted, refused.retry_after_s) == (False, 30)
    # the refusal took nothing, not even from the rate before it: 8 of 10 left there
    assert (await store.headroom("wide", wide)).remaining == 8
    [alone] = await store.take_all([("narrow", narrow), ("wide", wide)])  # stops at it
    assert not alone.admitted
    assert (await store.headroom("wide", wide)).remaining == 8


async def test_take_all_counts_a_key_named_twice_twice(store: StateStore) -> None:
    rate = Rate(3, 60)
    decisions = await store.take_all([("k", rate), ("k", rate)])
    assert [d.remaining for d in decisions] == [2, 1]
    [first, refused] = await store.take_all([("k", rate), ("k", rate)])
    assert (first.admitted, refused.admitted) == (True, False)
    assert (await store.headroom("k", rate)).remaining == 1  # the refusal took nothing


async def test_concurrent_take_alls_admit_exactly_the_tightest_limit(store: StateStore) -> None:
    quotas = [("agent", Rate(100, 60)), ("op", Rate(7, 60)), ("backend", Rate(50, 60))]
    results = await asyncio.gather(*(store.take_all(quotas) for _ in range(20)))
    admitted = [r for r in results if len(r) == 3 and all(d.admitted for d in r)]
    assert len(admitted) == 7
    assert (await store.headroom("agent", Rate(100, 60))).remaining == 93
    assert (await store.headroom("backend", Rate(50, 60))).remaining == 43


async def test_get_many_reads_live_records_in_order(store: StateStore) -> None:
    clock: FakeClock = store.clock  # type: ignore[attr-defined]
    await store.put("a", b"first", 10)
    await store.put("c", b"third", 100)
    assert await store.get_many(["a", "b", "c"]) == [b"first", None, b"third"]
    clock.now += 10
    assert await store.get_many(["c", "a"]) == [b"third", None]
    assert await store.get_many([]) == []


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
    await first.take("rl", Rate(1, 60))
    await first.charge("b", DAY_1, 5, 10)
    await first.close()

    second = SqliteStateStore(tmp_path / "s.sqlite", clock)
    await second.open()
    assert await second.get("idem") == b"kept"
    assert not (await second.take("rl", Rate(1, 60))).admitted
    assert (await second.charge("b", DAY_1, 6, 10)).hold is None
    await second.close()


async def test_a_closed_sqlite_store_is_state_unavailable(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "s.sqlite", FakeClock())
    await store.open()
    await store.close()
    with pytest.raises(StateUnavailable):
        await store.put_if_absent("k", b"v", 10)
    with pytest.raises(StateUnavailable):
        await store.take("k", Rate(1, 10))
    with pytest.raises(StateUnavailable):
        await store.charge("k", DAY_1, 1, 1)


async def test_redis_state_is_shared_between_gateways() -> None:
    require_redis()
    clock, prefix = FakeClock(), f"lastmile-test-{uuid.uuid4().hex}:"
    one, two = RedisStateStore(REDIS_URL, clock, prefix), RedisStateStore(REDIS_URL, clock, prefix)
    await one.open()
    await two.open()
    assert await one.put_if_absent("idem", b"mine", 60) is None
    assert await two.put_if_absent("idem", b"theirs", 60) == b"mine"
    results = await asyncio.gather(*(s.take("rl", Rate(5, 60)) for s in (one, two) * 5))
    assert len([r for r in results if r.admitted]) == 5
    charges = await asyncio.gather(*(s.charge("b", DAY_1, 3, 10) for s in (one, two) * 5))
    assert len([c for c in charges if c.hold is not None]) == 3
    assert await two.spent("b", DAY_1) == 9
    await one.close()
    await two.close()
    await purge(prefix)


async def test_an_unreachable_redis_is_state_unavailable() -> None:
    store = RedisStateStore("redis://127.0.0.1:1/0", FakeClock())
    with pytest.raises(StateUnavailable):
        await store.put_if_absent("k", b"v", 10)
    await store.close()


async def test_on_redis_rates_run_on_redis_clock_whatever_the_hosts_say() -> None:
    require_redis()
    prefix = f"lastmile-test-{uuid.uuid4().hex}:"
    early, late = FakeClock(), FakeClock()
    late.now += 10 * 86400  # a host ten days ahead would have emptied any window
    stores = [RedisStateStore(REDIS_URL, c, prefix) for c in (early, late, early)]
    try:
        results = await asyncio.gather(*(s.take("rl", Rate(4, 3600)) for s in stores * 3))
        assert len([r for r in results if r.admitted]) == 4
        refused = [r for r in results if not r.admitted]
        assert all(0 < r.retry_after_s <= 900 for r in refused)  # one interval: 3600 s / 4
    finally:
        for store in stores:
            await store.close()
        await purge(prefix)


async def test_sqlite_drops_rows_of_idle_rates_and_ended_windows(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SqliteStateStore(tmp_path / "s.sqlite", clock)
    await store.open()
    for user in range(SWEEP_EVERY // 2):
        await store.charge(f"budget:b:user:{user}", DAY_1, 1, None)
        await store.take(f"rl:user:{user}", Rate(10, 10))
    clock.now = DAY_2.ends_at - 3600
    for _ in range(SWEEP_EVERY):
        await store.charge("budget:b:user:still-here", DAY_2, 1, None)
    await store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "s.sqlite")) as db:
        assert db.execute("SELECT count(*) FROM state_budgets").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM state_rates").fetchone() == (0,)


async def test_headroom_says_what_a_take_would_find_and_takes_nothing(store: StateStore) -> None:
    clock: FakeClock = store.clock  # type: ignore[attr-defined]
    rate = Rate(2, 60)  # one call every 30 s, two at once

    idle = await store.headroom("k", rate)
    assert (idle.admitted, idle.remaining, idle.retry_after_s, idle.reset_s) == (True, 2, 0, 0)
    await store.take("k", rate)
    one = await store.headroom("k", rate)
    assert (one.admitted, one.remaining, one.reset_s) == (True, 1, 30)
    clock.now += 10
    await store.take("k", rate)
    for _ in range(3):  # looking never uses the quota up
        full = await store.headroom("k", rate)
        assert (full.admitted, full.remaining, full.retry_after_s, full.reset_s) == (
            False, 0, 20, 50,
        )  # fmt: skip
    clock.now += 19.999999
    assert not (await store.take("k", rate)).admitted
    clock.now += 0.000001
    assert (await store.take("k", rate)).admitted
    assert (await store.headroom("other", rate)).remaining == 2


def test_redis_replies_are_parsed_by_hiredis() -> None:
    """The C parser is a dependency for its CPU per call (bench/README.md); a pure-Python
    fallback would work but cost every Redis round trip more."""
    from redis.utils import HIREDIS_AVAILABLE

    assert HIREDIS_AVAILABLE
