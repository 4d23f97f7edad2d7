"""The halt drill: "how fast can we stop it?" as a measured number, on demand.

A drill halts a synthetic agent (``lastmile-drill``, which no key can act as) through
the same halt board as a real halt, waits until every live gateway process has
confirmed it, checks that the board now refuses that agent, then resumes it and waits
for that confirmation too. Both times and the processes that confirmed are kept (the
latest 20 drills, in the shared state store) and each step is an audit event.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

from aiohttp import web

from gateway.api.middleware import REQUEST_ID
from gateway.appkeys import AUDIT_STORE, CONFIG, GUARDRAILS, STATE_STORE
from gateway.audit.admin import record_admin_action
from gateway.console.web import member_may, see_other
from gateway.guardrails.halts import HaltScope
from gateway.staff_roles import Capability

DRILL_AGENT = "lastmile-drill"
HISTORY_KEY = "console:halt-drills"
HISTORY_SIZE = 20
HISTORY_TTL_S = 366 * 86400.0


@dataclass(frozen=True, slots=True)
class Drill:
    at: float
    operator: str
    halt_ms: float  # from the request until every live process confirmed the halt
    resume_ms: float  # the same for the resume
    acknowledged: bool  # both confirmed by every live process before the deadline
    enforced: bool  # the board refused the drill agent while halted
    processes: int


async def history(request: web.Request) -> list[Drill]:
    raw = await request.config_dict[STATE_STORE].get(HISTORY_KEY)
    return [Drill(**d) for d in json.loads(raw)] if raw else []


async def run(request: web.Request) -> web.Response:
    member = member_may(request, Capability.HALT)
    app = request.config_dict
    board, within = app[GUARDRAILS].halts, app[CONFIG].guardrails.halts.confirm_within
    started = time.perf_counter()
    halt = await board.halt(HaltScope.AGENT, DRILL_AGENT, "halt drill", member.id)
    halted = await board.acknowledge(within)
    halt_ms = (time.perf_counter() - started) * 1000
    enforced = await board.check(DRILL_AGENT, None, "drill") is not None
    started = time.perf_counter()
    await board.resume(halt.id)
    resumed = await board.acknowledge(within)
    resume_ms = (time.perf_counter() - started) * 1000
    drill = Drill(
        at=time.time(),
        operator=member.id,
        halt_ms=round(halt_ms, 1),
        resume_ms=round(resume_ms, 1),
        acknowledged=halted.acknowledged and resumed.acknowledged,
        enforced=enforced,
        processes=max(len(halted.confirmed), 1),
    )
    kept = [drill, *await history(request)][:HISTORY_SIZE]
    payload = json.dumps([asdict(d) for d in kept]).encode()
    await app[STATE_STORE].put(HISTORY_KEY, payload, HISTORY_TTL_S)
    await record_admin_action(
        app[AUDIT_STORE],
        request_id=request[REQUEST_ID],
        actor=member.id,
        action="halt_drill",
        target=halt.id,
        detail=f"halted and confirmed in {drill.halt_ms} ms, resumed in {drill.resume_ms} ms; "
        f"acknowledged={drill.acknowledged} enforced={drill.enforced}",
    )
    return see_other("/console/halts#drills")
