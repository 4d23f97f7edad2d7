"""A small in-process publish/subscribe of completed calls, for the console's live view.

The ``Record`` stage publishes every audit event it has made durable; each console
viewer subscribes with a bounded queue. Publishing never blocks and never fails the
call: a viewer too slow to keep up loses the oldest events (its subscription counts them), so a
stalled browser tab cannot hold up agents. The feed is per process: in a fleet each
process streams the calls it served (see docs/console.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from schemas.audit import AuditEvent

QUEUE_LIMIT = 256


class Subscription:
    """One viewer's queue of events, and how many it missed because it fell behind."""

    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        self.queue: asyncio.Queue[AuditEvent] = asyncio.Queue(limit)
        self.dropped = 0

    def offer(self, event: AuditEvent) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)


class CallFeed:
    """Completed calls as they happen, to whoever is listening right now."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    def publish(self, event: AuditEvent) -> None:
        for subscriber in tuple(self._subscribers):
            subscriber.offer(event)

    @property
    def listeners(self) -> int:
        return len(self._subscribers)

    @asynccontextmanager
    async def subscribe(self, limit: int = QUEUE_LIMIT) -> AsyncIterator[Subscription]:
        subscription = Subscription(limit)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)
