"""Resilience that protects the systems of record: rate limits, idempotency, bulkheads,
circuit breakers, retries, read cache and coalescing (see docs/resilience.md).

Import from the modules themselves (``gateway.resilience.guard`` ...): ``gateway.config``
imports ``gateway.config.resilience``, so this package must not import the runtime.
"""
