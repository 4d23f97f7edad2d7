"""The state store in Redis: shared by every gateway process that uses the same server.

Every check-and-write is one Lua script, so it is atomic on Redis's single thread and
never retried however hot the key, and no two gateways can both take the last unit of
a quota or claim the same record:

- a rate is one string, its GCRA TAT in microseconds (``gateway/state/gcra.py``), read
  and moved by one script on **Redis's clock** (``TIME``), so the gateways' clocks do
  not matter; it expires once idle;
- a budget is one hash, ``w`` (the current window's id) and ``t`` (its total in integer
  micro-units, added with ``HINCRBY``: exact 64-bit integers, no floating point), that
  expires after its window ends;
- records are strings holding their expiry (by the injected clock) and value, with a
  Redis TTL a little longer so Redis collects them.

``server_clock=False`` makes the rate scripts use the injected clock instead (tests that
move time, the contract shared with the other stores). Any Redis or connection error
becomes ``StateUnavailable``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from gateway.state import gcra
from gateway.state.store import (
    MICRO,
    BudgetCharge,
    BudgetHold,
    BudgetWindow,
    Clock,
    Rate,
    RateDecision,
)
from schemas.errors import StateUnavailable

T = TypeVar("T")
_GRACE_S = 60  # Redis keeps a record or budget this much longer than it lives


def _now_from(arg: str) -> str:
    """Lua setting ``now`` (µs) from ``ARGV[arg]``, or from Redis's clock when it is ''."""
    return f"""
local now
if ARGV[{arg}] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[{arg}])
end
"""


_NOW = (
    _now_from("3")
    + """
local tat = tonumber(redis.call('GET', KEYS[1]) or 0)
"""
)

# KEYS[1]: the rate's TAT; ARGV: interval µs, capacity µs, now µs ('' = Redis's clock).
# Returns {admitted (0|1), µs until a retry is admitted, µs until the quota is whole}.
_TAKE = (
    _NOW
    + """
if tat < now then tat = now end
local new_tat = tat + tonumber(ARGV[1])
if new_tat - now > tonumber(ARGV[2]) then
  return {0, new_tat - tonumber(ARGV[2]) - now, tat - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX',
           math.ceil((new_tat - now) / 1000) + 1000)
return {1, 0, new_tat - now}
"""
)

# KEYS: the rates' TATs; ARGV[1]: now µs ('' = Redis's clock), then each rate's interval
# and capacity µs. Takes one call from every rate or from none: returns, per rate up to
# and including the first refusal, {admitted (0|1), µs until a retry, µs until whole}.
_TAKE_ALL = (
    _now_from("1")
    + """
local taken = {}
local out = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i])
  local capacity = tonumber(ARGV[2 * i + 1])
  local tat = taken[KEYS[i]] or tonumber(redis.call('GET', KEYS[i]) or 0)
  if tat < now then tat = now end
  local new_tat = tat + interval
  if new_tat - now > capacity then
    table.insert(out, 0)
    table.insert(out, new_tat - capacity - now)
    table.insert(out, tat - now)
    return out
  end
  taken[KEYS[i]] = new_tat
  table.insert(out, 1)
  table.insert(out, 0)
  table.insert(out, new_tat - now)
end
for key, new_tat in pairs(taken) do
  redis.call('SET', key, string.format('%d', new_tat), 'PX',
             math.ceil((new_tat - now) / 1000) + 1000)
end
return out
"""
)

# KEYS[1]: the rate's TAT; ARGV: unused, unused, now µs ('' = Redis's clock). Reads only.
# Returns {TAT, now} in µs, as text (a Lua number would lose precision on the way out).
_HEADROOM = (
    _NOW
    + """
return {string.format('%d', tat), string.format('%d', now)}
"""
)

# KEYS[1]: the rate's TAT; ARGV: interval µs, unused, now µs ('' = Redis's clock).
_GIVE_BACK = (
    _NOW
    + """
if tat <= now then return 0 end
local new_tat = math.max(tat - tonumber(ARGV[1]), now)
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX',
           math.ceil((new_tat - now) / 1000) + 1000)
return 1
"""
)

# KEYS[1]: the budget's hash; ARGV: window id, amount, limit ('' = none), expire ms.
# Returns {taken (0|1), the window's total before this charge}.
_CHARGE = """
local found = redis.call('HMGET', KEYS[1], 'w', 't')
local used = '0'
if found[1] == ARGV[1] then used = found[2] end
if ARGV[3] ~= '' and tonumber(used) + tonumber(ARGV[2]) > tonumber(ARGV[3]) then
  return {0, used}
end
if found[1] ~= ARGV[1] then redis.call('HSET', KEYS[1], 'w', ARGV[1], 't', '0') end
redis.call('HINCRBY', KEYS[1], 't', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, used}
"""

# KEYS[1]: the budget's hash; ARGV: window id, amount to take off.
_REFUND = """
if redis.call('HGET', KEYS[1], 'w') == ARGV[1] then
  redis.call('HINCRBY', KEYS[1], 't', '-' .. ARGV[2])
end
return 0
"""

# KEYS[1]: the record; ARGV: now, envelope, ttl s. Returns the live value, or false.
_CLAIM = """
local raw = redis.call('GET', KEYS[1])
if raw then
  local bar = string.find(raw, '|', 1, true)
  if tonumber(string.sub(raw, 1, bar - 1)) > tonumber(ARGV[1]) then
    return string.sub(raw, bar + 1)
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return false
"""


