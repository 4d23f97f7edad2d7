"""Outermost stage: counts each call and splits its latency for the metrics.

It wraps ``Record``, so what it counts is exactly what the audit trail holds, on every
path (approved calls included).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from gateway.metrics import Metrics
from gateway.outcomes import code_of
from gateway.pipeline import Call, Proceed, StageOutcome


class Measure:
    """Counts with the label children looked up once per label set: prometheus_client's
    ``labels()`` validates and hashes its arguments on every call, and this runs on every
    call of every agent."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._calls: dict[tuple[str, str, str], Counter] = {}
        self._latency: dict[str, Histogram] = {}
        self._backend: dict[str, Histogram] = {}

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        outcome = await proceed(call)
        op = call.operation
        name = op.name if op is not None else "unknown"  # unbounded names stay out of labels
        agent = call.agent.id if call.agent is not None else "anonymous"
        code = code_of(outcome)
        metrics = self._metrics
        key = (name, agent, code)
        counter = self._calls.get(key)
        if counter is None:
            counter = self._calls[key] = metrics.calls.labels(name, agent, code)
        counter.inc()
        if code == "rate_limited":
            metrics.rate_limited.labels(agent).inc()
        latency = self._latency.get(name)
        if latency is None:
            latency = self._latency[name] = metrics.gateway_latency.labels(name)
        latency.observe(call.gateway_ms / 1000)
        if op is not None and call.backend_ms is not None:
            backend = self._backend.get(op.backend)
            if backend is None:
                backend = self._backend[op.backend] = metrics.backend_latency.labels(op.backend)
            backend.observe(call.backend_ms / 1000)
        return outcome
