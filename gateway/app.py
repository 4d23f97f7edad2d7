"""Builds the aiohttp application from a :class:`~gateway.config.Config`.

Everything a request needs hangs off the application (``AppKey``s): the registry,
the agent directory, the composed pipeline. Adapters and the audit store are opened
in a cleanup context, so start-up fails loudly and shut-down closes what was opened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from gateway.api.mcp.http import add_mcp_routes
from gateway.api.middleware import MAX_BODY_BYTES, gateway_middleware
from gateway.api.openapi import add_openapi_route
from gateway.api.rest import DIRECTORY, PIPELINE, REGISTRY, add_routes
from gateway.audit.store import AuditStore
from gateway.audit.store_sqlite import SqliteAuditStore
from gateway.config import Config
from gateway.identity import AgentDirectory
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

AUDIT_STORE = web.AppKey("audit_store", AuditStore)


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
    store = SqliteAuditStore(Path(config.audit.path))
    app = web.Application(
        middlewares=[gateway_middleware], client_max_size=config.server.max_body_bytes
    )
    app[MAX_BODY_BYTES] = config.server.max_body_bytes
    app[REGISTRY] = registry
    app[DIRECTORY] = directory
    app[AUDIT_STORE] = store
    app[PIPELINE] = Pipeline(standard_stages(registry, directory, store))
    app.cleanup_ctx.append(_lifecycle)
    add_routes(app)
    add_mcp_routes(app, config.mcp)
    add_openapi_route(app, registry)
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
