"""The live feed follows the audit store, not one process: a call another writer appended
to the shared trail reaches every viewer; nobody watching costs no read at all; a viewer
that falls behind loses the oldest calls and counts them; on PostgreSQL a viewer sees an
entry only once it is durable."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.audit.entries import Entry, render_event
from gateway.audit.feed import CallFeed, Subscription, tail_of
from gateway.audit.signing import format_time
from gateway.audit.store_sqlite import SqliteAuditStore
from schemas.audit import EventKind
from tests.fleet.conftest import eventually
from tests.gateway.audit.helpers import event, signer
from tests.gateway.audit.postgres_helpers import pg_store, postgres
from tests.postgres_db import postgres_dsn

__all__ = ["postgres_dsn"]

WITHIN_S = 10.0  # a bound against hanging, not a measurement


@pytest.fixture
async def two_writers(tmp_path: Path) -> AsyncIterator[tuple[SqliteAuditStore, SqliteAuditStore]]:
    """Two stores on one SQLite file, as two ``serve --workers`` processes have."""
    key = signer()
    here = SqliteAuditStore(tmp_path / "audit.sqlite", key)
    there = SqliteAuditStore(tmp_path / "audit.sqlite", key)
    await here.open()
    await there.open()
    yield here, there
    await there.close()
    await here.close()


async def caught_up(feed: CallFeed, index: int) -> bool:
    return feed.position >= index


async def next_call(viewer: Subscription) -> Entry:
    return await asyncio.wait_for(viewer.queue.get(), WITHIN_S)


async def test_a_call_another_writer_appended_reaches_the_viewer_in_order(
    two_writers: tuple[SqliteAuditStore, SqliteAuditStore],
) -> None:
    here, there = two_writers
    await there.append(event(0))  # before anyone watched: not part of the live view
    feed = CallFeed(tail_of(here), poll_every=0.01)
    async with feed.subscribe() as viewer:
        for n in (1, 2):
            await there.append(event(n))
        await here.append(event(3))

        seen = [(await next_call(viewer)).event["request_id"] for _ in range(3)]

    assert seen == ["req_0001", "req_0002", "req_0003"]
    assert viewer.queue.empty()


async def test_nobody_watching_costs_no_read_and_the_last_viewer_stops_the_follower(
    two_writers: tuple[SqliteAuditStore, SqliteAuditStore],
) -> None:
    here, there = two_writers
    feed = CallFeed(tail_of(here), poll_every=0.01)
    await there.append(event(1))
    assert feed.reads == 0
    assert not feed.following

    async with feed.subscribe() as first, feed.subscribe() as second:
        assert feed.listeners == 2
        await there.append(event(2))
        assert (await next_call(first)).event["request_id"] == "req_0002"
        assert (await next_call(second)).event["request_id"] == "req_0002"

    assert not feed.following
    reads = feed.reads
    await there.append(event(3))
    assert feed.reads == reads
    assert feed.listeners == 0


async def test_only_calls_are_streamed(
    two_writers: tuple[SqliteAuditStore, SqliteAuditStore],
) -> None:
    here, there = two_writers
    feed = CallFeed(tail_of(here), poll_every=0.01)
    async with feed.subscribe() as viewer:
        act = event(1).model_copy(update={"kind": EventKind.ADMIN, "request_id": "halt_1"})
        await there.append(act)
        await there.append(event(2))

        assert (await next_call(viewer)).event["request_id"] == "req_0002"
    assert viewer.queue.empty()


async def test_a_slow_viewer_keeps_the_newest_calls_and_counts_the_rest(
    two_writers: tuple[SqliteAuditStore, SqliteAuditStore],
) -> None:
    here, there = two_writers
    feed = CallFeed(tail_of(here), poll_every=0.01)
    async with feed.subscribe(limit=4) as viewer:
        for n in range(10):
            await there.append(event(n))
        await eventually(lambda: caught_up(feed, 9), "the follower read all ten")

        kept = [viewer.queue.get_nowait().event["request_id"] for _ in range(4)]

    assert kept == [f"req_{n:04d}" for n in range(6, 10)]
    assert viewer.dropped == 6


async def test_on_postgres_a_viewer_sees_an_entry_only_once_it_is_durable(
    postgres_dsn: str,
) -> None:
    """``audit_append`` commits a batch before the writer's synchronous commit flushes
    it; the feed shows entries up to the last index a writer recorded as durable."""
    async with postgres(postgres_dsn) as handle, pg_store(handle, signer()) as store:
        await store.append(event(0))
        tail = tail_of(store)
        assert tail is store
        assert await tail.newest_index() == 0
        e = event(1)
        row = await handle.pool.fetchrow(
            "SELECT * FROM audit_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            "half:1",
            [render_event(e)],
            [e.event_id],
            [format_time(e.time)],
            [e.request_id],
            [e.kind.value],
            [e.agent_id],
            [e.agent_owner],
            [e.operation],
            [e.decision.value],
            [e.outcome],
        )
        assert row is not None
        assert row["first_index"] == 1  # committed, not yet recorded as flushed

        assert await tail.entries_after(0, 10) == []
        assert await tail.newest_index() == 0

        await store.append(event(2))  # its writer's synchronous commit covers entry 1 too
        shown = await tail.entries_after(0, 10)
        assert [json.loads(x.text)["event"]["request_id"] for x in shown] == [
            "req_0001",
            "req_0002",
        ]
        assert await tail.newest_index() == 2


async def test_a_joining_viewer_catches_up_on_the_calls_since_a_point_bounded(
    two_writers: tuple[SqliteAuditStore, SqliteAuditStore],
) -> None:
    here, there = two_writers
    for n in range(6):
        kind = EventKind.ADMIN if n == 3 else EventKind.CALL
        await there.append(event(n).model_copy(update={"kind": kind}))
    feed = CallFeed(tail_of(here), poll_every=0.01)
    async with feed.subscribe() as viewer:
        assert viewer.since == 5

        since_1 = await feed.backlog(1, viewer.since)
        newest_2 = await feed.backlog(-1, viewer.since, limit=2)
        nothing = await feed.backlog(5, viewer.since)

    assert [e.index for e in since_1] == [2, 4, 5]  # entry 3 is no call
    assert [e.index for e in newest_2] == [4, 5]
    assert nothing == []
