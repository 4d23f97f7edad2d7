"""The guardrails of one gateway, assembled from config at start-up.

What is built here lives as long as the process: the approval desk and the halt board
bound to their stores, the redactor. The policies and budgets change with a reload, so
they live in the configuration in force (:mod:`gateway.reload.in_force`); the checks
here are those of ``check-config``. A bad policy file or budget ends start-up with every
problem listed (:class:`PolicyError`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from gateway.config import Config
from gateway.guardrails.approval_store import HeldCallStore, SqliteHeldCallStore
from gateway.guardrails.approval_store_postgres import PostgresHeldCallStore
from gateway.guardrails.approvals import ApprovalDesk
from gateway.guardrails.budgets import BudgetBook
from gateway.guardrails.halts import HaltBoard, StateHaltBoard
from gateway.guardrails.held_preview import registry_previewer
from gateway.guardrails.policy import PolicyEngine, PolicyError
from gateway.guardrails.redaction import Redactor
from gateway.identity import AgentDirectory
from gateway.postgres import Postgres
from gateway.registry import Registry
from gateway.state import Clock, StateStore


@dataclass(slots=True)
class Guardrails:
    halts: HaltBoard
    desk: ApprovalDesk
    redactor: Redactor
    state: StateStore


def _halt_targets(registry: Registry, agents: Callable[[], AgentDirectory]) -> list[str]:
    """Every halt id besides ``all`` that a call could meet (with the agents in force)."""
    return [
        *(f"agent:{agent.id}" for agent in agents().holders()),
        *(f"backend:{name}" for name in registry.adapters),
        *(f"operation:{name}" for name in registry.operations),
    ]


def approvals_path(config: Config) -> Path:
    configured = config.guardrails.approvals.path
    if configured:
        return Path(configured)
    audit = Path(config.audit.path)
    return audit.with_name(audit.stem + "-approvals.sqlite")


def build_held_call_store(config: Config, postgres: Postgres | None) -> HeldCallStore:
    """SQLite beside the audit trail by default; ``store: postgres`` is the fleet's one
    desk (the config refuses that choice without a ``postgres:`` section)."""
    if config.guardrails.approvals.store == "postgres":
        if postgres is None:
            raise ValueError("guardrails.approvals.store: postgres needs a postgres: section")
        return PostgresHeldCallStore(postgres)
    return SqliteHeldCallStore(approvals_path(config))


def load_policy(
    config: Config, registry: Registry, directory: AgentDirectory
) -> PolicyEngine | None:
    files = config.guardrails.policies
    if not files:
        return None
    return PolicyEngine.load(files, list(registry.operations.values()), directory.holders())


def check_guardrails(config: Config, registry: Registry) -> None:
    """Raise :class:`PolicyError` for budgets that name nothing or fields inputs lack,
    and for policy files that do not parse or validate."""
    section = config.guardrails
    problems = BudgetBook(section.budgets, section.costs, time.time).check(registry.operations)
    if problems:
        raise PolicyError("guardrails.budgets", problems)
    load_policy(config, registry, AgentDirectory.from_config(config.agents))


def build_guardrails(
    config: Config,
    registry: Registry,
    agents: Callable[[], AgentDirectory],
    state: StateStore,
    clock: Clock,
    postgres: Postgres | None = None,
    *,
    halts: HaltBoard | None = None,
) -> Guardrails:
    """``halts``: the fleet's board when PostgreSQL holds them (built with the process
    registry in the app); by default halts live in the state store. ``agents``: the
    directory in force now (a reload may add or remove agents)."""
    section = config.guardrails
    desk = ApprovalDesk(
        build_held_call_store(config, postgres), clock, section.approvals.expire_after
    )
    desk.previewer = registry_previewer(registry)
    return Guardrails(
        halts=halts or StateHaltBoard(state, partial(_halt_targets, registry, agents)),
        desk=desk,
        redactor=Redactor(section.redaction.mode),
        state=state,
    )
