"""Reads: an optional per-operation TTL cache, and coalescing of identical concurrent reads.

N identical reads in flight at once lead to one backend call; the others wait for its
answer (or its error). Answers may be kept for ``cache_ttl_s``. Never for writes. Keys
hold the agent, the operation and the canonical input, so an agent only ever receives
what a call of its own would have returned (redaction, which depends on the agent, runs
later on each call's copy).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from adapters.base import Canonical

ReadKey = tuple[str, str, str]  # agent id, operation, canonical input JSON


class ReadShortcuts:
    def __init__(self, clock: Callable[[], float], max_entries: int) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._cache: OrderedDict[ReadKey, tuple[float, Canonical]] = OrderedDict()
        self._in_flight: dict[ReadKey, asyncio.Future[Canonical]] = {}
        self.followers = 0  # calls now waiting on another call's answer
        self._followers_changed = asyncio.Condition()

    async def wait_for_followers(self, count: int) -> None:
        """Return once ``count`` calls wait on another's answer (for tests and probes)."""
        async with self._followers_changed:
            await self._followers_changed.wait_for(lambda: self.followers >= count)

    async def fetch(
        self,
        key: ReadKey,
        ttl_s: float,
        coalesce: bool,
        call: Callable[[], Awaitable[Canonical]],
    ) -> tuple[Canonical, str]:
        """The answer and where it came from: ``backend``, ``cache`` or ``coalesced``."""
        if ttl_s > 0:
            cached = self._cache.get(key)
            if cached is not None and cached[0] > self._clock():
                return cached[1], "cache"
        if coalesce and key in self._in_flight:
            self.followers += 1
            async with self._followers_changed:
                self._followers_changed.notify_all()
            try:
                return await asyncio.shield(self._in_flight[key]), "coalesced"
            finally:
                self.followers -= 1
        future: asyncio.Future[Canonical] = asyncio.get_running_loop().create_future()
        if coalesce:
            self._in_flight[key] = future
        try:
            value = await call()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here; followers get it through their await
            raise
        else:
            future.set_result(value)
        finally:
            if coalesce:
                del self._in_flight[key]
        if ttl_s > 0:
            self._keep(key, ttl_s, value)
        return value, "backend"

    def _keep(self, key: ReadKey, ttl_s: float, value: Canonical) -> None:
        self._cache[key] = (self._clock() + ttl_s, value)
        self._cache.move_to_end(key)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)
