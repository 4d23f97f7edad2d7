"""The approvals inbox: pending held calls laid out field by field, and the decision.

Reads and decisions go through the same :class:`ApprovalDesk` as the API (SQLite or
PostgreSQL underneath), so exactly-once execution, expiry and the self-approval rule
are the desk's, not re-implemented here; what a person may see of a held call is
:func:`~gateway.guardrails.held_view.held_view`'s, as for ``GET /v1/approvals``.
Approving runs the stored call and the page then shows its outcome.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from gateway.api.middleware import REQUEST_ID
from gateway.api.shedding import IN_FLIGHT
from gateway.appkeys import AUDIT_STORE, GUARDRAILS, REGISTRY
from gateway.audit.admin import record_admin_action
from gateway.console.web import MEMBER, form, member_may, page, see_other
from gateway.guardrails.approval_store import HeldCall
from gateway.guardrails.held_view import Preview, held_view
from gateway.staff_roles import Capability
from schemas.errors import FieldError, ValidationFailed

MAX_COMMENT = 500


def _effects(preview: Preview | None) -> dict[str, Any] | None:
    if preview is None:
        return None
    return {
        "budgets": preview.budgets,
        "backend": preview.backend,
        "note": preview.note,
        "withheld": preview.withheld,
        "request": json.dumps(preview.backend_request, indent=2)
        if preview.backend_request is not None
        else None,
        "changes": preview.changes(),
    }


def _view(request: web.Request, held: HeldCall) -> dict[str, Any]:
    operation = request.config_dict[REGISTRY].operations.get(held.operation)
    view = held_view(held, operation, request[MEMBER].may_see)
    return {
        "held": held,
        "fields": view.fields,
        "effects": _effects(view.preview),
        "seconds_left": max(int(held.expires_at - time.time()), 0),
        "result": json.dumps(view.result, indent=2) if view.result is not None else None,
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
