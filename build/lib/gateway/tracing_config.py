"""The ``tracing:`` section of gateway.yaml (see gateway/tracing.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class TracingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    exporter: Literal["otlp", "console"] = "otlp"  # otlp reads OTEL_EXPORTER_OTLP_* variables
    service_name: str = "lastmile"
