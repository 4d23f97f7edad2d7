"""Agents and owners: who is accountable for each agent, what it may call, and whether
it is halted or its key revoked, with its latest call from the audit trail."""

from __future__ import annotations

from aiohttp import web

from gateway.appkeys import AGENTS, AUDIT_STORE, GUARDRAILS
from gateway.audit.store import AuditQuery
from gateway.console.roles import Capability
from gateway.console.web import member_may, page
from gateway.guardrails.halts import HaltScope


async def agents(request: web.Request) -> web.Response:
    member_may(request, Capability.SEE_AGENTS)
    app = request.config_dict
    halts = await app[GUARDRAILS].halts.all()
    everything = any(h.scope is HaltScope.ALL for h in halts)
    halted = {h.target for h in halts if h.scope is HaltScope.AGENT}
    store = app[AUDIT_STORE]
    rows = []
    for agent in sorted(app[AGENTS].holders(), key=lambda a: a.id):
        last = await store.search(
            AuditQuery(agent_id=agent.id, kind="call", descending=True, limit=1)
        )
        rows.append(
            {
                "agent": agent,
                "halted": everything or agent.id in halted,
                "last": last[0].event if last else None,
            }
        )
    return page(request, "agents.html", {"rows": rows})
