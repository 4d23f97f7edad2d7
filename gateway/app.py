"""Builds the aiohttp application from a :class:`~gateway.config.Config`.

Everything a request needs hangs off the application (``AppKey``s): the registry,
the agent directory, the composed pipeline. Adapters and the audit store are opened
in a cleanup context, so start-up fails loudly and shut-down closes what was opened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from gateway.api.middleware import MAX_BODY_BYTES, gateway_middleware
from gateway.api.rest import add_routes
from gateway.appkeys import (
    AGENTS,
    AUDIT_STORE,
    CONFIG,
    PIPELINE,
    REGISTRY,
    RESILIENCE,
    STAFF,
    STATE_STORE,
)
from gateway.audit.store import AuditStore
from gateway.audit.store_sqlite import SqliteAuditStore
from gateway.config import Config
from gateway.identity import AgentDirectory, StaffDirectory
from gateway.pipeline import Pipeline, Stage
from gateway.registry import Registry, build_registry
from gateway.resilience.guard import Resilience
from gateway.resilience.ratelimit import RateLimiter
from gateway.resilience.timing import Timing
from gateway.stages import (
    CallBackend,
    CheckScope,
    Idempotency,
    Identify,
    Limit,
    Record,
    Resolve,
    ValidateInput,
    ValidateOutput,
)
from gateway.state.factory import build_state_store, open_state_store
from gateway.state.store import StateStore


def standard_stages(
    registry: Registry,
    directory: AgentDirectory,
    store: AuditStore,
    state: StateStore,
    resilience: Resilience,
    config: Config,
) -> tuple[Stage, ...]:
    """The order of the call path, in one place (see ARCHITECTURE.md).

    ``Limit`` comes after identity and scope (a 401/403 never spends anyone's quota) and
    before the body is parsed; ``Idempotency`` needs the validated input to tell one
    payload from another and wraps everything that reaches the backend.
    """
    return (
        Record(store),
        Identify(directory),
        Resolve(registry),
        CheckScope(),
        Limit(RateLimiter(state), config.resilience, config.state.reads_fail_open),
        ValidateInput(),
        Idempotency(state, config.resilience),
        CallBackend(registry, resilience),
        ValidateOutput(),
    )


def build_app(
    config: Config, registry: Registry | None = None, *, timing: Timing | None = None
) -> web.Application:
    """``timing`` injects the clock and sleep of limits, breakers and retries (tests)."""
    registry = registry or build_registry(config)
    timing = timing or Timing()
    directory = AgentDirectory.from_config(config.agents)
    store = SqliteAuditStore(Path(config.audit.path))
    state = build_state_store(config.state, timing.clock)
    resilience = Resilience(config, timing)
    app = web.Application(
        middlewares=[gateway_middleware], client_max_size=config.server.max_body_bytes
    )
    app[MAX_BODY_BYTES] = config.server.max_body_bytes
    app[CONFIG] = config
    app[REGISTRY] = registry
    app[AGENTS] = directory
    app[STAFF] = StaffDirectory.from_config(config.staff)
    app[AUDIT_STORE] = store
    app[STATE_STORE] = state
    app[RESILIENCE] = resilience
    app[PIPELINE] = Pipeline(standard_stages(registry, directory, store, state, resilience, config))
    app.cleanup_ctx.append(_lifecycle)
    app.cleanup_ctx.append(_state_lifecycle)
    add_routes(app)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    store = app[AUDIT_STORE]
    adapters = list(app[REGISTRY].adapters.values())
    await store.open()
    started = []
    try:
        for adapter in adapters:
            await adapter.start()
            started.append(adapter)
        yield
    finally:
        for adapter in reversed(started):
            await adapter.close()
        await store.close()


async def _state_lifecycle(app: web.Application) -> AsyncIterator[None]:
    store = app[STATE_STORE]
    await open_state_store(store)
    try:
        yield
    finally:
        await store.close()
