"""Outermost stage: counts each call and splits its latency for the metrics.

It wraps ``Record``, so what it counts is exactly what the audit trail holds.
"""

from __future__ import annotations

from gateway.metrics import Metrics
from gateway.pipeline import Invocation, Proceed


class Measure:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        await proceed(inv)
        op = inv.operation
        name = op.name if op is not None else "unknown"  # unbounded names stay out of labels
        agent = inv.agent.id if inv.agent is not None else "anonymous"
        outcome = inv.error.code if inv.error is not None else "ok"
        self._metrics.calls.labels(name, agent, outcome).inc()
        if outcome == "rate_limited":
            self._metrics.rate_limited.labels(agent).inc()
        self._metrics.gateway_latency.labels(name).observe(inv.gateway_ms / 1000)
        if op is not None and inv.backend_ms is not None:
            self._metrics.backend_latency.labels(op.backend).observe(inv.backend_ms / 1000)
