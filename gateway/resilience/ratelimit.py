"""Rate limits per agent, per agent and operation, and per backend, on the state store.

Each limit is "at most N calls in any W seconds", kept as a sliding window with the
store's atomic ``reserve``: concurrent calls can never push a window past its limit,
the state lives wherever the store does (memory, SQLite, Redis), and time comes from
the store's injected clock. A refusal knows exactly when the oldest call leaves the
window, so ``Retry-After`` is honest: a retry at that time is admitted.

Why not the ``limits`` library: its storages and clock are its own, so the state could
not sit behind the store the guardrails share, nor could tests move its time. Why a
sliding window rather than GCRA: the store's one atomic primitive is ``reserve`` over a
window, and a sliding window admits no burst beyond N in any W seconds, which is what a
legacy system's capacity means.

Answers carry the IETF ``RateLimit-Policy`` and ``RateLimit`` fields
(draft-ietf-httpapi-ratelimit-headers): every policy that applied, and the remaining
quota (``r``) and seconds to wait (``t``) of the tightest one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gateway.config.resilience import RateLimitConfig
from gateway.state.store import Reservation, StateStore
from schemas.errors import retry_after_seconds

ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Quota:
    """One limit that applies to a call: its policy name, store key and numbers."""

    policy: str  # agent | agent-operation | backend
    key: str
    limit: RateLimitConfig


@dataclass(frozen=True, slots=True)
class QuotaState:
    quota: Quota
    remaining: int
    reset_s: float


@dataclass(frozen=True, slots=True)
class Admission:
    """What the limiter decided: the reservations it holds, or the quota that refused."""

    held: tuple[Reservation, ...]
    states: tuple[QuotaState, ...]
    refused: QuotaState | None

    def headers(self) -> dict[str, str]:
        if not self.states:
            return {}
        # one rounding for every number of seconds: up to whole seconds, at least 1
        seconds = retry_after_seconds
        policies = ", ".join(
            f'"{s.quota.policy}";q={s.quota.limit.limit};w={seconds(s.quota.limit.window_s)}'
            for s in self.states
        )
        tightest = self.refused or min(self.states, key=lambda s: (s.remaining, -s.reset_s))
        headers = {
            "RateLimit-Policy": policies,
            "RateLimit": f'"{tightest.quota.policy}";r={tightest.remaining};'
            f"t={seconds(tightest.reset_s)}",
        }
        if self.refused is not None:
            headers["Retry-After"] = str(seconds(self.refused.reset_s))
        return headers


class RateLimiter:
    def __init__(self, store: StateStore) -> None:
        self._store = store

    async def admit(self, quotas: list[Quota]) -> Admission:
        """Reserve one call under every quota, or none: a refusal gives back what it took."""
        held: list[Reservation] = []
        states: list[QuotaState] = []
        for quota in quotas:
            limit = Decimal(quota.limit.limit)
            try:
                reservation, usage = await self._store.reserve(
                    quota.key, ONE, limit, quota.limit.window_s
                )
            except BaseException:
                await self.release(held)
                raise
            if reservation is None:
                await self.release(held)
                refused = QuotaState(quota, 0, usage.retry_after_s)
                return Admission((), (*states, refused), refused)
            held.append(reservation)
            states.append(QuotaState(quota, int(limit - usage.used), quota.limit.window_s))
        return Admission(tuple(held), tuple(states), None)

    async def release(self, held: list[Reservation] | tuple[Reservation, ...]) -> None:
        for reservation in held:
            await self._store.release(reservation)
