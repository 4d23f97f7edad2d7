"""The state store in Redis: shared by every gateway process that uses the same server.

Windows are sorted sets (member ``token:amount``, score = the time of the reservation);
records are strings holding their expiry (by the injected clock) and value, with a
Redis TTL a little longer so Redis collects them. Check-and-write steps run as
optimistic transactions (``WATCH`` / ``MULTI`` / ``EXEC``, retried on conflict), so
totals are summed exactly with ``Decimal`` in Python, never as Lua doubles, and no two
gateways can both take the last unit of a window or claim the same record.
Any Redis or connection error becomes ``StateUnavailable``.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from redis import asyncio as aioredis
from redis.exceptions import RedisError, WatchError

from gateway.state.store import Clock, Reservation, WindowUsage, retry_after
from schemas.errors import StateUnavailable

T = TypeVar("T")
_GRACE_S = 60  # Redis keeps a record this much longer than the clock says it lives


class RedisStateStore:
    def __init__(self, url: str, clock: Clock = time.time, prefix: str = "lastmile:") -> None:
        self._redis: Any = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._clock = clock
        self._prefix = prefix

    async def open(self) -> None:
        await self._guard(lambda: self._redis.ping())

    async def close(self) -> None:
        await self._redis.aclose()

    async def _guard(self, work: Callable[[], Awaitable[T]]) -> T:
        try:
            return await work()
        except (RedisError, OSError) as exc:
            raise StateUnavailable(
                f"The gateway's state store (Redis) cannot be used ({exc}); writes are "
                "refused until it is back. Retry in a few seconds."
            ) from exc

    async def _transaction(self, key: str, step: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``step(pipe)`` under WATCH ``key`` until no other client interferes."""

        async def run() -> T:
            async with self._redis.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(key)
                        return await step(pipe)
                    except WatchError:
                        continue

        return await self._guard(run)

    async def reserve(
        self, key: str, amount: Decimal, limit: Decimal, window_s: float
    ) -> tuple[Reservation | None, WindowUsage]:
        now = self._clock()
        name = self._prefix + "w:" + key

        async def step(pipe: Any) -> tuple[Reservation | None, WindowUsage]:
            rows = await pipe.zrangebyscore(name, f"({now - window_s}", "+inf", withscores=True)
            entries = [(Decimal(m.decode().split(":", 1)[1]), float(at)) for m, at in rows]
            used = sum((a for a, _ in entries), Decimal(0))
            if used + amount > limit:
                await pipe.unwatch()
                wait = retry_after(entries, used, amount, limit, window_s, now)
                return None, WindowUsage(used, limit, wait)
            token = uuid.uuid4().hex
            pipe.multi()
            pipe.zremrangebyscore(name, "-inf", now - window_s)
            pipe.zadd(name, {f"{token}:{amount}": now})
            pipe.expire(name, math.ceil(window_s) + _GRACE_S)
            await pipe.execute()
            return Reservation(key, token, amount, now), WindowUsage(used + amount, limit, 0.0)

        return await self._transaction(name, step)

    async def release(self, reservation: Reservation) -> None:
        member = f"{reservation.token}:{reservation.amount}"
        await self._guard(lambda: self._redis.zrem(self._prefix + "w:" + reservation.key, member))

    async def usage(self, key: str, window_s: float) -> Decimal:
        horizon = self._clock() - window_s
        rows = await self._guard(
            lambda: self._redis.zrangebyscore(self._prefix + "w:" + key, f"({horizon}", "+inf")
        )
        return sum((Decimal(m.decode().split(":", 1)[1]) for m in rows), Decimal(0))

    def _live(self, raw: bytes | None) -> bytes | None:
        if raw is None:
            return None
        expires, _, value = raw.partition(b"|")
        return value if float(expires) > self._clock() else None

    def _envelope(self, value: bytes, ttl_s: float) -> tuple[bytes, int]:
        return b"%r|" % (self._clock() + ttl_s) + value, math.ceil(ttl_s) + _GRACE_S

    async def put_if_absent(self, key: str, value: bytes, ttl_s: float) -> bytes | None:
        name = self._prefix + "r:" + key

        async def step(pipe: Any) -> bytes | None:
            existing = self._live(await pipe.get(name))
            if existing is not None:
                await pipe.unwatch()
                return existing
            envelope, ttl = self._envelope(value, ttl_s)
            pipe.multi()
            pipe.set(name, envelope, ex=ttl)
            await pipe.execute()
            return None

        return await self._transaction(name, step)

    async def get(self, key: str) -> bytes | None:
        return self._live(await self._guard(lambda: self._redis.get(self._prefix + "r:" + key)))

    async def put(self, key: str, value: bytes, ttl_s: float) -> None:
        envelope, ttl = self._envelope(value, ttl_s)
        await self._guard(lambda: self._redis.set(self._prefix + "r:" + key, envelope, ex=ttl))

    async def delete(self, key: str) -> None:
        await self._guard(lambda: self._redis.delete(self._prefix + "r:" + key))
