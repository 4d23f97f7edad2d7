"""Validation both ways: strict on the agent's input, strict on the backend's answer.

Input is checked before anything touches a backend, and every failure is explained
field by field in words an LLM can act on. An answer that does not fit the output
model is a contract violation: logged in full for engineers, withheld from the agent.
"""

from __future__ import annotations

import hashlib
from typing import Any

import structlog
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from adapters.base import REPLY_CONTEXT, safe_text
from gateway.pipeline import Invocation, Proceed
from schemas.errors import ContractViolation, FieldError, MalformedJson, ValidationFailed

log = structlog.get_logger("lastmile.validation")
_REPLY = {REPLY_CONTEXT: True}

_EXPECTED: dict[str, str] = {
    "missing": "a value (this field is required)",
    "extra_forbidden": "no such field",
    "string_type": "a JSON string",
    "int_type": "a JSON integer",
    "bool_type": "true or false",
    "decimal_type": "a number or a numeric string",
    "decimal_parsing": 'a number or a numeric string, e.g. "12.5"',
    "date_type": "a date string YYYY-MM-DD",
    "date_parsing": "a date string YYYY-MM-DD",
    "date_from_datetime_parsing": "a date string YYYY-MM-DD",
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
}


class ValidateInput:
    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        assert inv.operation is not None  # noqa: S101 - stage order
        raw = await inv.input_source.read()
        inv.input_sha256 = hashlib.sha256(raw).hexdigest()
        model = inv.operation.input_model
        try:
            inv.input = model.model_validate_json(raw, strict=True)
        except ValidationError as exc:
            raise _input_error(exc, inv.operation.name, model.model_fields.keys()) from None
        await proceed(inv)


def _input_error(
    exc: ValidationError, operation: str, fields: Any
) -> MalformedJson | ValidationFailed:
    details = exc.errors(include_url=False)
    if details and details[0]["type"] == "json_invalid":
        reason = details[0].get("ctx", {}).get("error", "not JSON")
        return MalformedJson(f"The request body is not valid JSON ({reason}). Send a JSON object.")
    errors = [_field_error(d, sorted(fields)) for d in details]
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    return ValidationFailed(
        f"The input for {operation!r} is invalid ({len(errors)} problem(s)): {summary}. "
        f"Fix these fields and call again; the input schema is at GET /v1/operations/{operation}.",
        errors,
    )


def _field_error(detail: ErrorDetails, allowed: list[str]) -> FieldError:
    kind = detail["type"]
    path = _path(detail["loc"])
    ctx = detail.get("ctx") or {}
    expected = _EXPECTED.get(kind)
    if kind == "extra_forbidden":
        message = f"unknown field; the allowed fields are {', '.join(allowed)}"
        expected = None
    elif kind == "missing":
        message = "required field is missing"
    else:
        message = detail["msg"]
    if "pattern" in ctx:
        expected = f"a string matching the pattern {ctx['pattern']}"
    elif "expected" in ctx:
        expected = f"one of {ctx['expected']}"
    elif kind.startswith(("greater", "less")) or kind in ("too_long", "too_short"):
        expected = message[0].lower() + message[1:]
    received = None if kind == "missing" else safe_text(_json_repr(detail["input"]), 120)
    return FieldError(field=path or "(body)", message=message, expected=expected, received=received)


def _path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        parts.append(f"[{item}]" if isinstance(item, int) else ("." if parts else "") + item)
    return "".join(parts)


def _json_repr(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return str(value)


class ValidateOutput:
    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        op = inv.operation
        assert op is not None  # noqa: S101 - stage order
        try:
            inv.output = op.output_model.model_validate(
                inv.raw_output, strict=False, context=_REPLY
            )
            if op.reference_field is not None:
                inv.backend_reference = str(getattr(inv.output, op.reference_field))
        except ValidationError as exc:
            details = exc.errors(include_url=False, include_input=False)
            log.warning(
                "backend_contract_violation",
                request_id=inv.request_id,
                operation=op.name,
                backend=op.backend,
                errors=[
                    {"loc": _path(d["loc"]), "type": d["type"], "msg": d["msg"]} for d in details
                ],
            )
            fields = ", ".join(sorted({_path(d["loc"]) or "(answer)" for d in details}))
            raise ContractViolation(
                f"The {op.backend} system answered {op.name!r} with data that does not fit "
                f"the {op.output_model.__name__} contract (fields: {fields}), so it was "
                f"withheld. Retrying will likely not help; the details are in the gateway's "
                f"log for the operation's owner ({op.owner})."
            ) from None
        await proceed(inv)
