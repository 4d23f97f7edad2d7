"""Optional OpenTelemetry traces: one span per pipeline stage, context passed to backends.

Tracing is an extra (``pip install lastmile-gateway[otel]``) and off by default. When
``tracing.enabled`` is set, each stage is wrapped once, at start-up, in a span-opening
shell; when it is not, the pipeline is exactly the untraced one, so tracing costs
nothing unless used. Spans nest the way the stages do, so each stage's span holds the
time of everything inside it, and the outermost carries the call's identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gateway.config.observability import TracingConfig
from gateway.outcomes import code_of
from gateway.pipeline import Call, Path, Proceed, Stage, StageOutcome

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer


class TracedStage:
    """A stage inside a span named after it."""

    def __init__(self, stage: Stage, tracer: Tracer, outermost: bool) -> None:
        self._stage = stage
        self._tracer = tracer
        self._name = f"lastmile.{type(stage).__name__}"
        self._outermost = outermost
        self.skip_on: frozenset[Path] = getattr(
            stage, "skip_on", frozenset()
        )  # the same paths as the stage

    @property
    def stage(self) -> Stage:
        """The stage inside the span (stage counters name the stage, not the span)."""
        return self._stage

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        parent = None
        trace_headers = call.request.trace_headers
        if self._outermost and trace_headers:
            from opentelemetry.propagate import extract

            parent = extract(dict(trace_headers))  # continue the agent's own trace
        with self._tracer.start_as_current_span(self._name, context=parent) as span:
            outcome = await self._stage(call, proceed)
            if self._outermost:
                code = code_of(outcome)
                span.set_attribute("lastmile.request_id", call.request_id)
                span.set_attribute("lastmile.operation", call.request.operation_name)
                span.set_attribute("lastmile.agent", call.agent.id if call.agent else "")
                span.set_attribute("lastmile.path", call.request.path.value)
                span.set_attribute("lastmile.outcome", code)
            return outcome


def traced(stages: Sequence[Stage], tracer: Tracer) -> tuple[Stage, ...]:
    return tuple(TracedStage(stage, tracer, index == 0) for index, stage in enumerate(stages))


def build_tracer(config: TracingConfig) -> Tracer:
    """A tracer exporting spans in batches, from the optional OpenTelemetry SDK."""
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SpanExporter,
        )
    except ImportError as exc:
        raise RuntimeError(
            "tracing.enabled needs the OpenTelemetry extra: pip install 'lastmile-gateway[otel]'"
        ) from exc
    exporter: SpanExporter
    if config.exporter == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": config.service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider.get_tracer("lastmile")
