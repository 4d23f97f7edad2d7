"""The small store behind budgets, stateful limits, idempotency keys and rate limits.

State that must hold across calls (and, later, across gateway processes) lives behind
this protocol, so an in-memory store serves tests and single-process use, SQLite the
embedded default, and Redis several processes, without the stages knowing which.

Two kinds of state cover what the guardrails and resilience need:

- **Windowed totals** (:meth:`StateStore.reserve`): "at most N (units, EUR, calls) per key in
  the last W seconds", checked and reserved in one atomic step, released again if the
  call fails. Concurrent reservations can never push a total over its limit.
- **Records with a time to live** (:meth:`put_if_absent`, :meth:`get`, :meth:`put`,
  :meth:`delete`): idempotency records, halts, anything keyed and expiring.

Time comes from an injected clock (seconds, wall time) so tests move time instead of
sleeping. A store that cannot be reached raises ``schemas.errors.StateUnavailable``;
the caller decides whether to fail closed (writes) or open (configured reads).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Reservation:
    """A held share of a windowed total; hand it back with :meth:`StateStore.release`."""

    key: str
    token: str
    amount: Decimal
    at: float


@dataclass(frozen=True, slots=True)
class WindowUsage:
    """What a reserve attempt saw: the total used in the window and the limit."""

    used: Decimal
    limit: Decimal
    retry_after_s: float  # when enough of the window expires to admit the amount (0 if admitted)


class StateStore(Protocol):
    async def reserve(
        self, key: str, amount: Decimal, limit: Decimal, window_s: float
    ) -> tuple[Reservation | None, WindowUsage]:
        """Atomically add ``amount`` to the window's total if it stays within ``limit``.

        Returns the reservation (None if refused) and the usage it saw.
        """

    async def release(self, reservation: Reservation) -> None:
        """Take a reservation back (the call it covered failed); unknown ones are ignored."""

    async def usage(self, key: str, window_s: float) -> Decimal:
        """The total reserved under ``key`` within the last ``window_s`` seconds."""

    async def put_if_absent(self, key: str, value: bytes, ttl_s: float) -> bytes | None:
        """Store ``value`` unless a live record exists; return the existing value, or None
        if this call stored it."""

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: bytes, ttl_s: float) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def close(self) -> None: ...


def retry_after(
    entries: list[tuple[Decimal, float]],
    used: Decimal,
    amount: Decimal,
    limit: Decimal,
    window_s: float,
    now: float,
) -> float:
    """Seconds until enough old reservations (``(amount, at)``, oldest first) leave the
    window to admit ``amount``; shared by the stores that keep entries outside Python."""
    if amount > limit:
        return window_s
    excess = used + amount - limit
    freed = Decimal(0)
    for entry_amount, at in entries:
        freed += entry_amount
        if freed >= excess:
            return max(at + window_s - now, 0.0)
    return window_s
