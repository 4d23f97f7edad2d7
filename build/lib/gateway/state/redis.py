"""The state store in Redis: shared by every gateway process that uses the same server.

Windows are sorted sets (member ``token:amount``, score = the time of the reservation);
records are strings holding their expiry (by the injected clock) and value, with a
Redis TTL a little longer so Redis collects them. Every check-and-write is atomic, so no
two gateways can both take the last unit of a window or claim the same record:

- whole-number reservations (rate limits: one call) run as one Lua script, exact because
  Lua's doubles hold integers exactly, and free of retries however hot the key;
- fractional ones (budgets in EUR) run as optimistic transactions (``WATCH`` / ``MULTI`` /
  ``EXEC``, retried on conflict), so totals are summed as ``Decimal`` in Python;
- records are claimed the same optimistic way.

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

# KEYS[1]: the window; ARGV: horizon, amount, limit, member, now, expire seconds.
# Returns {admitted (0|1), members and scores of the window before this reservation}.
_RESERVE_WHOLE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local rows = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local used = 0
for i = 1, #rows, 2 do
  local member = rows[i]
  used = used + tonumber(string.sub(member, string.find(member, ':', 1, true) + 1))
end
if used + tonumber(ARGV[2]) > tonumber(ARGV[3]) then
  return {0, rows}
end
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[6])
return {1, rows}
"""


class RedisStateStore:
    def __init__(self, url: str, clock: Clock = time.time, prefix: str = "lastmile:") -> None:
        self._redis: Any = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._reserve_whole = self._redis.register_script(_RESERVE_WHOLE)
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
        if amount == amount.to_integral_value() and limit == limit.to_integral_value():
            return await self._reserve_by_script(key, name, amount, limit, window_s, now)

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

    async def _reserve_by_script(
        self, key: str, name: str, amount: Decimal, limit: Decimal, window_s: float, now: float
    ) -> tuple[Reservation | None, WindowUsage]:
        token = uuid.uuid4().hex
        args = [repr(now - window_s), str(amount), str(limit), f"{token}:{amount}", repr(now)]
        admitted, rows = await self._guard(
            lambda: self._reserve_whole(keys=[name], args=[*args, math.ceil(window_s) + _GRACE_S])
        )
        entries = [
            (Decimal(rows[i].decode().split(":", 1)[1]), float(rows[i + 1]))
            for i in range(0, len(rows), 2)
        ]
        used = sum((a for a, _ in entries), Decimal(0))
        if not admitted:
            wait = retry_after(entries, used, amount, limit, window_s, now)
            return None, WindowUsage(used, limit, wait)
        return Reservation(key, token, amount, now), WindowUsage(used + amount, limit, 0.0)

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
