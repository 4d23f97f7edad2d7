"""The ``resilience:`` section of ``gateway.yaml``.

Read declaratively, in the spirit of tenacity's strategy objects: per backend a bulkhead,
a circuit breaker, a retry policy and a capacity limit; per agent and per agent and
operation a rate limit; per operation overrides, a read cache and coalescing; and how
idempotency keys are kept. Every field has a sane default, so an empty section protects
each backend with bounded concurrency, a breaker and a few retries.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from gateway.config.primitives import Section


class RateLimitConfig(Section):
    """``limit`` calls per ``window_s`` seconds, kept as GCRA (see gateway/state/gcra.py)."""

    limit: int = Field(ge=1, le=1_000_000)
    window_s: float = Field(gt=0, le=86_400)


class BulkheadConfig(Section):
    """At most ``max_concurrent`` calls in flight to the backend; ``max_queue`` more wait
    up to ``queue_timeout_s``; anything beyond is shed at once with 503 backend_busy."""

    max_concurrent: int = Field(default=32, ge=1, le=10_000)
    max_queue: int = Field(default=64, ge=0, le=100_000)
    queue_timeout_s: float = Field(default=2.0, gt=0, le=600)


class BreakerConfig(Section):
    """Open after ``failure_threshold`` consecutive failures; after ``recovery_s`` let
    ``half_open_calls`` probe calls through; a probe's success closes it again."""

    failure_threshold: int = Field(default=5, ge=1, le=10_000)
    recovery_s: float = Field(default=30.0, gt=0, le=86_400)
    half_open_calls: int = Field(default=1, ge=1, le=1_000)


class RetryConfig(Section):
    """Exponential backoff with full jitter, bounded by attempts and a total deadline."""

    attempts: int = Field(default=3, ge=1, le=20)
    backoff_s: float = Field(default=0.1, ge=0, le=60, description="first backoff window")
    max_backoff_s: float = Field(default=2.0, ge=0, le=600)
    deadline_s: float = Field(default=20.0, gt=0, le=3_600, description="for all attempts")


class BackendResilienceConfig(Section):
    bulkhead: BulkheadConfig | None = None
    breaker: BreakerConfig | None = None
    retry: RetryConfig | None = None
    rate_limit: RateLimitConfig | None = Field(
        default=None, description="the legacy system's capacity, over all agents"
    )


class DefaultsConfig(Section):
    bulkhead: BulkheadConfig = BulkheadConfig()
    breaker: BreakerConfig = BreakerConfig()
    retry: RetryConfig = RetryConfig()


class OperationResilienceConfig(Section):
    retry: RetryConfig | None = None
    rate_limit: RateLimitConfig | None = Field(
        default=None, description="per agent for this operation (overrides agent_operation)"
    )
    cache_ttl_s: float = Field(default=0, ge=0, le=86_400, description="reads only; 0: off")
    coalesce: bool = Field(default=False, description="reads only: one backend call for N")
    require_idempotency_key: bool | None = None


class RateLimitsConfig(Section):
    agent: RateLimitConfig | None = None
    agent_operation: RateLimitConfig | None = None
    agents: dict[str, RateLimitConfig] = Field(
        default={}, description="per-agent overrides of `agent`, by agent id"
    )


IdempotencyKeyPattern = r"^[\x21-\x7e]{1,255}$"


class IdempotencyConfig(Section):
    retention_s: float = Field(default=86_400, gt=0, le=30 * 86_400)
    in_flight_s: float = Field(
        default=300, gt=0, le=86_400, description="how long a crashed call blocks its key"
    )
    require_for_writes: bool = False


class ResilienceConfig(Section):
    defaults: DefaultsConfig = DefaultsConfig()
    backends: dict[str, BackendResilienceConfig] = Field(default_factory=dict)
    operations: dict[str, OperationResilienceConfig] = Field(default_factory=dict)
    rate_limits: RateLimitsConfig = RateLimitsConfig()
    idempotency: IdempotencyConfig = IdempotencyConfig()
    read_cache_entries: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000

    @model_validator(mode="after")
    def _consistent_retries(self) -> ResilienceConfig:
        retries = [self.defaults.retry]
        retries += [b.retry for b in self.backends.values() if b.retry]
        retries += [o.retry for o in self.operations.values() if o.retry]
        for retry in retries:
            if retry.max_backoff_s < retry.backoff_s:
                raise ValueError("retry.max_backoff_s must be at least retry.backoff_s")
            if retry.deadline_s >= self.idempotency.in_flight_s:
                raise ValueError(
                    f"idempotency.in_flight_s ({self.idempotency.in_flight_s:g}) must exceed "
                    f"every retry.deadline_s ({retry.deadline_s:g}): a key must stay claimed "
                    "while its call can still run"
                )
        return self
