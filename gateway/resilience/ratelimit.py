"""Rate limits per agent, per agent and operation, and per backend, on the state store.

Each limit is "N calls per W seconds" as GCRA (``gateway/state/gcra.py``): one number
per key, checked and moved in one atomic step of the store (memory, SQLite, or one Lua
script in Redis on Redis's clock), so the cost of a check does not grow with N, W or
the call rate. A refusal knows exactly when the next call conforms, so ``Retry-After``
is honest: a retry at that time is admitted. Precision: at most N at once, the rate N/W
over time, and at most 2N - 1 in any single window of W (see docs/resilience.md).

Why not the ``limits`` library: its storages and clock are its own, so the state could
not sit behind the store the guardrails share, nor could tests move its time. Why GCRA
rather than a sliding log: a log costs one entry per call in the window, which made a
check in Redis scan thousands of entries for an hourly limit.

Answers carry the IETF ``RateLimit-Policy`` and ``RateLimit`` fields
(draft-ietf-httpapi-ratelimit-headers): every policy that applied, and the remaining
quota (``r``) and seconds to wait (``t``) of the tightest one.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config.resilience import RateLimitConfig
from gateway.state.store import Rate, StateStore
from schemas.errors import retry_after_seconds


@dataclass(frozen=True, slots=True)
class Quota:
    """One limit that applies to a call: its policy name, store key and numbers."""

    policy: str  # agent | agent-operation | backend
    key: str
    limit: RateLimitConfig

    @property
    def rate(self) -> Rate:
        return Rate(self.limit.limit, self.limit.window_s)


@dataclass(frozen=True, slots=True)
class QuotaState:
    quota: Quota
    remaining: int
    reset_s: float


@dataclass(frozen=True, slots=True)
class Admission:
    """What the limiter decided: the quotas it took a call from, or the quota that refused."""

    held: tuple[Quota, ...]
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
        """Take one call from every quota, or none, in one atomic step of the store (one
        round trip to Redis however many limits apply)."""
        decisions = await self._store.take_all([(q.key, q.rate) for q in quotas])
        states: list[QuotaState] = []
        for quota, decision in zip(quotas, decisions, strict=False):
            if not decision.admitted:
                refused = QuotaState(quota, 0, decision.retry_after_s)
                return Admission((), (*states, refused), refused)
            states.append(QuotaState(quota, decision.remaining, decision.reset_s))
        return Admission(tuple(quotas), tuple(states), None)

    async def release(self, held: list[Quota] | tuple[Quota, ...]) -> None:
        """Hand back one call per quota (a later stage refused it with 401 or 403)."""
        for quota in held:
            await self._store.give_back(quota.key, quota.rate)
