"""Completed calls as they reach the audit trail, for the console's live view.

The feed follows the audit *store*, not the calls this process serves: in a fleet
(``serve --workers N`` on one SQLite file, or ``audit.store: postgres``) every viewer
sees every process's calls. While at least one viewer is subscribed, one follower task
per process reads the entries after the last one it has seen (an indexed range read on
the entry index, every ``poll_every``) and hands the calls to each viewer's bounded
queue; when the last viewer leaves, the task stops, so a process nobody watches pays
nothing, and the hot path never touches the feed at all.

Polling rather than PostgreSQL's NOTIFY: a NOTIFY inside every audit batch would make
each commit take the server's global notification lock, a cost paid on every call for
the benefit of whoever happens to be watching.

A viewer too slow to keep up loses the oldest events (its subscription counts them), so
a stalled browser tab can hold up neither agents nor other viewers.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol, runtime_checkable

import structlog

from gateway.audit.entries import Entry
from gateway.audit.store import AuditQuery, AuditStore
from schemas.audit import EventKind
from schemas.errors import AuditUnavailable

log = structlog.get_logger("lastmile.audit")

QUEUE_LIMIT = 256
POLL_S = 0.25  # a completed call reaches every viewer within a second, with room to spare
PAGE = 500  # entries per read; a follower that fell behind reads page after page
BACKLOG = 200  # entries a joining viewer may catch up on (a page shows the latest 50 calls)
_READ_FAILURES = (AuditUnavailable, sqlite3.Error, OSError)


@runtime_checkable
class TrailTail(Protocol):
    """The newest end of the audit trail: what a follower needs to read."""

    async def newest_index(self) -> int:
        """The index of the newest entry a follower may show (-1 when there is none)."""

    async def entries_after(self, index: int, limit: int) -> list[Entry]:
        """Up to ``limit`` entries after ``index``, oldest first."""


class SearchedTail:
    """Any audit store's tail, through its keyset-paged search (the entry index is the
    primary key, so both reads are range reads)."""

    def __init__(self, store: AuditStore) -> None:
        self._store = store

    async def newest_index(self) -> int:
        newest = await self._store.search(AuditQuery(descending=True, limit=1))
        return newest[0].index if newest else -1

    async def entries_after(self, index: int, limit: int) -> list[Entry]:
        return await self._store.search(AuditQuery(after=index, limit=limit))


def tail_of(store: AuditStore) -> TrailTail:
    """The store itself when it knows its durable end better than a search does."""
    return store if isinstance(store, TrailTail) else SearchedTail(store)


class Subscription:
    """One viewer's queue of call entries, and how many it missed by falling behind.
    ``since``: the index the feed had reached when the viewer joined; every call after
    it comes through the queue (what came before is :meth:`CallFeed.backlog`)."""

    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        self.queue: asyncio.Queue[Entry] = asyncio.Queue(limit)
        self.dropped = 0
        self.since = -1

    def offer(self, entry: Entry) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(entry)


class CallFeed:
    """Call entries of the whole trail, to whoever is listening right now."""

    def __init__(self, tail: TrailTail, *, poll_every: float = POLL_S) -> None:
        self._tail = tail
        self._poll_every = poll_every
        self._subscribers: set[Subscription] = set()
        self._follower: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self.position = -1  # the index of the last entry handed out (or skipped)
        self.reads = 0  # how many reads of the store the follower made

    @property
    def listeners(self) -> int:
        return len(self._subscribers)

    @property
    def following(self) -> bool:
        return self._follower is not None

    @asynccontextmanager
    async def subscribe(self, limit: int = QUEUE_LIMIT) -> AsyncIterator[Subscription]:
        """Hear of every call that reaches the trail from now on, until the block ends."""
        subscription = Subscription(limit)
        async with self._starting:
            if self._follower is None:
                self.position = await self._tail.newest_index()
                self._follower = asyncio.create_task(self._follow(), name="call-feed")
            subscription.since = self.position  # no await from here to the add: no gap
            self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)
            if not self._subscribers:
                await self.stop()

    async def newest_index(self) -> int:
        """Where a page that was just read ends: its stream picks up from there."""
        return await self._tail.newest_index()

    async def backlog(self, after: int, until: int, limit: int = BACKLOG) -> list[Entry]:
        """The calls after ``after`` up to ``until``, from the newest ``limit`` entries of
        that range: what a viewer missed between reading a page (or losing its stream)
        and subscribing."""
        start = max(after, until - limit)
        if start >= until:
            return []
        entries = await self._tail.entries_after(start, until - start)
        return [e for e in entries if e.index <= until and _is_call(e)]

    async def stop(self) -> None:
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower

    async def _follow(self) -> None:
        while True:
            try:
                await self._catch_up()
            except _READ_FAILURES as exc:  # the trail comes back; the viewers wait for it
                log.warning("call_feed_read_failed", error=type(exc).__name__)
            await asyncio.sleep(self._poll_every)

    async def _catch_up(self) -> None:
        while True:
            entries = await self._tail.entries_after(self.position, PAGE)
            self.reads += 1
            for entry in entries:
                self.position = entry.index
                if _is_call(entry):
                    self._publish(entry)
            if len(entries) < PAGE:
                return

    def _publish(self, entry: Entry) -> None:
        for subscriber in tuple(self._subscribers):
            subscriber.offer(entry)


def _is_call(entry: Entry) -> bool:
    kind: str = entry.event.get("kind", EventKind.CALL.value)
    return kind == EventKind.CALL.value
