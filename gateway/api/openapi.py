"""The OpenAPI 3.1 description of the REST face, generated from the registry and schemas.

One path per operation (``POST /v1/operations/{operation}``) with its input model as
the request body and ``{request_id, operation, output}`` as the answer; every error as
an RFC 9457 problem; the bearer scheme; and the catalog and health routes. OpenAPI
3.1 schemas are JSON Schema 2020-12, which is what pydantic emits, so the models are
used as they are, under ``components/schemas``. Built once, when the app is built.

The document lists every operation, not only the caller's: it describes the API, it
grants nothing. ``lastmile tools export --agent`` gives one agent's view.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from gateway.api.problems import PROBLEM_CONTENT_TYPE
from gateway.registry import Registry
from schemas.api import CatalogEntry, Problem, Readiness
from schemas.common import Effect

JsonObject = dict[str, Any]
Mode = Literal["validation", "serialization"]

OPENAPI_DOCUMENT = web.AppKey("openapi_document", dict)

_REF = "#/components/schemas/{model}"
_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_ERRORS: dict[str, str] = {
    "400": "The body is not JSON, or a header is malformed (malformed_json, bad_request).",
    "401": "No, unknown or revoked API key (unauthenticated).",
    "403": "The agent's allow-list does not admit the operation (forbidden).",
    "404": "No such operation (unknown_operation), or the system of record has no such "
    "record (backend_not_found).",
    "413": "The body is larger than the gateway accepts (payload_too_large).",
    "415": "The body is not application/json (unsupported_media_type).",
    "422": "The input does not fit the schema (validation_failed, with errors[]), or the "
    "system of record refused it (backend_rejected).",
    "500": "A gateway bug (internal_error); no stack trace is sent.",
    "502": "The system of record failed, answered outside its contract, or dropped the "
    "connection after the call was sent (backend_error, backend_contract_violation, "
    "backend_disconnected: retryable, the outcome of a write is unknown).",
    "503": "The system of record or the audit trail is unavailable (retryable).",
    "504": "The system of record did not answer in time (timeout, retryable).",
}


def add_openapi_route(app: web.Application, registry: Registry) -> None:
    app[OPENAPI_DOCUMENT] = openapi_document(registry)
    app.router.add_get("/openapi.json", _serve)


async def _serve(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI_DOCUMENT])


def openapi_document(registry: Registry) -> JsonObject:
    operations = list(registry.operations.values())
    models: list[tuple[type[BaseModel], Mode]] = [
        (Problem, "serialization"),
        (CatalogEntry, "serialization"),
        (Readiness, "serialization"),
    ]
    for op in operations:
        models += [(op.input_model, "validation"), (op.output_model, "serialization")]
    refs, definitions = models_json_schema(list(dict.fromkeys(models)), ref_template=_REF)
    paths: JsonObject = {
        "/healthz": {"get": _health()},
        "/readyz": {"get": _readiness()},
        "/v1/operations": {"get": _catalog()},
        "/v1/operations/{name}": {"get": _catalog_entry()},
    }
    for op in sorted(operations, key=lambda o: o.name):
        input_ref = refs[(op.input_model, "validation")]
        output_ref = refs[(op.output_model, "serialization")]
        paths[f"/v1/operations/{op.name}"] = {
            "post": {
                "operationId": op.name,
                "summary": op.description.splitlines()[0],
                "description": op.description,
                "tags": [op.backend],
                "x-lastmile": {
                    "effect": op.effect.value,
                    "idempotent": op.idempotent,
                    "risk": op.risk.value,
                    "owner": op.owner,
                },
                "parameters": _invocation_headers(op.effect),
                "requestBody": _request_body(op.input_model, input_ref),
                "responses": {
                    "200": _invocation_result(op.name, output_ref),
                    "202": _held_for_approval(op.name),
                    **_problems(_ERRORS),
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lastmile gateway",
            "version": "0.1.0",
            "description": "A guarded gateway between AI agents and systems of record. Every "
            "call is authenticated, checked against the agent's allow-list, validated both "
            "ways and audited.",
        },
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The agent's API key (lastmile keys new).",
                }
            },
        },
    }


def _json(schema: JsonObject) -> JsonObject:
    return {"content": {"application/json": {"schema": schema}}}


def _problems(codes: dict[str, str]) -> JsonObject:
    return {
        status: {"description": text, "content": {PROBLEM_CONTENT_TYPE: {"schema": _PROBLEM}}}
        for status, text in codes.items()
    }


def _public(operation: JsonObject) -> JsonObject:
    return {**operation, "security": []}


def _health() -> JsonObject:
    schema = {"type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"]}
    return _public(
        {"summary": "Liveness", "responses": {"200": {"description": "Up", **_json(schema)}}}
    )


def _readiness() -> JsonObject:
    ref = {"$ref": "#/components/schemas/Readiness"}
    return _public(
        {
            "summary": "Whether every backend answers",
            "responses": {
                "200": {"description": "Every backend is ready", **_json(ref)},
                "503": {"description": "Some backend is not ready", **_json(ref)},
            },
        }
    )


def _catalog() -> JsonObject:
    schema = {
        "type": "object",
        "properties": {
            "agent": {"type": "string"},
            "operations": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/CatalogEntry"},
            },
        },
        "required": ["agent", "operations"],
    }
    return {
        "summary": "The operations this agent may call, with their JSON Schemas",
        "responses": {
            "200": {"description": "The agent's catalog", **_json(schema)},
            **_problems({"401": _ERRORS["401"]}),
        },
    }


def _catalog_entry() -> JsonObject:
    return {
        "summary": "One catalog entry",
        "parameters": [
            {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": {
                "description": "The entry",
                **_json({"$ref": "#/components/schemas/CatalogEntry"}),
            },
            **_problems({code: _ERRORS[code] for code in ("401", "403", "404")}),
        },
    }


def _invocation_headers(effect: Effect) -> list[JsonObject]:
    return [
        {
            "name": "X-On-Behalf-Of",
            "in": "header",
            "description": "The end user the agent acts for; recorded in the audit trail.",
            "schema": {"type": "string", "pattern": r"^[\w.@+:/-]{1,200}$"},
        },
        {
            "name": "Idempotency-Key",
            "in": "header",
            "description": "Makes a retried write safe: the same key gets the same answer.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        },
        {
            "name": "X-Dry-Run",
            "in": "header",
            "description": "true: check the call (identity, policy, input), do not carry it out.",
            "schema": {"type": "string", "enum": ["true", "false"]},
        },
    ]


def _request_body(model: type[BaseModel], ref: JsonObject) -> JsonObject:
    media: JsonObject = {"schema": ref}
    example = _example(model)
    if example is not None:
        media["example"] = example
    return {"required": True, "content": {"application/json": media}}


def _invocation_result(name: str, output_ref: JsonObject) -> JsonObject:
    schema = {
        "type": "object",
        "properties": {
            "request_id": {"type": "string", "description": "Quote it to find the audit event."},
            "operation": {"const": name},
            "output": output_ref,
        },
        "required": ["request_id", "operation", "output"],
    }
    dry_run = {
        "type": "object",
        "description": "With X-Dry-Run: true, what the call would do: the decision, its "
        "reasons, the budgets it would spend, the request the backend would get and, where "
        "the adapter can read it, the state before and after. Nothing is sent or spent.",
        "properties": {
            "request_id": {"type": "string"},
            "operation": {"const": name},
            "dry_run": {"const": True},
        },
        "required": ["request_id", "operation", "dry_run"],
    }
    return {
        "description": "The validated output of the system of record (or, for a dry run, "
        "the report of what would happen)",
        **_json({"oneOf": [schema, dry_run]}),
    }


def _held_for_approval(name: str) -> JsonObject:
    schema = {
        "type": "object",
        "properties": {
            "request_id": {"type": "string"},
            "operation": {"const": name},
            "status": {"const": "approval_required"},
            "detail": {"type": "string", "description": "Why the call waits for a person."},
            "approval_id": {"type": "string"},
            "status_url": {"type": "string", "description": "Poll it with the same key."},
        },
        "required": ["request_id", "operation", "status", "approval_id", "status_url"],
    }
    return {
        "description": "Held for a person's approval; it runs once, with this input, if approved",
        "headers": {"Location": {"schema": {"type": "string"}}},
        **_json(schema),
    }


def _example(model: type[BaseModel]) -> JsonObject | None:
    """An input built from the fields' own examples, kept only if the model accepts it."""
    example: JsonObject = {}
    for name, field in model.model_fields.items():
        if not field.is_required():
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            example[name] = next(iter(annotation)).value
            continue
        value = _field_example(field.examples, model.model_json_schema()["properties"][name])
        if value is None:
            return None
        example[name] = value
    try:
        model.model_validate(example, strict=False)
    except ValidationError:
        return None
    return example


def _field_example(examples: list[Any] | None, schema: JsonObject) -> Any:
    if examples:
        return examples[0]
    if "examples" in schema:
        return schema["examples"][0]
    if schema.get("format") == "date":
        return "2026-11-20"
    return None
