"""Prometheus metrics, one registry per application (no process-global state).

What operators ask first: how many calls, by whom, how they ended, and where the time
went (the gateway's own share versus the backend's). Other parts of the gateway add
gauges for their state (breakers, bulkheads, approvals) through :meth:`Metrics.gauge`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Sub-millisecond resolution for the gateway's share, seconds for slow legacy backends.
_GATEWAY_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
_BACKEND_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._refreshers: list[Callable[[], Awaitable[None]]] = []
        self.calls = Counter(
            "lastmile_calls",
            "Operation invocations by operation, agent and outcome (ok or the problem code).",
            ("operation", "agent", "outcome"),
            registry=self.registry,
        )
        self.gateway_latency = Histogram(
            "lastmile_gateway_latency_seconds",
            "Time spent in the gateway itself per call (total less the backend's share).",
            ("operation",),
            buckets=_GATEWAY_BUCKETS,
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "lastmile_rate_limit_rejections",
            "Calls refused by a rate limit, by agent.",
            ("agent",),
            registry=self.registry,
        )
        self.backend_latency = Histogram(
            "lastmile_backend_latency_seconds",
            "Time spent waiting for the system of record per call.",
            ("backend",),
            buckets=_BACKEND_BUCKETS,
            registry=self.registry,
        )

    def refreshed_gauge(
        self, name: str, documentation: str, read: Callable[[], Awaitable[float]]
    ) -> None:
        """A gauge whose value needs I/O: read (off the hot path) just before each scrape."""
        gauge = Gauge(name, documentation, registry=self.registry)

        async def refresh() -> None:
            gauge.set(await read())

        self._refreshers.append(refresh)

    async def refresh(self) -> None:
        for refresh in self._refreshers:
            await refresh()

    def gauge(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge whose value is read at scrape time (no bookkeeping on the hot path)."""
        Gauge(name, documentation, registry=self.registry).set_function(read)

    def gauges(
        self, name: str, documentation: str, label: str, reads: Mapping[str, Callable[[], float]]
    ) -> None:
        """One labelled gauge, each label's value read at scrape time."""
        gauge = Gauge(name, documentation, (label,), registry=self.registry)
        for value, read in reads.items():
            gauge.labels(value).set_function(read)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
