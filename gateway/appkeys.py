"""The typed keys under which the application holds what requests need (no globals)."""

from __future__ import annotations

from aiohttp import web

from gateway.audit.store import AuditStore
from gateway.config import Config
from gateway.fleet.registry import ProcessRegistry
from gateway.guardrails.runtime import Guardrails
from gateway.metrics import Metrics
from gateway.pipeline import Pipeline
from gateway.postgres import Postgres
from gateway.registry import Registry
from gateway.reload.board import ConfigBoard
from gateway.reload.in_force import ConfigInForce
from gateway.resilience.guard import Resilience
from gateway.state.store import StateStore

CONFIG = web.AppKey("config", Config)
REGISTRY = web.AppKey("registry", Registry)
IN_FORCE = web.AppKey("in_force", ConfigInForce)  # agents, staff, policies, budgets, limits
CONFIG_BOARD = web.AppKey("config_board", ConfigBoard)  # publishes reloads
PIPELINE = web.AppKey("pipeline", Pipeline)
AUDIT_STORE = web.AppKey("audit_store", AuditStore)
METRICS = web.AppKey("metrics", Metrics)
GUARDRAILS = web.AppKey("guardrails", Guardrails)
RESILIENCE = web.AppKey("resilience", Resilience)
STATE_STORE = web.AppKey("state_store", StateStore)
POSTGRES = web.AppKey("postgres", Postgres)  # set only when gateway.yaml has postgres:
FLEET = web.AppKey("fleet", ProcessRegistry)  # set only when gateway.yaml has postgres:
