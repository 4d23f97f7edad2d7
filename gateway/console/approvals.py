"""The approvals inbox: pending held calls laid out field by field, and the decision.

Reads and decisions go through the same :class:`ApprovalDesk` as the API (SQLite or
PostgreSQL underneath), so exactly-once execution, expiry and the self-approval rule
are the desk's, not re-implemented here. Approving runs the stored call and the page
then shows its outcome.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from adapters.base import Operation
from gateway.api.middleware import REQUEST_ID
from gateway.api.shedding import IN_FLIGHT
from gateway.appkeys import AUDIT_STORE, GUARDRAILS, REGISTRY
from gateway.audit.admin import record_admin_action
from gateway.console.roles import Capability
from gateway.console.web import MEMBER, form, member_may, page, see_other
from gateway.guardrails.approval_store import HeldCall
from gateway.guardrails.redaction import Redactor
from schemas.errors import FieldError, ValidationFailed

MAX_COMMENT = 500


MASK = Redactor("mask")  # masked, never dropped: the approver sees that a field is there


@dataclass(frozen=True, slots=True)
class InputField:
    """One input field as this approver may see it; ``hidden`` says why it is masked."""

    name: str
    value: str
    hidden: str | None = None


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """The input as {dotted field: leaf value}, nested objects and lists flattened."""
    if isinstance(value, dict) and value:
        return {
            k: v
            for key, item in value.items()
            for k, v in _flatten(item, f"{prefix}.{key}" if prefix else str(key)).items()
        }
    if isinstance(value, list) and value:
        return {
            k: v
            for index, item in enumerate(value)
            for k, v in _flatten(item, f"{prefix}[{index}]").items()
        }
    return {prefix or "(input)": value}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def fields(
    held: HeldCall, operation: Operation | None, may_see: frozenset[str]
) -> list[InputField]:
    """The input field by field, each sensitive field whose category ``may_see`` lacks
    masked with the reason. The held call keeps the whole input (it must run it as
    asked); the mask is applied per person, on view, by the same plans as answers."""
    raw = json.loads(held.input_json)
    if operation is None:  # no schema to tell sensitive fields from others: show none
        why = f"{held.operation!r} is no longer in the catalog, so no field is known safe"
        return [InputField(name, "[masked]", why) for name in _flatten(raw)]
    shown = _flatten(MASK.redact(operation.input_model, raw, may_see))
    rows = []
    for name, value in _flatten(raw).items():
        masked = shown.get(name)
        if masked == value:
            rows.append(InputField(name, _text(value)))
        else:
            category = str(masked).removeprefix("[redacted:").removesuffix("]")
            why = f"sensitive ({category}); your may_see does not include {category!r}"
            rows.append(InputField(name, str(masked), why))
    return rows


def unseen(operation: Operation | None, may_see: frozenset[str]) -> str | None:
    """Why the legacy request and before/after are withheld from this approver, or None.
    They carry the input's values and the record's fields in the backend's own shape,
    which the masking plans do not cover, so they are shown only to someone who may see
    every sensitive category of the operation's input and output."""
    if operation is None:
        return "the operation is no longer in the catalog, so its sensitive fields are unknown"
    held = MASK.categories(operation.input_model) | MASK.categories(operation.output_model)
    missing = sorted(held - may_see)
    if not missing:
        return None
    return (
        "they carry sensitive fields in the backend's own form "
        f"({', '.join(missing)}) that your may_see does not include"
    )


def _effects(held: HeldCall, operation: Operation | None, may_see: frozenset[str]) -> Any:
    preview = held.preview
    if preview is None:
        return None
    before, after = preview.get("before") or {}, preview.get("after") or {}
    return {
        "budgets": preview.get("budgets") or [],
        "backend": preview.get("backend"),
        "note": preview.get("note"),
        "withheld": unseen(operation, may_see),
        "request": json.dumps(preview["backend_request"], indent=2)
        if preview.get("backend_request") is not None
        else None,
        "changes": [
            (key, _text(before.get(key)), _text(after.get(key)), before.get(key) != after.get(key))
            for key in sorted({*before, *after})
        ],
    }


def _view(request: web.Request, held: HeldCall) -> dict[str, Any]:
    operation = request.config_dict[REGISTRY].operations.get(held.operation)
    may_see = request[MEMBER].may_see
    return {
        "held": held,
        "fields": fields(held, operation, may_see),
        "effects": _effects(held, operation, may_see),
        "seconds_left": max(int(held.expires_at - time.time()), 0),
        "result": json.dumps(held.result, indent=2) if held.result is not None else None,
    }


async def inbox(request: web.Request) -> web.Response:
    member_may(request, Capability.SEE_APPROVALS)
    desk = request.config_dict[GUARDRAILS].desk
    pending = await desk.find("pending")
    decided = [h for h in await desk.find(None) if h.status != "pending"][:20]
    return page(
        request,
        "approvals.html",
        {"pending": [_view(request, h) for h in pending], "decided": decided},
    )


async def detail(request: web.Request) -> web.Response:
    member_may(request, Capability.SEE_APPROVALS)
    held = await request.config_dict[GUARDRAILS].desk.get(request.match_info["id"])
    return page(request, "approval.html", _view(request, held))


async def decide(request: web.Request) -> web.Response:
    member = member_may(request, Capability.DECIDE_APPROVALS)
    data = await form(request)
    decision = data.get("decision")
    comment = data.get("comment", "").strip()
    if decision not in ("approve", "reject"):
        raise ValidationFailed(
            "Choose approve or reject.",
            [FieldError(field="decision", message="approve or reject")],
        )
    if not 1 <= len(comment) <= MAX_COMMENT:
        raise ValidationFailed(
            f"A decision needs a comment (1-{MAX_COMMENT} characters) for the audit trail.",
            [FieldError(field="comment", message="required")],
        )
    approve = decision == "approve"
    app = request.config_dict

    async def on_record(held: HeldCall) -> None:
        await record_admin_action(
            app[AUDIT_STORE],
            request_id=request[REQUEST_ID],
            actor=member.id,
            action=decision,
            target=held.id,
            detail=f"{held.operation} by {held.agent_id}: {comment} (console)",
        )

    in_flight = app[IN_FLIGHT]
    overloaded = in_flight.enter() if approve else None
    if overloaded is not None:
        raise overloaded
    try:
        held = await app[GUARDRAILS].desk.decide(
            request.match_info["id"], member, approve, comment, on_record
        )
    finally:
        if approve:
            in_flight.leave()
    return see_other(f"/console/approvals/{held.id}")
