"""The operators' API: the kill switch.

- ``POST /v1/admin/halts`` ``{"scope": "agent", "target": "support-bot", "reason": "..."}``
  (scope ``all`` takes no target); the next matching call is refused with ``halted``;
- ``GET /v1/admin/halts``: the live halts;
- ``DELETE /v1/admin/halts/{id}``: resume (the id is ``all`` or ``<scope>:<target>``);
- ``POST /v1/admin/policies/reload``: re-read and validate the policy files; all or
  nothing (a bad file leaves the running policies in force).

Each halt, resume and reload is an audit event naming the operator.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.api.approvals import staff_with_role
from gateway.api.middleware import REQUEST_ID
from gateway.appkeys import AGENTS, AUDIT_STORE, CONFIG, GUARDRAILS, REGISTRY
from gateway.audit.admin import record_admin_action
from gateway.config import StaffRole
from gateway.guardrails.halts import HaltScope
from gateway.guardrails.policy import PolicyError
from gateway.guardrails.runtime import load_policy
from schemas.errors import FieldError, NotFound, PolicyInvalid, ValidationFailed


class HaltRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: HaltScope
    target: Annotated[str, Field(max_length=200)] = ""
    reason: Annotated[str, Field(min_length=1, max_length=500)]


def _known_target(request: web.Request, scope: HaltScope, target: str) -> bool:
    app = request.app
    if scope is HaltScope.ALL:
        return True
    if scope is HaltScope.AGENT:
        return app[AGENTS].find(target) is not None
    if scope is HaltScope.BACKEND:
        return target in app[REGISTRY].adapters
    return target in app[REGISTRY].operations


async def _halt(request: web.Request) -> web.Response:
    member = staff_with_role(request, StaffRole.OPERATOR)
    try:
        wanted = HaltRequest.model_validate_json(await request.read())
    except ValidationError as exc:
        raise ValidationFailed(
            'Send {"scope": "all|agent|backend|operation", "target": "...", "reason": "..."}.',
            [
                FieldError(field=".".join(map(str, e["loc"])) or "(body)", message=e["msg"])
                for e in exc.errors(include_url=False)
            ],
        ) from None
    if not _known_target(request, wanted.scope, wanted.target):
        raise ValidationFailed(
            f"There is no {wanted.scope.value} named {wanted.target[:100]!r} to halt.",
            [FieldError(field="target", message="unknown", received=wanted.target[:100])],
        )
    halt = await request.app[GUARDRAILS].halts.halt(
        wanted.scope, wanted.target, wanted.reason, member.id
    )
    await record_admin_action(
        request.app[AUDIT_STORE],
        request_id=request[REQUEST_ID],
        actor=member.id,
        action="halt",
        target=halt.id,
        detail=wanted.reason,
    )
    return web.json_response(asdict(halt), status=201)


async def _list(request: web.Request) -> web.Response:
    staff_with_role(request, StaffRole.OPERATOR)
    halts = await request.app[GUARDRAILS].halts.all()
    return web.json_response({"halts": [asdict(h) for h in halts]})


async def _resume(request: web.Request) -> web.Response:
    member = staff_with_role(request, StaffRole.OPERATOR)
    halt_id = request.match_info["id"]
    halt = await request.app[GUARDRAILS].halts.resume(halt_id)
    if halt is None:
        raise NotFound(f"There is no halt {halt_id[:100]!r}; GET /v1/admin/halts lists them.")
    await record_admin_action(
        request.app[AUDIT_STORE],
        request_id=request[REQUEST_ID],
        actor=member.id,
        action="resume",
        target=halt.id,
        detail=f"resumed (halted since {halt.since} by {halt.operator}: {halt.reason})",
    )
    return web.json_response({**asdict(halt), "resumed_by": member.id})


async def _reload(request: web.Request) -> web.Response:
    member = staff_with_role(request, StaffRole.OPERATOR)
    app = request.app
    config = app[CONFIG]
    try:
        engine = await asyncio.to_thread(load_policy, config, app[REGISTRY], app[AGENTS])
    except PolicyError as exc:
        raise PolicyInvalid(
            "The policy files have problems; the running policies stay in force: "
            + "; ".join(exc.problems[:5]),
            extras={"problems": exc.problems},
        ) from None
    app[GUARDRAILS].policy = engine
    count = len(engine.rules) if engine else 0
    await record_admin_action(
        app[AUDIT_STORE],
        request_id=request[REQUEST_ID],
        actor=member.id,
        action="policy_reload",
        target=", ".join(config.guardrails.policies) or "(no policy files)",
        detail=f"{count} policies in force",
    )
    return web.json_response({"policies": count, "files": config.guardrails.policies})


def add_admin_routes(app: web.Application) -> None:
    app.router.add_post("/v1/admin/halts", _halt)
    app.router.add_get("/v1/admin/halts", _list)
    app.router.add_delete("/v1/admin/halts/{id}", _resume)
    app.router.add_post("/v1/admin/policies/reload", _reload)
