"""The OpenAPI path item of one operation: ``POST /v1/operations/<name>``.

Its answers are the ones the pipeline can give for that operation. Reads skip the
idempotency stage, so they never answer 409 nor replay a stored answer; any call, read
or write, can be held for approval (202), since a policy or a budget may demand it and
policies can be reloaded while the gateway runs.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from adapters.base import Operation
from gateway.api.openapi_parts import AGENT_SECURITY, JsonObject, answer, json_content, problems
from schemas.common import Effect

INVOCATION_ERRORS: dict[str, str] = {
    "400": "The body is not JSON or is empty (malformed_json), the Idempotency-Key is not "
    "1-255 visible ASCII characters (idempotency_key_invalid), or a write needs one "
    "(idempotency_key_required).",
    "401": "No, unknown or revoked API key (unauthenticated).",
    "403": "The agent's allow-list does not admit the operation (forbidden), or a policy "
    "denies the call (policy_denied, naming policy_ids and reasons).",
    "404": "The system of record has no such record (backend_not_found).",
    "409": "The first call with this Idempotency-Key is still running "
    "(idempotency_in_flight); retry after Retry-After with the same key.",
    "413": "The body is larger than server.max_body_bytes (payload_too_large).",
    "415": "The body is not application/json (unsupported_media_type).",
    "422": "The input, X-On-Behalf-Of or X-Dry-Run does not fit (validation_failed, with "
    "errors[]); the system of record refused the request (backend_rejected); or the "
    "Idempotency-Key was used with another input (idempotency_key_reused).",
    "429": "A rate limit (rate_limited) or a budget (budget_exceeded) is spent; retry after "
    "Retry-After.",
    "500": "A gateway bug (internal_error); no stack trace is sent.",
    "502": "The system of record failed (backend_error), answered with a SOAP fault "
    "(backend_fault) or outside its contract (backend_contract_violation), or dropped the "
    "connection after the call was sent (backend_disconnected: retryable; the outcome of "
    "a write is unknown).",
    "503": "Not now: the backend is unreachable or its circuit is open "
    "(backend_unavailable), its bulkhead is full (backend_busy), an operator halted the "
    "traffic (halted), the gateway is at server.max_in_flight (overloaded), or the state "
    "store, audit trail or approvals store is unavailable (state_unavailable, "
    "audit_unavailable, approvals_unavailable: a call to be held was not held).",
    "504": "The system of record did not answer in time (timeout).",
}
_READ_STATUSES = ("400", "401", "403", "404", "413", "415", "422", "429", "500", "502", "503")
_REPLAYABLE = ("404", "422", "500", "502", "503", "504")  # errors kept once a backend was tried
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def summary(description: str) -> str:
    """The first sentence of the first paragraph, whole, however the docstring wraps."""
    paragraph = " ".join(description.strip().split("\n\n", 1)[0].split())
    return _SENTENCE_END.split(paragraph, 1)[0]


def operation_path_item(
    op: Operation, operation_id: str, refs: dict[str, JsonObject]
) -> JsonObject:
    """``refs`` holds the ``$ref``s of the operation's ``input`` and ``output`` models."""
    write = op.effect is Effect.WRITE
    statuses = (*_READ_STATUSES, "409", "504") if write else (*_READ_STATUSES, "504")
    extra: dict[str, tuple[str, ...]] = {
        status: ("RateLimit", "RateLimit-Policy") for status in statuses if status != "401"
    }
    for status in ("409", "429", "503"):
        if status in extra:
            extra[status] += ("Retry-After",)
    if write:
        for status in _REPLAYABLE:
            extra[status] = (*extra[status], "Idempotent-Replayed")
    ok_headers = ("RateLimit", "RateLimit-Policy") + (("Idempotent-Replayed",) if write else ())
    return {
        "post": {
            "operationId": operation_id,
            "x-lastmile-operation": op.name,
            "summary": summary(op.description),
            "description": op.description,
            "tags": [op.backend],
            "security": AGENT_SECURITY,
            "x-lastmile": {
                "effect": op.effect.value,
                "idempotent": op.idempotent,
                "risk": op.risk.value,
                "owner": op.owner,
            },
            "parameters": _invocation_headers(write),
            "requestBody": _request_body(op.input_model, refs["input"]),
            "responses": {
                "200": answer(
                    "The validated output of the system of record (or, with X-Dry-Run: true, "
                    "the report of what would happen)",
                    _result(op.name, refs["output"]),
                    *ok_headers,
                ),
                "202": _held_for_approval(op.name),
                **problems(INVOCATION_ERRORS, sorted(statuses), extra),
            },
        }
    }


def _invocation_headers(write: bool) -> list[JsonObject]:
    parameters: list[JsonObject] = [
        {
            "name": "X-On-Behalf-Of",
            "in": "header",
            "description": "The end user the agent acts for; recorded in the audit trail.",
            "schema": {"type": "string", "pattern": r"^[\w.@+:/-]{1,200}$"},
        },
        {
            "name": "X-Dry-Run",
            "in": "header",
            "description": "true: check the call (identity, policy, budgets, input) and show "
            "what it would send; do not carry it out.",
            "schema": {"type": "string", "enum": ["true", "false"]},
        },
    ]
    if write:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "description": "Makes a retried write safe: the same key and input get the "
                "stored answer (Idempotent-Replayed: true) without a second write.",
                "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
            }
        )
    return parameters


def _request_body(model: type[BaseModel], ref: JsonObject) -> JsonObject:
    body = json_content(ref)
    example = example_input(model)
    if example is not None:
        body["content"]["application/json"]["example"] = example
    return {"required": True, **body}


def _result(name: str, output_ref: JsonObject) -> JsonObject:
    result = {
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
    return {"oneOf": [result, dry_run]}


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
            "expires_at": {"type": "string"},
            "policy_ids": {"type": "array", "items": {"type": "string"}},
            "reasons": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["request_id", "operation", "status", "approval_id", "status_url"],
    }
    return answer(
        "Held for a person's approval; it runs once, with this input, if approved. Poll "
        "status_url (GET /v1/approvals/{id}) with the same key; do not send the call again.",
        schema,
        "Location",
        "RateLimit",
        "RateLimit-Policy",
    )


def example_input(model: type[BaseModel]) -> JsonObject | None:
    """An input built from the fields' own examples, kept only if the model accepts it.

    Keys are the names the input travels under: a field's alias where it has one.
    """
    properties = model.model_json_schema().get("properties", {})
    example: JsonObject = {}
    for name, field in model.model_fields.items():
        if not field.is_required():
            continue
        key = _wire_name(name, field)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            example[key] = next(iter(annotation)).value
            continue
        value = _field_example(field.examples, properties.get(key, {}))
        if value is None:
            return None
        example[key] = value
    try:
        model.model_validate(example, strict=False)
    except ValidationError:
        return None
    return example


def _wire_name(name: str, field: FieldInfo) -> str:
    if isinstance(field.validation_alias, str):
        return field.validation_alias
    return field.alias or name


def _field_example(examples: list[Any] | None, schema: JsonObject) -> Any:
    if examples:
        return examples[0]
    if "examples" in schema:
        return schema["examples"][0]
    if schema.get("format") == "date":
        return "2026-11-20"
    return None
