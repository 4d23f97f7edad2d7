"""The typed keys under which the application holds what requests need (no globals)."""

from __future__ import annotations

from aiohttp import web

from gateway.audit.store import AuditStore
from gateway.config import Config
from gateway.fleet.registry import ProcessRegistry
from gateway.guardrails.runtime import Guardrails
from gateway.identity import AgentDirectory, StaffDirectory
from gateway.metrics import Metrics
from gateway.pipeline import Pipeline
from gateway.postgres import Postgres
from gateway.registry import Registry
from gateway.resilience.guard import Resilience
from gateway.state.store import StateStore

CONFIG = web.AppKey("config", Config)
REGISTRY = web.AppKey("registry", Registry)
AGENTS = web.AppKey("agents", AgentDirectory)
STAFF = web.AppKey("staff", StaffDirectory)
PIPELINE = web.AppKey("pipeline", Pipeline)
AUDIT_STORE = web.AppKey("audit_store", AuditStore)
METRICS = web.AppKey("metrics", Metrics)
GUARDRAILS = web.AppKey("guardrails", Guardrails)
RESILIENCE = web.AppKey("resilience", Resilience)
STATE_STORE = web.AppKey("state_store", StateStore)
POSTGRES = web.AppKey("postgres", Postgres)  # set only when gateway.yaml has postgres:
FLEET = web.AppKey("fleet", ProcessRegistry)  # set only when gateway.yaml has postgres:
