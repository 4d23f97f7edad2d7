"""A bulkhead per backend: bounded concurrency, a bounded queue with a deadline, shedding.

At most ``max_concurrent`` calls are in flight to the system of record, whatever the
load. Up to ``max_queue`` more wait for a slot, each at most ``queue_timeout_s``; a call
that finds the queue full, or waits too long, is shed at once with 503 ``backend_busy``
and ``Retry-After``. A full bulkhead costs a rejected caller microseconds, not a slot,
and one slow backend cannot take the gateway's capacity for the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gateway.config.resilience import BulkheadConfig
from schemas.errors import BackendBusy, retry_after_headers


class Bulkhead:
    def __init__(self, backend: str, config: BulkheadConfig) -> None:
        self.backend = backend
        self._config = config
        self._slots = asyncio.Semaphore(config.max_concurrent)
        self._waiting = 0
        self.in_flight = 0
        self.shed = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self._acquire()
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            self._slots.release()

    async def _acquire(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()
            return
        if self._waiting >= self._config.max_queue:
            raise self._shed("its queue is full")
        self._waiting += 1
        try:
            async with asyncio.timeout(self._config.queue_timeout_s):
                await self._slots.acquire()
        except TimeoutError:
            raise self._shed(f"no slot freed within {self._config.queue_timeout_s:g} s") from None
        finally:
            self._waiting -= 1

    @property
    def waiting(self) -> int:
        """Calls queued for a slot now."""
        return self._waiting

    def _shed(self, why: str) -> BackendBusy:
        self.shed += 1
        return BackendBusy(
            f"The {self.backend} system is at capacity ({self._config.max_concurrent} calls in "
            f"flight) and {why}, so this call was not sent. Retry after the Retry-After "
            "header's seconds, or spread your calls out.",
            headers=retry_after_headers(1),
        )
