"""The in-process state store: for tests and a single gateway process.

Every method completes without awaiting anything, so on one event loop each is atomic:
no other coroutine can run between the check and the reservation.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from gateway.state.store import Clock, Reservation, WindowUsage


@dataclass(slots=True)
class _Window:
    """The live reservations under one key, with their running total (so a check costs
    O(1) however many reservations the window holds)."""

    entries: deque[Reservation] = field(default_factory=deque)
    total: Decimal = Decimal(0)


class MemoryStateStore:
    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._records: dict[str, tuple[bytes, float]] = {}

    def _live(self, key: str, window_s: float) -> _Window:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window()
        horizon = self._clock() - window_s
        entries = window.entries
        while entries and entries[0].at <= horizon:
            window.total -= entries.popleft().amount
        return window

    async def reserve(
        self, key: str, amount: Decimal, limit: Decimal, window_s: float
    ) -> tuple[Reservation | None, WindowUsage]:
        window = self._live(key, window_s)
        used = window.total
        if used + amount > limit:
            return None, WindowUsage(
                used, limit, self._retry_after(window.entries, used, amount, limit, window_s)
            )
        reservation = Reservation(key, uuid.uuid4().hex, amount, self._clock())
        window.entries.append(reservation)
        window.total += amount
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
        window = self._windows.get(reservation.key)
        if window is None:
            return
        # released reservations are recent ones: search from the newest end
        for index in range(len(window.entries) - 1, -1, -1):
            if window.entries[index].token == reservation.token:
                del window.entries[index]
                window.total -= reservation.amount
                return

    async def usage(self, key: str, window_s: float) -> Decimal:
        return self._live(key, window_s).total

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
