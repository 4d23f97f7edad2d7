"""The approvals API: agents poll their held calls; approvers list, inspect and decide.

- ``GET /v1/approvals/{id}``: the agent that made the call (its own only, as it sent
  it) or an approver;
- ``GET /v1/approvals?status=pending``: approvers.

  An approver reads a held call as the console shows it (:mod:`gateway.guardrails.held_view`):
  input and result masked by their ``may_see``, ``masked`` saying why for each masked
  field, and the ``preview`` stored when it was held.
- ``POST /v1/approvals/{id}/approve`` / ``.../reject`` with ``{"reason": "..."}``: approvers.
  Approving runs the stored call once and answers with its result.

Agents never decide: their keys do not open the decision routes. With a shared store
(``guardrails.approvals.store: postgres``) that cannot be reached, every route answers
``503 approvals_unavailable`` and nothing is decided or run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.api.middleware import REQUEST_ID
from gateway.api.shedding import IN_FLIGHT
from gateway.appkeys import AUDIT_STORE, GUARDRAILS, IN_FORCE, REGISTRY
from gateway.audit.admin import record_admin_action
from gateway.config import StaffRole
from gateway.guardrails.approval_store import HeldCall
from gateway.guardrails.held_view import held_view
from gateway.identity import StaffMember
from gateway.staff_roles import Capability, require
from schemas.errors import FieldError, Forbidden, NotFound, Unauthenticated, ValidationFailed

STATUSES = {"pending", "executing", "executed", "failed", "rejected", "expired"}


class DecisionRequest(BaseModel):
    """What an approver sends with a decision: why, in words for the audit trail."""

    model_config = ConfigDict(extra="forbid", strict=True)

    reason: Annotated[str, Field(min_length=1, max_length=500)]


def staff_with_role(request: web.Request, role: StaffRole) -> StaffMember:
    """The staff member behind the key, holding ``role``; an agent key gets a clear no."""
    authorization = request.headers.get("Authorization")
    try:
        return request.app[IN_FORCE].current.staff.authenticate_role(authorization, role)
    except Unauthenticated:
        _refuse_an_agent(request, f"the {role.value!r} role")
        raise


def staff_who_may(request: web.Request, capability: Capability) -> StaffMember:
    """The staff member behind the key, whose roles grant ``capability`` in the one role
    matrix the console also enforces (:mod:`gateway.staff_roles`)."""
    authorization = request.headers.get("Authorization")
    try:
        member = request.app[IN_FORCE].current.staff.authenticate(authorization)
    except Unauthenticated:
        _refuse_an_agent(request, "a staff role that may " + capability.value)
        raise
    require(member, capability)
    return member


def _refuse_an_agent(request: web.Request, needed: str) -> None:
    """A clear 403 when the key is an agent's (raises), else nothing."""
    try:
        agent = request.app[IN_FORCE].current.agents.authenticate(
            request.headers.get("Authorization")
        )
    except Unauthenticated:
        return
    raise Forbidden(
        f"Agent {agent.id!r} cannot do this: it needs a person with {needed}, using their own key."
    ) from None


def _for_staff(request: web.Request, member: StaffMember, held: HeldCall) -> dict[str, Any]:
    """The approval as ``member`` may see it, the same view as the console's."""
    operation = request.app[REGISTRY].operations.get(held.operation)
    view = held_view(held, operation, member.may_see)
    return {**request.app[GUARDRAILS].desk.resource(held, with_input=False), **view.as_json()}


async def _get(request: web.Request) -> web.Response:
    desk = request.app[GUARDRAILS].desk
    authorization = request.headers.get("Authorization")
    approval_id = request.match_info["id"]
    try:
        agent = await request.app[IN_FORCE].current.agents.sign_in(authorization)
    except Unauthenticated:
        agent = None
    if agent is not None:
        held = await desk.get(approval_id)
        if held.agent_id != agent.id:
            raise NotFound(f"There is no approval {approval_id[:80]!r} for agent {agent.id!r}.")
        return web.json_response(desk.resource(held))
    member = staff_who_may(request, Capability.SEE_APPROVALS)
    return web.json_response(_for_staff(request, member, await desk.get(approval_id)))


async def _list(request: web.Request) -> web.Response:
    member = staff_who_may(request, Capability.SEE_APPROVALS)
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        raise ValidationFailed(
            f"Unknown status {status[:40]!r}; use one of {', '.join(sorted(STATUSES))}.",
            [FieldError(field="query:status", message="unknown status", expected="a status")],
        )
    desk = request.app[GUARDRAILS].desk
    held = await desk.find(status)
    return web.json_response({"approvals": [_for_staff(request, member, h) for h in held]})


async def _decision(request: web.Request) -> DecisionRequest:
    try:
        return DecisionRequest.model_validate_json(await request.read())
    except ValidationError as exc:
        raise ValidationFailed(
            'Send a JSON body {"reason": "..."} (1-500 characters) with the decision.',
            [
                FieldError(field=".".join(map(str, e["loc"])) or "(body)", message=e["msg"])
                for e in exc.errors(include_url=False)
            ],
        ) from None


def _decide(approve: bool) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        member = staff_who_may(request, Capability.DECIDE_APPROVALS)
        decision = await _decision(request)
        desk = request.app[GUARDRAILS].desk

        async def on_record(held: HeldCall) -> None:
            await record_admin_action(
                request.app[AUDIT_STORE],
                request_id=request[REQUEST_ID],
                actor=member.id,
                action="approve" if approve else "reject",
                target=held.id,
                detail=f"{held.operation} by {held.agent_id}: {decision.reason}",
                config_version=request.app[IN_FORCE].current.version,
            )

        in_flight = request.app[IN_FLIGHT]
        overloaded = in_flight.enter() if approve else None  # before anything is decided
        if overloaded is not None:
            raise overloaded
        try:
            held = await desk.decide(
                request.match_info["id"], member, approve, decision.reason, on_record
            )
        finally:
            if approve:
                in_flight.leave()
        return web.json_response(_for_staff(request, member, held))

    return handler


def add_approval_routes(app: web.Application) -> None:
    app.router.add_get("/v1/approvals", _list)
    app.router.add_get("/v1/approvals/{id}", _get)
    app.router.add_post("/v1/approvals/{id}/approve", _decide(approve=True))
    app.router.add_post("/v1/approvals/{id}/reject", _decide(approve=False))
