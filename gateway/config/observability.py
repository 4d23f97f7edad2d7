"""The ``logging:`` and ``tracing:`` sections (see gateway/logs.py, gateway/tracing.py)."""

from __future__ import annotations

from typing import Literal

from gateway.config.primitives import Section


class LoggingConfig(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"


class TracingConfig(Section):
    enabled: bool = False
    exporter: Literal["otlp", "console"] = "otlp"  # otlp reads OTEL_EXPORTER_OTLP_* variables
    service_name: str = "lastmile"
    stage_cpu: bool = False  # count each stage's own CPU time (gateway/stage_cpu.py; benches)
