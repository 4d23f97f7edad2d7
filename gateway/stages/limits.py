"""Rate limits: per agent, per agent and operation, and the backend's capacity.

This stage runs after ``Identify`` and ``CheckScope``: a caller rejected with 401 or 403
there never reaches it. It runs before the body is parsed (a flood is refused cheaply),
so it cannot know yet what the policies will say: when a later stage refuses the call
with 401 or 403 (a Cedar deny), the call is handed back (GCRA: its TAT moves back one
interval, never before now), and the quota is as it was. Every answer carries the
``RateLimit`` headers of the limits that applied.
"""

from __future__ import annotations

import structlog

from gateway.outcomes import Refused
from gateway.pipeline import Call, Proceed, StageOutcome
from gateway.resilience.ratelimit import Quota, RateLimiter
from schemas.common import Effect
from schemas.errors import RateLimited, StateUnavailable

log = structlog.get_logger("lastmile.limits")

_NOT_SPENT = frozenset({401, 403})  # refusals that never spend anybody's quota

_WHO = {
    "agent": "Agent {agent} has made",
    "agent-operation": "Agent {agent} has called {operation}",
    "backend": "The {backend} system has been sent",
}


class Limit:
    """The limits are those of the configuration pinned on the call (a reload may
    change ``resilience.rate_limits``; per-backend and per-operation limits are fixed)."""

    def __init__(self, limiter: RateLimiter, reads_fail_open: bool) -> None:
        self._limiter = limiter
        self._reads_fail_open = reads_fail_open

    def quotas(self, call: Call) -> list[Quota]:
        assert call.agent is not None  # noqa: S101 - stage order
        assert call.operation is not None  # noqa: S101
        agent, op = call.agent.id, call.operation
        config = call.in_force.resilience
        limits = config.rate_limits
        quotas: list[Quota] = []
        per_agent = limits.agents.get(agent, limits.agent)
        if per_agent is not None:
            quotas.append(Quota("agent", f"rl:agent:{agent}", per_agent))
        op_config = config.operations.get(op.name)
        per_op = (op_config.rate_limit if op_config else None) or limits.agent_operation
        if per_op is not None:
            quotas.append(Quota("agent-operation", f"rl:agent-op:{agent}:{op.name}", per_op))
        backend = config.backends.get(op.backend)
        if backend is not None and backend.rate_limit is not None:
            quotas.append(Quota("backend", f"rl:backend:{op.backend}", backend.rate_limit))
        return quotas

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        quotas = self.quotas(call)
        if not quotas:
            return await proceed(call)
        assert call.operation is not None  # noqa: S101 - set by quotas()
        try:
            admission = await self._limiter.admit(quotas)
        except StateUnavailable:
            if not (self._reads_fail_open and call.operation.effect is Effect.READ):
                raise
            log.warning("rate_limits_skipped", request_id=call.request_id, reason="state store")
            call.reasons.append("rate limits not checked: the state store is unavailable")
            return await proceed(call)
        headers = admission.headers()
        call.response_headers.update(headers)
        refused = admission.refused
        if refused is not None:
            limit = refused.quota.limit
            who = _WHO[refused.quota.policy].format(
                agent=repr(call.agent.id if call.agent else ""),
                operation=repr(call.operation.name),
                backend=call.operation.backend,
            )
            raise RateLimited(
                f"{who} {limit.limit} call(s) within {limit.window_s:g} s, the most allowed. "
                f"Retry after {headers['Retry-After']} s (the Retry-After header); calling "
                "sooner is refused again.",
                headers=headers,
            )
        outcome = await proceed(call)
        if isinstance(outcome, Refused) and outcome.error.status in _NOT_SPENT:
            await self._give_back(call, admission.held)
        return outcome

    async def _give_back(self, call: Call, held: tuple[Quota, ...]) -> None:
        try:
            await self._limiter.release(held)
        except StateUnavailable:
            log.error("rate_limit_not_handed_back", request_id=call.request_id)
        call.response_headers.pop("RateLimit", None)  # the numbers shown were before it
