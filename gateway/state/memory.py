"""The in-process state store: for tests and a single gateway process.

Every method completes without awaiting anything, so on one event loop each is atomic:
no other coroutine can run between the check and the reservation.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from decimal import Decimal

from gateway.state.store import Clock, Reservation, WindowUsage


class MemoryStateStore:
    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._windows: dict[str, deque[Reservation]] = {}
        self._records: dict[str, tuple[bytes, float]] = {}

    def _live(self, key: str, window_s: float) -> deque[Reservation]:
        entries = self._windows.setdefault(key, deque())
        horizon = self._clock() - window_s
        while entries and entries[0].at <= horizon:
            entries.popleft()
        return entries

    async def reserve(
        self, key: str, amount: Decimal, limit: Decimal, window_s: float
    ) -> tuple[Reservation | None, WindowUsage]:
        entries = self._live(key, window_s)
        used = sum((e.amount for e in entries), Decimal(0))
        if used + amount > limit:
            return None, WindowUsage(
                used, limit, self._retry_after(entries, used, amount, limit, window_s)
            )
        reservation = Reservation(key, uuid.uuid4().hex, amount, self._clock())
        entries.append(reservation)
        return reservation, WindowUsage(used + amount, limit, 0.0)

    def _retry_after(
        self,
        entries: deque[Reservation],
        used: Decimal,
        amount: Decimal,
        limit: Decimal,
        window_s: float,
    ) -> float:
        """Seconds until enough old reservations leave the window to admit ``amount``."""
        if amount > limit:
            return window_s  # never fits; say so with the longest honest wait
        excess = used + amount - limit
        freed = Decimal(0)
        for entry in entries:
            freed += entry.amount
            if freed >= excess:
                return max(entry.at + window_s - self._clock(), 0.0)
        return window_s

    async def release(self, reservation: Reservation) -> None:
        entries = self._windows.get(reservation.key)
        if entries is None:
            return
        for entry in entries:
            if entry.token == reservation.token:
                entries.remove(entry)
                return

    async def usage(self, key: str, window_s: float) -> Decimal:
        return sum((e.amount for e in self._live(key, window_s)), Decimal(0))

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

    async def put(self, key: str, value: bytes, ttl_s: float) -> None:
        self._records[key] = (value, self._clock() + ttl_s)

    async def delete(self, key: str) -> None:
        self._records.pop(key, None)

    async def close(self) -> None:
        self._windows.clear()
        self._records.clear()
