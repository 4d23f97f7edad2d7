"""Builds the audit store the ``audit:`` section names."""

from __future__ import annotations

from gateway.audit.store import AuditStore
from gateway.audit.store_sqlite import SqliteAuditStore
from gateway.config import AuditConfig
from gateway.postgres import Postgres


def build_audit_store(config: AuditConfig, postgres: Postgres | None) -> AuditStore:
    """SQLite at ``audit.path`` by default; ``store: postgres`` is the fleet's one trail."""
    if config.store == "postgres":
        raise NotImplementedError("audit.store: postgres is not built yet")
    return SqliteAuditStore.from_config(config)
