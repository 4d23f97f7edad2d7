"""Halt controls: stop all agents, one agent, one backend or one operation; resume.

The console uses the same halt board as ``POST /v1/admin/halts``: the page answers once
every live gateway process confirmed the change (or the confirmation deadline passed)
and shows that acknowledgement with the time from the operator's click until it.
A halt needs a reason and an explicit confirmation box; both are checked here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web

from gateway.api.halting import lift_halt, place_halt
from gateway.appkeys import CONFIG, GUARDRAILS, IN_FORCE, REGISTRY
from gateway.console import drill
from gateway.console.web import form, member_may, page
from gateway.guardrails.halts import Acknowledgement, Halt, HaltScope
from gateway.staff_roles import Capability
from schemas.errors import FieldError, NotFound, ValidationFailed


@dataclass(frozen=True, slots=True)
class Change:
    """What the operator just did, and how long until every process confirmed it."""

    action: str
    halt: Halt
    ack: Acknowledgement
    elapsed_ms: float


def _targets(request: web.Request) -> dict[str, list[str]]:
    app = request.config_dict
    return {
        "agent": sorted(a.id for a in app[IN_FORCE].current.agents.holders()),
        "backend": sorted(app[REGISTRY].adapters),
        "operation": sorted(app[REGISTRY].operations),
    }


async def _render(request: web.Request, change: Change | None, status: int = 200) -> web.Response:
    halts = await request.config_dict[GUARDRAILS].halts.all()
    drills = await drill.history(request)
    return page(
        request,
        "halts.html",
        {"halts": halts, "targets": _targets(request), "change": change, "drills": drills},
        status=status,
    )


async def board(request: web.Request) -> web.Response:
    member_may(request, Capability.SEE_HALTS)
    return await _render(request, None)


def _invalid(field: str, detail: str) -> ValidationFailed:
    return ValidationFailed(detail, [FieldError(field=field, message=detail)])


async def _acknowledge(request: web.Request, started: float) -> tuple[Acknowledgement, float]:
    within = request.config_dict[CONFIG].guardrails.halts.confirm_within
    ack = await request.config_dict[GUARDRAILS].halts.acknowledge(within)
    return ack, (time.perf_counter() - started) * 1000


async def halt(request: web.Request) -> web.Response:
    started = time.perf_counter()
    member = member_may(request, Capability.HALT)
    data = await form(request)
    try:
        scope = HaltScope(data.get("scope", ""))
    except ValueError:
        raise _invalid("scope", "Choose what to halt: all, agent, backend or operation.") from None
    target = "" if scope is HaltScope.ALL else data.get(f"target_{scope.value}", "").strip()
    reason = data.get("reason", "").strip()
    if scope is not HaltScope.ALL and target not in _targets(request)[scope.value]:
        raise _invalid("target", f"There is no {scope.value} by that name to halt.")
    if not 1 <= len(reason) <= 500:
        raise _invalid("reason", "A halt needs a reason (1-500 characters).")
    if data.get("confirm") != "yes":
        raise _invalid("confirm", "Tick the confirmation box: a halt refuses calls at once.")
    stopped = await place_halt(request, member.id, scope, target, reason, via="console")
    ack, elapsed = await _acknowledge(request, started)
    return await _render(request, Change("halted", stopped, ack, elapsed), 201)


async def resume(request: web.Request) -> web.Response:
    started = time.perf_counter()
    member = member_may(request, Capability.HALT)
    halt_id = (await form(request)).get("halt_id", "")
    resumed = await lift_halt(request, member.id, halt_id, via="console")
    if resumed is None:
        raise NotFound(f"There is no halt {halt_id[:100]!r} (already resumed?).")
    ack, elapsed = await _acknowledge(request, started)
    return await _render(request, Change("resumed", resumed, ack, elapsed))
