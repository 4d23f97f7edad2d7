"""Rate limits: per agent, per agent and operation, and the backend's capacity.

This stage runs after ``Identify`` and ``CheckScope``: a caller rejected with 401 or 403
never reaches it, so it can never spend an agent's quota (or a backend's) on someone
else's behalf. Every answer carries the ``RateLimit`` headers of the limits that applied.
"""

from __future__ import annotations

import structlog

from gateway.pipeline import Invocation, Proceed
from gateway.resilience.config import ResilienceConfig
from gateway.resilience.ratelimit import Quota, RateLimiter
from schemas.common import Effect
from schemas.errors import RateLimited, StateUnavailable

log = structlog.get_logger("lastmile.limits")

_WHO = {
    "agent": "Agent {agent} has made",
    "agent-operation": "Agent {agent} has called {operation}",
    "backend": "The {backend} system has been sent",
}


class Limit:
    def __init__(
        self, limiter: RateLimiter, config: ResilienceConfig, reads_fail_open: bool
    ) -> None:
        self._limiter = limiter
        self._config = config
        self._reads_fail_open = reads_fail_open

    def quotas(self, inv: Invocation) -> list[Quota]:
        assert inv.agent is not None  # noqa: S101 - stage order
        assert inv.operation is not None  # noqa: S101
        agent, op = inv.agent.id, inv.operation
        limits = self._config.rate_limits
        quotas: list[Quota] = []
        per_agent = limits.agents.get(agent, limits.agent)
        if per_agent is not None:
            quotas.append(Quota("agent", f"rl:agent:{agent}", per_agent))
        op_config = self._config.operations.get(op.name)
        per_op = (op_config.rate_limit if op_config else None) or limits.agent_operation
        if per_op is not None:
            quotas.append(Quota("agent-operation", f"rl:agent-op:{agent}:{op.name}", per_op))
        backend = self._config.backends.get(op.backend)
        if backend is not None and backend.rate_limit is not None:
            quotas.append(Quota("backend", f"rl:backend:{op.backend}", backend.rate_limit))
        return quotas

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        quotas = self.quotas(inv)
        if not quotas:
            await proceed(inv)
            return
        assert inv.operation is not None  # noqa: S101 - set by quotas()
        try:
            admission = await self._limiter.admit(quotas)
        except StateUnavailable:
            if not (self._reads_fail_open and inv.operation.effect is Effect.READ):
                raise
            log.warning("rate_limits_skipped", request_id=inv.request_id, reason="state store")
            inv.reasons.append("rate limits not checked: the state store is unavailable")
            await proceed(inv)
            return
        headers = admission.headers()
        inv.response_headers.update(headers)
        refused = admission.refused
        if refused is not None:
            limit = refused.quota.limit
            who = _WHO[refused.quota.policy].format(
                agent=repr(inv.agent.id if inv.agent else ""),
                operation=repr(inv.operation.name),
                backend=inv.operation.backend,
            )
            raise RateLimited(
                f"{who} {limit.limit} call(s) within {limit.window_s:g} s, the most allowed. "
                f"Retry after {headers['Retry-After']} s (the Retry-After header); calling "
                "sooner is refused again.",
                headers=headers,
            )
        await proceed(inv)
