"""Trace context for backend calls, when OpenTelemetry is installed and a span is active."""

from __future__ import annotations

import importlib.util

_OTEL = importlib.util.find_spec("opentelemetry") is not None  # the otel extra is optional


def trace_headers() -> dict[str, str]:
    """``traceparent`` (and friends) for the current span, or nothing."""
    carrier: dict[str, str] = {}
    if _OTEL:
        from opentelemetry.propagate import inject

        inject(carrier)
    return carrier
