"""Builds the aiohttp application from a :class:`~gateway.config.Config`.

Everything a request needs hangs off the application (``AppKey``s): the registry,
the agent directory, the composed pipeline, the guardrails. Adapters, the audit store
and the approval store are opened in a cleanup context, so start-up fails loudly and
shut-down closes what was opened. A bad policy file fails :func:`build_app` itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import TYPE_CHECKING

from aiohttp import web

from gateway.access_tokens import AccessTokenVerifier
from gateway.api.admin import add_admin_routes
from gateway.api.approvals import add_approval_routes
from gateway.api.audit import add_audit_routes
from gateway.api.mcp.http import add_mcp_routes
from gateway.api.middleware import MAX_BODY_BYTES, gateway_middleware
from gateway.api.openapi import add_openapi_route
from gateway.api.protected_resource import add_protected_resource_routes
from gateway.api.rest import add_routes
from gateway.api.shedding import IN_FLIGHT, InFlight, shed_load
from gateway.appkeys import (
    AUDIT_STORE,
    CONFIG,
    CONFIG_BOARD,
    FLEET,
    GUARDRAILS,
    IN_FORCE,
    METRICS,
    PIPELINE,
    POSTGRES,
    REGISTRY,
    RESILIENCE,
    STATE_STORE,
)
from gateway.audit.factory import build_audit_store
from gateway.audit.retention import retention_context
from gateway.audit.store import AuditStore
from gateway.config import Config
from gateway.console.mount import add_console
from gateway.fleet.registry import ProcessRegistry
from gateway.guardrails.halts_postgres import PostgresHaltBoard
from gateway.guardrails.runtime import Guardrails, build_guardrails
from gateway.guardrails.safety import register_secrets, secret_values
from gateway.metrics import Metrics
from gateway.pipeline import Pipeline, Stage
from gateway.postgres import Postgres
from gateway.registry import Registry, build_registry
from gateway.reload.board import ConfigBoard, LocalConfigBoard
from gateway.reload.board_postgres import PostgresConfigBoard
from gateway.reload.in_force import ConfigCompiler, ConfigInForce
from gateway.resilience.breaker import CircuitBreaker
from gateway.resilience.guard import Resilience
from gateway.resilience.ratelimit import RateLimiter
from gateway.resilience.timing import Timing
from gateway.stage_cpu import counted
from gateway.tracing import build_tracer, traced

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

from gateway.stages import (
    CallBackend,
    CheckHalt,
    CheckScope,
    Decide,
    EnforceBudgets,
    Hold,
    Idempotency,
    Identify,
    Limit,
    Measure,
    Preview,
    Record,
    Redact,
    Resolve,
    ValidateInput,
    ValidateOutput,
)
from gateway.state import Clock
from gateway.state.factory import build_state_store, open_state_store
from gateway.state.store import StateStore


def standard_stages(
    registry: Registry,
    store: AuditStore,
    guards: Guardrails,
    metrics: Metrics,
    state: StateStore,
    resilience: Resilience,
    config: Config,
) -> tuple[Stage, ...]:
    """The order of the call path, in one place (see ARCHITECTURE.md), outermost first.

    ``Limit`` comes after identity and scope (a 401/403 never spends anyone's quota) and
    before the body is parsed; ``Idempotency`` needs the validated input to tell one
    payload from another and wraps everything that reaches the backend. Outcomes travel
    outwards, so the stages that shape the answer wrap the backend call: ``Redact``
    around ``ValidateOutput`` around ``CallBackend``, which is innermost. Calls a person
    approved take the same list; the stages that do not apply to them say so
    (``skip_on``), and the rest read the path from the request. Agents, policies,
    budgets and rate limits are not built into the stages: they read the configuration
    the pipeline pins on each call, which a reload replaces.
    """
    fail_open = config.state.reads_fail_open
    return (
        Measure(metrics),
        Record(store, guards.redactor),
        Identify(),
        CheckHalt(guards.halts, registry),
        Resolve(registry),
        CheckScope(),
        Limit(RateLimiter(state), fail_open),
        ValidateInput(),
        Idempotency(state, config.resilience),
        Decide(),
        EnforceBudgets(guards.state),
        Hold(guards.desk),
        Preview(registry),
        Redact(guards.redactor),
        ValidateOutput(),
        CallBackend(registry, resilience, guards.halts),
    )


def build_app(
    config: Config,
    registry: Registry | None = None,
    *,
    timing: Timing | None = None,
    clock: Clock | None = None,
    state: StateStore | None = None,
    tracer: Tracer | None = None,
    config_text: str | None = None,
) -> web.Application:
    """Test seams: ``timing`` (or just its ``clock``) drives limits, breakers, retries,
    budget windows and approval expiry, so tests move time instead of sleeping; ``state``
    replaces the configured state store; ``tracer`` overrides ``tracing:``.
    ``config_text``: the YAML ``config`` was read from (what a fleet's reload without a
    new file publishes again)."""
    register_secrets(secret_values(config))
    registry = registry or build_registry(config)
    timing = timing or (Timing(clock=clock) if clock is not None else Timing())
    tokens = AccessTokenVerifier(config.oidc, clock=timing.clock) if config.oidc else None
    compiler = ConfigCompiler(registry, tokens, timing.clock)
    in_force = ConfigInForce(compiler.compile(config, 0, config_text))
    postgres = Postgres(config.postgres) if config.postgres is not None else None
    resilience = Resilience(config, timing)
    fleet = (
        ProcessRegistry(postgres, config.fleet, resilience.report) if postgres is not None else None
    )
    store = build_audit_store(config.audit, postgres, writer=fleet.name if fleet else None)
    state = state or build_state_store(config.state, timing.clock)
    halts = (
        PostgresHaltBoard(postgres, fleet, config.guardrails.halts)
        if postgres is not None
        and fleet is not None
        and config.guardrails.halts.store == "postgres"
        else None
    )
    guards = build_guardrails(
        config,
        registry,
        lambda: in_force.current.agents,
        state,
        timing.clock,
        postgres,
        halts=halts,
    )
    board: ConfigBoard = (
        PostgresConfigBoard(postgres, fleet, in_force, compiler, config.fleet)
        if postgres is not None and fleet is not None
        else LocalConfigBoard(in_force, compiler)
    )
    app = web.Application(
        middlewares=[gateway_middleware, shed_load], client_max_size=config.server.max_body_bytes
    )
    app[IN_FLIGHT] = in_flight = InFlight(config.server.max_in_flight)
    app[MAX_BODY_BYTES] = config.server.max_body_bytes
    app[CONFIG] = config
    if postgres is not None and fleet is not None:
        app[POSTGRES] = postgres
        app[FLEET] = fleet
        app.cleanup_ctx.append(_postgres_lifecycle)  # first: the stores use the pool
    app[REGISTRY] = registry
    app[IN_FORCE] = in_force
    app[CONFIG_BOARD] = board
    app[AUDIT_STORE] = store
    app[GUARDRAILS] = guards
    app[STATE_STORE] = state
    app[RESILIENCE] = resilience
    app[METRICS] = metrics = Metrics()
    metrics.gauge(
        "lastmile_in_flight_calls", "Operation calls being served.", lambda: in_flight.count
    )
    metrics.gauge(
        "lastmile_shed_calls", "Calls refused as overloaded since start.", lambda: in_flight.shed
    )
    _state_gauges(metrics, resilience, guards, store)
    stages = standard_stages(registry, store, guards, metrics, state, resilience, config)
    if tracer is None and config.tracing.enabled:
        tracer = build_tracer(config.tracing)
    traced_stages = traced(stages, tracer) if tracer is not None else stages
    if config.tracing.stage_cpu:  # outermost, so it counts a span's cost to its stage
        traced_stages = counted(traced_stages, metrics)
    app[PIPELINE] = pipeline = Pipeline(traced_stages, in_force)
    guards.desk.executor = pipeline
    app.cleanup_ctx.append(_state_lifecycle)  # first in, last out: others use the state
    app.cleanup_ctx.append(_lifecycle)
    app.cleanup_ctx.append(retention_context(store, config.audit.retention))
    if tokens is not None:
        app.cleanup_ctx.append(partial(_close_provider_keys, tokens))
    add_routes(app)
    add_approval_routes(app)
    add_admin_routes(app)
    add_audit_routes(app)
    shared = state if config.state.store != "memory" else None  # several processes: shared
    add_mcp_routes(app, config.mcp, config.server.public_url, shared)
    add_openapi_route(app, registry)
    add_protected_resource_routes(app, config.oidc, config.server.public_url)
    add_console(app)
    return app


async def _close_provider_keys(
    tokens: AccessTokenVerifier, app: web.Application
) -> AsyncIterator[None]:
    """The identity provider's HTTP session lives as long as the application."""
    yield
    await tokens.keys.close()


_CIRCUIT_VALUE = {"closed": 0.0, "half_open": 1.0, "open": 2.0}


def _state_gauges(
    metrics: Metrics, resilience: Resilience, guards: Guardrails, store: AuditStore
) -> None:
    """What operators watch besides call counts, read at scrape time."""
    circuit: dict[str, Callable[[], float]] = {}
    queued: dict[str, Callable[[], float]] = {}
    in_flight: dict[str, Callable[[], float]] = {}
    for name, breaker in resilience.breakers.items():
        circuit[name] = partial(_circuit_value, breaker)
    for name, bulkhead in resilience.bulkheads.items():
        queued[name] = partial(getattr, bulkhead, "waiting")
        in_flight[name] = partial(getattr, bulkhead, "in_flight")
    metrics.gauges(
        "lastmile_breaker_state",
        "Circuit breaker per backend: 0 closed, 1 half-open, 2 open.",
        "backend",
        circuit,
    )
    metrics.gauges("lastmile_bulkhead_queue_depth", "Calls waiting for a slot.", "backend", queued)
    metrics.gauges("lastmile_bulkhead_in_flight", "Calls in flight.", "backend", in_flight)
    metrics.refreshed_gauge(
        "lastmile_approvals_pending",
        "Held calls waiting for a person's decision.",
        guards.desk.count_pending,
    )
    metrics.gauge(
        "lastmile_audit_batch_seconds",
        "How long the last audit batch took from hand-over to durable commit (write lag).",
        partial(getattr, store, "last_batch_s"),
    )


def _circuit_value(breaker: CircuitBreaker) -> float:
    return _CIRCUIT_VALUE[breaker.state.value]


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    store = app[AUDIT_STORE]
    guards = app[GUARDRAILS]
    adapters = list(app[REGISTRY].adapters.values())
    board = app[CONFIG_BOARD]
    await board.open()  # a fleet's newest version is in force before any call
    await store.open()
    await guards.desk.store.open()
    await guards.halts.open()
    started = []
    try:
        for adapter in adapters:
            await adapter.start()
            started.append(adapter)
        yield
    finally:
        for adapter in reversed(started):
            await adapter.close()
        await guards.halts.close()
        await guards.desk.store.close()
        await store.close()
        await board.close()


async def _postgres_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Open the pool and register this process; deregister and close last."""
    postgres, fleet = app[POSTGRES], app[FLEET]
    await postgres.open()
    try:
        await fleet.open()
        try:
            yield
        finally:
            await fleet.close()
    finally:
        await postgres.close()


async def _state_lifecycle(app: web.Application) -> AsyncIterator[None]:
    store = app[STATE_STORE]
    await open_state_store(store)
    try:
        yield
    finally:
        await store.close()
