"""Placing and lifting a halt as an operator's act, for every face that offers it (the
admin API, the console): the board changes, and the act is written to the audit trail
naming the operator and the configuration version in force."""

from __future__ import annotations

from aiohttp import web

from gateway.api.middleware import REQUEST_ID
from gateway.appkeys import AUDIT_STORE, GUARDRAILS, IN_FORCE
from gateway.audit.admin import record_admin_action
from gateway.guardrails.halts import Halt, HaltScope


async def place_halt(
    request: web.Request, actor: str, scope: HaltScope, target: str, reason: str, *, via: str = ""
) -> Halt:
    """``via`` names the face in the audit event's detail (``console``); empty for the API."""
    app = request.config_dict
    halt = await app[GUARDRAILS].halts.halt(scope, target, reason, actor)
    await record_admin_action(
        app[AUDIT_STORE],
        request_id=request[REQUEST_ID],
        actor=actor,
        action="halt",
        target=halt.id,
        detail=reason + (f" ({via})" if via else ""),
        config_version=app[IN_FORCE].current.version,
    )
    return halt


async def lift_halt(
    request: web.Request, actor: str, halt_id: str, *, via: str = ""
) -> Halt | None:
    """The halt lifted, or None if there was none (nothing is recorded then)."""
    app = request.config_dict
    halt = await app[GUARDRAILS].halts.resume(halt_id)
    if halt is None:
        return None
    detail = f"resumed (halted since {halt.since} by {halt.operator}: {halt.reason})"
    await record_admin_action(
        app[AUDIT_STORE],
        request_id=request[REQUEST_ID],
        actor=actor,
        action="resume",
        target=halt.id,
        detail=detail + (f" ({via})" if via else ""),
        config_version=app[IN_FORCE].current.version,
    )
    return halt
