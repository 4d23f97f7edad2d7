"""The small store behind budgets, rate limits, idempotency keys and halts.

State that must hold across calls (and across gateway processes) lives behind this
protocol, so an in-memory store serves tests and single-process use, SQLite the embedded
default, and Redis several processes, without the stages knowing which.

Three kinds of state cover what the guardrails and resilience need, each O(1) in time
and memory per key however many calls a window holds:

- **Rates** (:meth:`StateStore.take`, :meth:`give_back`): "N calls per W seconds" as
  GCRA (the generic cell rate algorithm): one number per key, the theoretical arrival
  time (TAT) of the next call, in whole microseconds. See :mod:`gateway.state.gcra` for
  the arithmetic and its precision.
- **Budgets** (:meth:`charge`, :meth:`refund`, :meth:`spent`): exact totals in integer
  micro-units, in fixed windows (:class:`BudgetWindow`, worked out by the caller from a
  calendar), checked and added in one atomic step, so concurrent charges can never push
  a total over its limit. One total per key: a charge in a new window starts it afresh.
- **Records with a time to live** (:meth:`put_if_absent`, :meth:`get`, :meth:`put`,
  :meth:`delete`): idempotency records, halts, anything keyed and expiring.

Time comes from an injected clock (seconds, wall time) so tests move time instead of
sleeping; the Redis store reads Redis's own clock for rates, so the hosts' clocks do not
matter there. A store that cannot be reached raises ``schemas.errors.StateUnavailable``;
the caller decides whether to fail closed (writes) or open (configured reads).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

Clock = Callable[[], float]

MICRO = 1_000_000  # budgets are kept in millionths of a unit, as integers


def to_micro(amount: Decimal, *, up: bool = True) -> int:
    """``amount`` in integer millionths; finer fractions round up (a charge never
    undercounts) or down (a limit never grows)."""
    return int((amount * MICRO).to_integral_value(ROUND_CEILING if up else ROUND_FLOOR))


def from_micro(micro: int) -> Decimal:
    """Millionths back to a ``Decimal`` without trailing zeros (``500``, ``30.5``)."""
    value = Decimal(micro) / MICRO
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


@dataclass(frozen=True, slots=True)
class Rate:
    """``limit`` calls per ``window_s``: GCRA's emission interval and capacity in µs.

    The interval is rounded up to a whole microsecond, so the capacity (``limit`` times
    the interval) is at most ``limit - 1`` µs longer than the window: never more calls.
    """

    limit: int
    window_s: float

    @property
    def interval_us(self) -> int:
        return max(-(-round(self.window_s * MICRO) // self.limit), 1)

    @property
    def capacity_us(self) -> int:
        return self.interval_us * self.limit


@dataclass(frozen=True, slots=True)
class RateDecision:
    """What one rate check decided."""

    admitted: bool
    remaining: int  # further calls admitted if they came now
    retry_after_s: float  # 0 if admitted; else until one call is admitted
    reset_s: float  # until the whole quota is back


@dataclass(frozen=True, slots=True)
class BudgetWindow:
    """One fixed budget window: its id (the start, ISO 8601) and when it ends."""

    id: str
    ends_at: float  # seconds since the epoch


@dataclass(frozen=True, slots=True)
class BudgetHold:
    """An amount charged to a budget's window; hand it back with :meth:`StateStore.refund`."""

    key: str
    window: str
    amount: int  # micro-units


@dataclass(frozen=True, slots=True)
class BudgetCharge:
    """What a charge saw: the hold (None if refused) and the total before this charge."""

    hold: BudgetHold | None
    used: int  # micro-units in the window before this charge


class StateStore(Protocol):
    async def take(self, key: str, rate: Rate) -> RateDecision:
        """Admit one call under ``rate`` for ``key`` if it conforms, atomically."""

    async def take_all(self, quotas: Sequence[tuple[str, Rate]]) -> list[RateDecision]:
        """Admit one call under every ``(key, rate)``, in order, or under none, atomically
        and in one round trip (a call checks several limits): the decisions up to and
        including the first refusal, after which nothing has been taken."""

    async def give_back(self, key: str, rate: Rate) -> None:
        """Undo one admitted call: move the TAT back one interval, never before now."""

    async def headroom(self, key: str, rate: Rate) -> RateDecision:
        """What :meth:`take` would find now, changing nothing (for people watching: the
        console's agents page); see :func:`gateway.state.gcra.headroom`."""

    async def charge(
        self, key: str, window: BudgetWindow, amount: int, limit: int | None
    ) -> BudgetCharge:
        """Atomically add ``amount`` to the window's total if it stays within ``limit``
        (None: no limit, the charge is always taken)."""

    async def refund(self, hold: BudgetHold) -> None:
        """Take a charge back (the call it covered failed); a past window is left as is."""

    async def spent(self, key: str, window: BudgetWindow) -> int:
        """The total charged under ``key`` in ``window`` (micro-units)."""

    async def put_if_absent(self, key: str, value: bytes, ttl_s: float) -> bytes | None:
        """Store ``value`` unless a live record exists; return the existing value, or None
        if this call stored it."""

    async def get(self, key: str) -> bytes | None: ...

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The live records of ``keys``, in order, read at once (one round trip)."""

    async def put(self, key: str, value: bytes, ttl_s: float) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def close(self) -> None: ...
