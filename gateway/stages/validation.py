"""Validation both ways: strict on the agent's input, strict on the backend's answer.

Input is checked before anything touches a backend, and every failure is explained
field by field in words an LLM can act on; ``null`` for an optional field counts as
absent (:mod:`gateway.stages.null_input`). An answer that does not fit the output
model is a contract violation: logged in full for engineers, withheld from the agent.
"""

from __future__ import annotations

import hashlib
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from adapters.base import REPLY_CONTEXT, safe_text
from gateway.outcomes import Answered, Failed, Received
from gateway.pipeline import Call, Proceed, StageOutcome
from gateway.stages.null_input import nulls_as_absent
from gateway.stages.wire_names import model_at, wire_location, wire_names
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
    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        assert call.operation is not None  # noqa: S101 - stage order
        raw = await call.request.input_source.read()
        call.input_sha256 = hashlib.sha256(raw).hexdigest()
        model = call.operation.input_model
        try:
            call.input = model.model_validate_json(nulls_as_absent(model, raw), strict=True)
        except ValidationError as exc:
            raise _input_error(exc, call.operation.name, model) from None
        return await proceed(call)


def _input_error(
    exc: ValidationError, operation: str, model: type[BaseModel]
) -> MalformedJson | ValidationFailed:
    details = exc.errors(include_url=False)
    if details and details[0]["type"] == "json_invalid":
        reason = details[0].get("ctx", {}).get("error", "not JSON")
        return MalformedJson(f"The request body is not valid JSON ({reason}). Send a JSON object.")
    errors = [_field_error(model, d) for d in details]
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    return ValidationFailed(
        f"The input for {operation!r} is invalid ({len(errors)} problem(s)): {summary}. "
        f"Fix these fields and call again; the input schema is at GET /v1/operations/{operation}.",
        errors,
    )


def _field_error(model: type[BaseModel], detail: ErrorDetails) -> FieldError:
    """One problem, its fields named as the input schema names them (aliases)."""
    kind = detail["type"]
    loc = wire_location(model, detail["loc"])
    path = _path(loc)
    ctx = detail.get("ctx") or {}
    expected = _EXPECTED.get(kind)
    if kind == "extra_forbidden":
        allowed = wire_names(_parent_model(model, loc))
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


def _parent_model(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The model holding the last field of ``loc`` (an unknown field's siblings)."""
    return model_at(model, loc[:-1]) or model


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
    """Turns the backend's raw answer into the operation's output model. It wraps the
    backend call (outcomes travel outwards), so it sees the answer as it comes back."""

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        outcome = await proceed(call)
        if not isinstance(outcome, Received):
            return outcome
        op = call.operation
        assert op is not None  # noqa: S101 - stage order
        try:
            output = op.output_model.model_validate(outcome.raw, strict=False, context=_REPLY)
        except ValidationError as exc:
            return Failed(_contract_violation(call, exc), answered=True)
        reference = None
        if op.reference_field is not None:
            reference = str(getattr(output, op.reference_field))
        return Answered(output, backend_reference=reference)


def _contract_violation(call: Call, exc: ValidationError) -> ContractViolation:
    op = call.operation
    assert op is not None  # noqa: S101 - stage order
    details = exc.errors(include_url=False, include_input=False)
    paths = [_path(wire_location(op.output_model, d["loc"])) for d in details]
    log.warning(
        "backend_contract_violation",
        request_id=call.request_id,
        operation=op.name,
        backend=op.backend,
        errors=[
            {"loc": path, "type": d["type"], "msg": d["msg"]}
            for path, d in zip(paths, details, strict=True)
        ],
    )
    fields = ", ".join(sorted({path or "(answer)" for path in paths}))
    return ContractViolation(
        f"The {op.backend} system answered {op.name!r} with data that does not fit "
        f"the {op.output_model.__name__} contract (fields: {fields}), so it was "
        f"withheld. Retrying will likely not help; the details are in the gateway's "
        f"log for the operation's owner ({op.owner})."
    )
