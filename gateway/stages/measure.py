"""Outermost stage: counts each call and splits its latency for the metrics.

It wraps ``Record``, so what it counts is exactly what the audit trail holds, on every
path (approved calls included).
"""

from __future__ import annotations

from gateway.metrics import Metrics
from gateway.outcomes import code_of
from gateway.pipeline import Call, Proceed, StageOutcome


class Measure:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        outcome = await proceed(call)
        op = call.operation
        name = op.name if op is not None else "unknown"  # unbounded names stay out of labels
        agent = call.agent.id if call.agent is not None else "anonymous"
        code = code_of(outcome)
        self._metrics.calls.labels(name, agent, code).inc()
        if code == "rate_limited":
            self._metrics.rate_limited.labels(agent).inc()
        self._metrics.gateway_latency.labels(name).observe(call.gateway_ms / 1000)
        if op is not None and call.backend_ms is not None:
            self._metrics.backend_latency.labels(op.backend).observe(call.backend_ms / 1000)
        return outcome
