"""Agents and owners: who is accountable for each agent, what it may call, and whether
it is halted or its key revoked, its budgets (spent, limit, when the window resets) and
its latest call from the audit trail.

Budgets are read from the shared state store without charging anything; budgets kept
per end user are listed with their limit only (there is one total per person)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web

from gateway.appkeys import AUDIT_STORE, GUARDRAILS, IN_FORCE
from gateway.audit.store import AuditQuery
from gateway.console.roles import Capability
from gateway.console.web import member_may, page
from gateway.guardrails.budgets import Budget
from gateway.guardrails.halts import HaltScope
from gateway.identity import Agent
from gateway.state.store import StateStore, from_micro
from schemas.errors import StateUnavailable


@dataclass(frozen=True, slots=True)
class BudgetLine:
    id: str
    describe: str
    spent: str  # "" when kept per end user; "unknown" when the store cannot be read
    limit: str
    resets_in_s: int


async def _budgets(
    agent: Agent, budgets: tuple[Budget, ...], state: StateStore
) -> list[BudgetLine]:
    lines = []
    now = time.time()
    for budget in budgets:
        if not any(p.fullmatch(agent.id) for p in budget.agents):
            continue
        window = budget.calendar.window_at(now)
        spent = ""
        if budget.config.per != "on_behalf_of":
            try:
                spent = str(from_micro(await state.spent(budget.key(agent.id, None), window)))
            except StateUnavailable:
                spent = "unknown"
        lines.append(
            BudgetLine(
                budget.id,
                budget.describe(),
                spent,
                f"{budget.config.limit:f}",
                int(max(window.ends_at - now, 0)),
            )
        )
    return lines


async def agents(request: web.Request) -> web.Response:
    member_may(request, Capability.SEE_AGENTS)
    app = request.config_dict
    guards = app[GUARDRAILS]
    halts = await guards.halts.all()
    everything = any(h.scope is HaltScope.ALL for h in halts)
    halted = {h.target for h in halts if h.scope is HaltScope.AGENT}
    store = app[AUDIT_STORE]
    rows = []
    for agent in sorted(app[IN_FORCE].current.agents.holders(), key=lambda a: a.id):
        last = await store.search(
            AuditQuery(agent_id=agent.id, kind="call", descending=True, limit=1)
        )
        rows.append(
            {
                "agent": agent,
                "halted": everything or agent.id in halted,
                "last": last[0].event if last else None,
                "budgets": await _budgets(
                    agent, app[IN_FORCE].current.budgets.budgets, guards.state
                ),
            }
        )
    return page(request, "agents.html", {"rows": rows})