def _decision(rate: Rate, admitted: int, retry_us: int, backlog_us: int) -> RateDecision:
    """A take script's answer for one rate as the decision the other stores give."""
    if not admitted:
        return RateDecision(False, 0, retry_us / MICRO, backlog_us / MICRO)
    remaining = (rate.capacity_us - backlog_us) // rate.interval_us
    return RateDecision(True, remaining, 0.0, backlog_us / MICRO)


class RedisStateStore:
    def __init__(
        self,
        url: str,
        clock: Clock = time.time,
        prefix: str = "lastmile:",
        *,
        server_clock: bool = True,
    ) -> None:
        self._redis: Any = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._take = self._redis.register_script(_TAKE)
        self._take_all = self._redis.register_script(_TAKE_ALL)
        self._give_back = self._redis.register_script(_GIVE_BACK)
        self._headroom = self._redis.register_script(_HEADROOM)
        self._charge = self._redis.register_script(_CHARGE)
        self._refund = self._redis.register_script(_REFUND)
        self._claim = self._redis.register_script(_CLAIM)
        self._clock = clock
        self._prefix = prefix
        self._server_clock = server_clock

    async def open(self) -> None:
        """Check the server and load the scripts once (not one NOSCRIPT miss per connection)."""

        async def load() -> None:
            for script in (_TAKE, _TAKE_ALL, _GIVE_BACK, _HEADROOM, _CHARGE, _REFUND, _CLAIM):
                await self._redis.script_load(script)

        await self._guard(load)

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

    def _now_arg(self) -> str:
        return "" if self._server_clock else str(gcra.micros(self._clock()))

    async def take(self, key: str, rate: Rate) -> RateDecision:
        args: list[str | int | bytes] = [rate.interval_us, rate.capacity_us, self._now_arg()]
        name = self._prefix + "rate:" + key
        admitted, retry_us, backlog_us = await self._guard(
            lambda: self._take(keys=[name], args=args)
        )
        return _decision(rate, admitted, retry_us, backlog_us)

    async def take_all(self, quotas: Sequence[tuple[str, Rate]]) -> list[RateDecision]:
        if not quotas:
            return []
        names = [self._prefix + "rate:" + key for key, _ in quotas]
        args: list[str | int | bytes] = [self._now_arg()]
        for _, rate in quotas:
            args += [rate.interval_us, rate.capacity_us]
        flat = await self._guard(lambda: self._take_all(keys=names, args=args))
        # three numbers per rate, up to and including the first refusal
        return [
            _decision(rate, *flat[3 * i : 3 * i + 3])
            for i, (_, rate) in enumerate(quotas[: len(flat) // 3])
        ]

    async def headroom(self, key: str, rate: Rate) -> RateDecision:
        args: list[str | int | bytes] = [0, 0, self._now_arg()]
        name = self._prefix + "rate:" + key
        tat, now = await self._guard(lambda: self._headroom(keys=[name], args=args))
        return gcra.headroom(int(tat) or None, int(now), rate)

    async def give_back(self, key: str, rate: Rate) -> None:
        args: list[str | int | bytes] = [rate.interval_us, 0, self._now_arg()]
        name = self._prefix + "rate:" + key
        await self._guard(lambda: self._give_back(keys=[name], args=args))

    async def charge(
        self, key: str, window: BudgetWindow, amount: int, limit: int | None
    ) -> BudgetCharge:
        expire_ms = math.ceil((window.ends_at - self._clock() + _GRACE_S) * 1000)
        args: list[str | int | bytes] = [
            window.id,
            amount,
            "" if limit is None else limit,
            max(expire_ms, 1000),
        ]
        taken, used = await self._guard(
            lambda: self._charge(keys=[self._prefix + "budget:" + key], args=args)
        )
        hold = BudgetHold(key, window.id, amount) if taken else None
        return BudgetCharge(hold, int(used))

    async def refund(self, hold: BudgetHold) -> None:
        name = self._prefix + "budget:" + hold.key
        await self._guard(lambda: self._refund(keys=[name], args=[hold.window, hold.amount]))

    async def spent(self, key: str, window: BudgetWindow) -> int:
        name = self._prefix + "budget:" + key
        found, total = await self._guard(lambda: self._redis.hmget(name, "w", "t"))
        return int(total) if found is not None and found.decode() == window.id else 0

    def _live(self, raw: bytes | None) -> bytes | None:
        if raw is None:
            return None
        expires, _, value = raw.partition(b"|")
        return value if float(expires) > self._clock() else None

    def _envelope(self, value: bytes, ttl_s: float) -> tuple[bytes, int]:
        return b"%r|" % (self._clock() + ttl_s) + value, math.ceil(ttl_s) + _GRACE_S

    async def put_if_absent(self, key: str, value: bytes, ttl_s: float) -> bytes | None:
        envelope, ttl = self._envelope(value, ttl_s)
        args: list[str | int | bytes] = [repr(self._clock()), envelope, ttl]
        existing = await self._guard(
            lambda: self._claim(keys=[self._prefix + "r:" + key], args=args)
        )
        return bytes(existing) if existing is not None else None

    async def get(self, key: str) -> bytes | None:
        return self._live(await self._guard(lambda: self._redis.get(self._prefix + "r:" + key)))

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        names = [self._prefix + "r:" + key for key in keys]
        found = await self._guard(lambda: self._redis.mget(names))
        return [self._live(raw) for raw in found]

    async def put(self, key: str, value: bytes, ttl_s: float) -> None:
        envelope, ttl = self._envelope(value, ttl_s)
        await self._guard(lambda: self._redis.set(self._prefix + "r:" + key, envelope, ex=ttl))

    async def delete(self, key: str) -> None:
        await self._guard(lambda: self._redis.delete(self._prefix + "r:" + key))
