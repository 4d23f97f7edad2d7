"""Agents and owners: who is accountable for each agent, what it may call, and whether
it is halted or its key revoked, its budgets (spent, limit, when the window resets) and
its latest call from the audit trail.

Budgets are read from the shared state store without charging anything; budgets kept
per end user are listed with their limit only (there is one total per person). The
agent's own rate limit (``resilience.rate_limits``) shows its headroom, read with the
store's non-mutating :meth:`~gateway.state.store.StateStore.headroom`: how many calls
would be admitted now, and when the quota is whole again. Per-operation and per-backend
limits are not listed."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web

from gateway.appkeys import AUDIT_STORE, GUARDRAILS, IN_FORCE
from gateway.audit.store import AuditQuery
from gateway.config.resilience import RateLimitsConfig
from gateway.console.web import member_may, page
from gateway.guardrails.budgets import Budget
from gateway.guardrails.halts import HaltScope
from gateway.identity import Agent
from gateway.staff_roles import Capability
from gateway.state.store import Rate, StateStore, from_micro
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


@dataclass(frozen=True, slots=True)
class Headroom:
    limit: int
    window_s: float
    remaining: int | None  # None when the store cannot be read
    full_in_s: float


async def _headroom(agent: Agent, limits: RateLimitsConfig, state: StateStore) -> Headroom | None:
    config = limits.agents.get(agent.id, limits.agent)
    if config is None:
        return None
    try:
        # the key the Limit stage takes from (gateway/stages/limits.py)
        found = await state.headroom(f"rl:agent:{agent.id}", Rate(config.limit, config.window_s))
    except StateUnavailable:
        return Headroom(config.limit, config.window_s, None, 0.0)
    return Headroom(config.limit, config.window_s, found.remaining, found.reset_s)


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
                "headroom": await _headroom(
                    agent, app[IN_FORCE].current.resilience.rate_limits, guards.state
                ),
            }
        )
    return page(request, "agents.html", {"rows": rows})
