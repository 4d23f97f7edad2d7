"""Following a piece of shared state in PostgreSQL: one dedicated connection that listens
for its change and acknowledgement channels and polls, reconnecting when it breaks.

The halts and the configuration versions are both kept this way: every process keeps a
copy, refreshes it on each change notification and, in case a notification is lost, on a
poll over the same connection; the process that made a change waits for the others'
acknowledgements (:meth:`Follower.next_ack`) while polling the registry.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from gateway.postgres.errors import POSTGRES_FAILURES, UNREACHABLE
from gateway.postgres.pool import AnyConnection, Postgres

log = structlog.get_logger("lastmile.postgres")


class Follower:
    def __init__(
        self,
        postgres: Postgres,
        *,
        name: str,
        changes: str,
        acks: str,
        poll_every: float,
        refresh: Callable[[AnyConnection], Awaitable[None]],
    ) -> None:
        self._postgres = postgres
        self._name = name
        self._channels = (changes, acks)
        self._poll_every = poll_every
        self._refresh = refresh
        self._wake = asyncio.Event()
        self._acks = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow(), name=f"{self._name}-follower")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def next_ack(self) -> asyncio.Event:
        """An event set by the next acknowledgement notification (take it before reading
        the registry, so an acknowledgement in between is not missed)."""
        return self._acks

    async def _follow(self) -> None:
        changes, acks = self._channels
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await self._postgres.listener()
                await connection.add_listener(changes, self._on_change)
                await connection.add_listener(acks, self._on_ack)
                while True:
                    await self._refresh(connection)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._poll_every)
                    self._wake.clear()
            except POSTGRES_FAILURES as exc:
                log.warning("follow_failed", follower=self._name, error=type(exc).__name__)
                await asyncio.sleep(min(self._poll_every, 1.0))
            finally:
                if connection is not None:
                    with contextlib.suppress(*UNREACHABLE):
                        await connection.close(timeout=1.0)

    def _on_change(self, *_: object) -> None:
        self._wake.set()

    def _on_ack(self, *_: object) -> None:
        acks, self._acks = self._acks, asyncio.Event()
        acks.set()
