"""The in-process state store: for tests and a single gateway process.

Every method completes without awaiting anything, so on one event loop each is atomic:
no other coroutine can run between the check and the write. Memory per key is constant:
one integer per rate (its TAT), one (window, total, end) triple per budget; every
``SWEEP_EVERY`` writes, idle rates and ended windows are dropped, so keys that stop being
used (a per-end-user budget of someone gone) do not stay forever.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from gateway.state import gcra
from gateway.state.store import (
    BudgetCharge,
    BudgetHold,
    BudgetWindow,
    Clock,
    Rate,
    RateDecision,
)

SWEEP_EVERY = 4096


class MemoryStateStore:
    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._tats: dict[str, int] = {}
        self._totals: dict[str, tuple[str, int, float]] = {}
        self._records: dict[str, tuple[bytes, float]] = {}
        self._writes = 0

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes % SWEEP_EVERY:
            return
        now = self._clock()
        now_us = gcra.micros(now)
        self._tats = {k: tat for k, tat in self._tats.items() if tat > now_us}
        self._totals = {k: total for k, total in self._totals.items() if total[2] > now}

    async def take(self, key: str, rate: Rate) -> RateDecision:
        now = gcra.micros(self._clock())
        new_tat, decision = gcra.take(self._tats.get(key), now, rate)
        if new_tat is not None:
            self._tats[key] = new_tat
            self._wrote()
        return decision

    async def take_all(self, quotas: Sequence[tuple[str, Rate]]) -> list[RateDecision]:
        now = gcra.micros(self._clock())
        taken: dict[str, int] = {}
        decisions = []
        for key, rate in quotas:
            tat = taken[key] if key in taken else self._tats.get(key)
            new_tat, decision = gcra.take(tat, now, rate)
            decisions.append(decision)
            if new_tat is None:
                return decisions  # nothing written: none taken
            taken[key] = new_tat
        for key, tat in taken.items():
            self._tats[key] = tat
            self._wrote()
        return decisions

    async def headroom(self, key: str, rate: Rate) -> RateDecision:
        return gcra.headroom(self._tats.get(key), gcra.micros(self._clock()), rate)

    async def give_back(self, key: str, rate: Rate) -> None:
        now = gcra.micros(self._clock())
        tat = gcra.give_back(self._tats.get(key), now, rate)
        if tat is None:
            self._tats.pop(key, None)
        else:
            self._tats[key] = tat

    def _used(self, key: str, window: BudgetWindow) -> int:
        found = self._totals.get(key)
        return found[1] if found is not None and found[0] == window.id else 0

    async def charge(
        self, key: str, window: BudgetWindow, amount: int, limit: int | None
    ) -> BudgetCharge:
        used = self._used(key, window)
        if limit is not None and used + amount > limit:
            return BudgetCharge(None, used)
        self._totals[key] = (window.id, used + amount, window.ends_at)
        self._wrote()
        return BudgetCharge(BudgetHold(key, window.id, amount), used)

    async def refund(self, hold: BudgetHold) -> None:
        found = self._totals.get(hold.key)
        if found is not None and found[0] == hold.window:
            self._totals[hold.key] = (hold.window, found[1] - hold.amount, found[2])

    async def spent(self, key: str, window: BudgetWindow) -> int:
        return self._used(key, window)

    def _record(self, key: str) -> bytes | None:
        found = self._records.get(key)
        if found is None:
            return None
        value, expires = found
        if expires <= self._clock():
            del self._records[key]
            return None
        return value

    async def put_if_absent(self, key: str, value: bytes, ttl_s: float) -> bytes | None:
        existing = self._record(key)
        if existing is not None:
            return existing
        self._records[key] = (value, self._clock() + ttl_s)
        return None

    async def get(self, key: str) -> bytes | None:
        return self._record(key)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self._record(key) for key in keys]

    async def put(self, key: str, value: bytes, ttl_s: float) -> None:
        self._records[key] = (value, self._clock() + ttl_s)

    async def delete(self, key: str) -> None:
        self._records.pop(key, None)

    async def close(self) -> None:
        self._tats.clear()
        self._totals.clear()
        self._records.clear()
