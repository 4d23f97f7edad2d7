"""Outermost stage: counts each call and splits its latency for the metrics.

It wraps ``Record``, so what it counts is exactly what the audit trail holds, on every
path (approved calls included).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

from gateway.metrics import Metrics
from gateway.outcomes import code_of
from gateway.pipeline import Call, Proceed, StageOutcome


class Measure:
    """Counts with the label children looked up once per label set: prometheus_client's
    ``labels()`` validates and hashes its arguments on every call, and this runs on every
    call of every agent. The label values are operation names, agent ids and problem
    codes: bounded by the configuration."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._children: dict[tuple[object, ...], Any] = {}

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        outcome = await proceed(call)
        op = call.operation
        name = op.name if op is not None else "unknown"  # unbounded names stay out of labels
        agent = call.agent.id if call.agent is not None else "anonymous"
        code = code_of(outcome)
        metrics = self._metrics
        self._child(metrics.calls, name, agent, code).inc()
        if code == "rate_limited":
            self._child(metrics.rate_limited, agent).inc()
        self._child(metrics.gateway_latency, name).observe(call.gateway_ms / 1000)
        if op is not None and call.backend_ms is not None:
            self._child(metrics.backend_latency, op.backend).observe(call.backend_ms / 1000)
        return outcome
