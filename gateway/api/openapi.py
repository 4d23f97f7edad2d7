"""The OpenAPI 3.1 description of the HTTP API, generated from the registry and schemas.

One path per operation (``POST /v1/operations/<name>``) with its input model as the
request body and every answer the pipeline can give (``gateway.api.openapi_operations``);
the catalog, health, readiness and metrics; and the people's routes (approvals, the kill
switch, the audit trail) under their own tags and their own ``staffKey`` scheme
(``gateway.api.openapi_staff``). OpenAPI 3.1 schemas are JSON Schema 2020-12, which is
what pydantic emits, so the models are used as they are, under ``components/schemas``.
``/mcp`` is not described: MCP clients discover the tools with ``tools/list``.

The document is static, built once when the app is built: ``servers`` is
``server.public_url`` when configured, else ``/`` (relative to wherever the document
was fetched from). It lists every operation, not only the caller's: it describes the
API, it grants nothing. ``lastmile tools export --agent`` gives one agent's view.

Each ``operationId`` is a valid function name for agent hosts
(``gateway.api.operation_ids``); ``x-lastmile-operation`` names the operation it stands for.
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gateway.api.admin import HaltRequest
from gateway.api.approvals import DecisionRequest
from gateway.api.openapi_operations import operation_path_item
from gateway.api.openapi_parts import AGENT_SECURITY, JsonObject, answer, problems
from gateway.api.openapi_staff import SCHEMAS, TAGS, admin_paths, approval_paths, audit_paths
from gateway.api.operation_ids import operation_ids
from gateway.appkeys import CONFIG
from gateway.registry import Registry, RegistryError
from gateway.version import installed_version
from schemas.api import CatalogEntry, Problem, Readiness

Mode = Literal["validation", "serialization"]

OPENAPI_DOCUMENT = web.AppKey("openapi_document", dict)

_REF = "#/components/schemas/{model}"
_CATALOG_ERRORS = {
    "401": "No, unknown or revoked API key (unauthenticated).",
    "403": "The agent's allow-list does not admit the operation (forbidden).",
    "404": "No such operation (unknown_operation).",
    "500": "A gateway bug (internal_error); no stack trace is sent.",
}


def add_openapi_route(app: web.Application, registry: Registry) -> None:
    """Build the document now, so a registry it cannot describe stops the start-up."""
    app[OPENAPI_DOCUMENT] = openapi_document(registry, app[CONFIG].server.public_url)
    app.router.add_get("/openapi.json", _serve)


async def _serve(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI_DOCUMENT])


def openapi_document(registry: Registry, public_url: str | None = None) -> JsonObject:
    """The whole document; raises ``RegistryError`` if two operations (or an operation and
    a route) would share an ``operationId``, or naming an operation it cannot describe."""
    paths: JsonObject = {**_agent_paths(), **approval_paths(), **admin_paths(), **audit_paths()}
    routes = {
        operation["operationId"]: f"{method.upper()} {path}"
        for path, item in paths.items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }
    ids = operation_ids(registry.operations, routes)
    refs, definitions = _schemas(registry)
    for identifier, name in sorted(ids.items(), key=lambda pair: pair[1]):
        op = registry.operations[name]
        op_refs = {
            "input": refs[(op.input_model, "validation")],
            "output": refs[(op.output_model, "serialization")],
        }
        try:
            paths[f"/v1/operations/{name}"] = operation_path_item(op, identifier, op_refs)
        except Exception as exc:  # a model the document cannot describe: name the operation
            raise RegistryError(
                f"operation {name!r} (backend {op.backend!r}) cannot be described in the "
                f"OpenAPI document: {type(exc).__name__}: {exc}"
            ) from exc
    backends = sorted({op.backend for op in registry.operations.values()})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lastmile gateway",
            "version": installed_version(),
            "description": "A guarded gateway between AI agents and systems of record. Every "
            "call is authenticated, checked against the agent's allow-list and policies, "
            "validated both ways and audited. operationIds are function names (dots become "
            "'_'); x-lastmile-operation on each operation names the gateway operation.",
        },
        "servers": [{"url": public_url or "/"}],
        "security": AGENT_SECURITY,
        "tags": [
            {"name": "catalog", "description": "What an agent may call."},
            {"name": "health", "description": "Liveness, readiness and metrics (no key)."},
            *({"name": b, "description": f"Operations served by backend {b}."} for b in backends),
            *TAGS,
        ],
        "paths": paths,
        "components": {
            "schemas": {**definitions, **SCHEMAS},
            "securitySchemes": {
                "agentKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An agent's API key (lastmile keys new; its SHA-256 in "
                    "agents[].key_sha256), or an access token from the identity provider "
                    "configured under oidc: (agents[].token_subject).",
                },
                "staffKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A person's own key (staff[].key_sha256); the route says "
                    "which role it needs: approver, operator or auditor.",
                },
            },
        },
    }


def _schemas(registry: Registry) -> tuple[dict[tuple[Any, Mode], JsonObject], JsonObject]:
    """``$ref``s by (model, mode), and the definitions they point to."""
    models: list[tuple[type[BaseModel], Mode]] = [
        (Problem, "serialization"),
        (CatalogEntry, "serialization"),
        (Readiness, "serialization"),
        (DecisionRequest, "validation"),
        (HaltRequest, "validation"),
    ]
    for op in registry.operations.values():
        models += [(op.input_model, "validation"), (op.output_model, "serialization")]
    refs, definitions = models_json_schema(list(dict.fromkeys(models)), ref_template=_REF)
    return dict(refs), dict(definitions.get("$defs", {}))


def _public(operation_id: str, summary: str, responses: JsonObject) -> JsonObject:
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["health"],
        "security": [],
        "responses": responses,
    }


def _agent_paths() -> JsonObject:
    ready = {"$ref": "#/components/schemas/Readiness"}
    entry = {"$ref": "#/components/schemas/CatalogEntry"}
    status = {"type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"]}
    catalog = {
        "type": "object",
        "properties": {
            "agent": {"type": "string"},
            "operations": {"type": "array", "items": entry},
        },
        "required": ["agent", "operations"],
    }
    metrics = {
        "description": "Prometheus text exposition",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
    errors = {code: problems(_CATALOG_ERRORS, (code,), {})[code] for code in _CATALOG_ERRORS}
    return {
        "/healthz": {"get": _public("health", "Liveness.", {"200": answer("Up", status)})},
        "/readyz": {
            "get": _public(
                "readiness",
                "Whether every backend answers and no circuit is open.",
                {"200": answer("Every backend is ready", ready), "503": answer("Not ready", ready)},
            )
        },
        "/metrics": {"get": _public("metrics", "Prometheus metrics.", {"200": metrics})},
        "/v1/operations": {
            "get": {
                "operationId": "catalog_list",
                "summary": "The operations this agent may call, with their JSON Schemas.",
                "tags": ["catalog"],
                "responses": {
                    "200": answer("The agent's catalog", catalog),
                    **{c: errors[c] for c in ("401", "500")},
                },
            }
        },
        "/v1/operations/{name}": {
            "get": {
                "operationId": "catalog_get",
                "summary": "One catalog entry.",
                "tags": ["catalog"],
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": answer("The entry", entry), **errors},
            }
        },
    }
