"""Trace context for backend calls, when OpenTelemetry is installed and a span is active."""

from __future__ import annotations

import importlib.util

_OTEL = importlib.util.find_spec("opentelemetry") is not None  # the otel extra is optional


def trace_headers() -> dict[str, str]:
    """``traceparent`` (and friends) for the current span, or nothing.

    Without a valid current span there is nothing to propagate (the gateway takes only
    ``traceparent`` and ``tracestate`` from agents, never baggage), so the propagators,
    which cost more than the rest of sending the request's headers, run only under a span.
    """
    carrier: dict[str, str] = {}
    if _OTEL:
        from opentelemetry import trace
        from opentelemetry.propagate import inject

        if trace.get_current_span().get_span_context().is_valid:
            inject(carrier)
    return carrier
