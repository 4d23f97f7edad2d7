"""The operators' API: the kill switch.

- ``POST /v1/admin/halts`` ``{"scope": "agent", "target": "support-bot", "reason": "..."}``
  (scope ``all`` takes no target); the next matching call is refused with ``halted``.
  The answer waits until every live gateway process has confirmed the halt (201,
  ``acknowledged: true``), or until ``guardrails.halts.confirm_within`` has passed (202,
  ``acknowledged: false``, with the processes that did not confirm in ``unconfirmed``);
- ``GET /v1/admin/halts``: the live halts;
- ``DELETE /v1/admin/halts/{id}``: resume (the id is ``all`` or ``<scope>:<target>``),
  acknowledged the same way;
- ``GET /v1/admin/processes``: the gateway processes in the registry (fleet only);
- ``POST /v1/admin/policies/reload``: re-read and validate the policy files; all or
  nothing (a bad file leaves the running policies in force). It is a configuration
  reload of the text in force (:mod:`gateway.api.admin_config`): in a fleet, every
  process re-reads its files, and the answer says which did.

Each halt, resume and reload is an audit event naming the operator.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.api.admin_config import add_config_routes, adoption_json, publish_config
from gateway.api.approvals import staff_with_role
from gateway.api.halting import lift_halt, place_halt
from gateway.appkeys import CONFIG, FLEET, GUARDRAILS, IN_FORCE, REGISTRY
from gateway.config import StaffRole
from gateway.guardrails.halts import HaltScope
from gateway.reload.in_force import ReloadRefused
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
        return app[IN_FORCE].current.agents.find(target) is not None
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
    halt = await place_halt(request, member.id, wanted.scope, wanted.target, wanted.reason)
    return await _acknowledged(request, asdict(halt), created=True)


async def _acknowledged(
    request: web.Request, body: dict[str, object], *, created: bool
) -> web.Response:
    """Answer once every live process confirmed the change, or say which did not."""
    config = request.app[CONFIG].guardrails.halts
    ack = await request.app[GUARDRAILS].halts.acknowledge(config.confirm_within)
    body = {
        **body,
        "acknowledged": ack.acknowledged,
        "confirmed_by": ack.confirmed,
        "unconfirmed": ack.unconfirmed,
    }
    if not ack.acknowledged:
        return web.json_response(body, status=202)
    return web.json_response(body, status=201 if created else 200)


async def _list(request: web.Request) -> web.Response:
    staff_with_role(request, StaffRole.OPERATOR)
    halts = await request.app[GUARDRAILS].halts.all()
    return web.json_response({"halts": [asdict(h) for h in halts]})


async def _resume(request: web.Request) -> web.Response:
    member = staff_with_role(request, StaffRole.OPERATOR)
    halt_id = request.match_info["id"]
    halt = await lift_halt(request, member.id, halt_id)
    if halt is None:
        raise NotFound(f"There is no halt {halt_id[:100]!r}; GET /v1/admin/halts lists them.")
    return await _acknowledged(request, {**asdict(halt), "resumed_by": member.id}, created=False)


async def _processes(request: web.Request) -> web.Response:
    staff_with_role(request, StaffRole.OPERATOR)
    fleet = request.app.get(FLEET)
    if fleet is None:
        raise NotFound(
            "This gateway runs alone (no postgres: section), so there is no process registry."
        )
    processes = await fleet.processes()
    return web.json_response({"self": fleet.name, "processes": [p.as_json() for p in processes]})


async def _reload(request: web.Request) -> web.Response:
    """Publish the configuration in force again: every process re-reads its policies."""
    try:
        snapshot, adoption = await publish_config(request, None, "policy reload", "policy_reload")
    except ReloadRefused as exc:
        raise PolicyInvalid(
            "The policy files have problems; the running policies stay in force: "
            + "; ".join(exc.problems[:5]),
            extras={"problems": exc.problems},
        ) from None
    engine = snapshot.policy
    files = snapshot.config.guardrails.policies
    body = {
        "policies": len(engine.rules) if engine else 0,
        "files": files,
        **adoption_json(snapshot, adoption),
    }
    return web.json_response(body, status=200 if adoption.acknowledged else 202)


def add_admin_routes(app: web.Application) -> None:
    app.router.add_post("/v1/admin/halts", _halt)
    app.router.add_get("/v1/admin/halts", _list)
    app.router.add_delete("/v1/admin/halts/{id}", _resume)
    app.router.add_post("/v1/admin/policies/reload", _reload)
    app.router.add_get("/v1/admin/processes", _processes)
    add_config_routes(app)
