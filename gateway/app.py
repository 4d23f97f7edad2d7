"""Builds the aiohttp application from a :class:`~gateway.config.Config`.

Everything a request needs hangs off the application (``AppKey``s): the registry,
the agent directory, the composed pipeline. Adapters and the audit store are opened
in a cleanup context, so start-up fails loudly and shut-down closes what was opened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from gateway.api.audit import add_audit_routes
from gateway.api.middleware import MAX_BODY_BYTES, gateway_middleware
from gateway.api.rest import add_routes
from gateway.appkeys import AGENTS, AUDIT_STORE, CONFIG, PIPELINE, REGISTRY, STAFF
from gateway.audit.retention import retention_context
from gateway.audit.store import AuditStore
from gateway.audit.store_sqlite import SqliteAuditStore
from gateway.config import Config
from gateway.identity import AgentDirectory, StaffDirectory
from gateway.pipeline import Pipeline, Stage
from gateway.registry import Registry, build_registry
from gateway.stages import (
    CallBackend,
    CheckScope,
    Identify,
    Record,
    Resolve,
    ValidateInput,
    ValidateOutput,
)


def standard_stages(
    registry: Registry, directory: AgentDirectory, store: AuditStore
) -> tuple[Stage, ...]:
    """The order of the call path, in one place (see ARCHITECTURE.md)."""
    return (
        Record(store),
        Identify(directory),
        Resolve(registry),
        CheckScope(),
        ValidateInput(),
        CallBackend(registry),
        ValidateOutput(),
    )


def build_app(config: Config, registry: Registry | None = None) -> web.Application:
    registry = registry or build_registry(config)
    directory = AgentDirectory.from_config(config.agents)
    store = SqliteAuditStore.from_config(config.audit)
    app = web.Application(
        middlewares=[gateway_middleware], client_max_size=config.server.max_body_bytes
    )
    app[MAX_BODY_BYTES] = config.server.max_body_bytes
    app[CONFIG] = config
    app[REGISTRY] = registry
    app[AGENTS] = directory
    app[STAFF] = StaffDirectory.from_config(config.staff)
    app[AUDIT_STORE] = store
    app[PIPELINE] = Pipeline(standard_stages(registry, directory, store))
    app.cleanup_ctx.append(_lifecycle)
    app.cleanup_ctx.append(retention_context(store, config.audit.retention))
    add_routes(app)
    add_audit_routes(app)
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
