"""Builds the audit store the ``audit:`` section names."""

from __future__ import annotations

from gateway.audit.store import AuditStore
from gateway.audit.store_postgres import PostgresAuditStore
from gateway.audit.store_sqlite import SqliteAuditStore
from gateway.config import AuditConfig
from gateway.postgres import Postgres


def build_audit_store(
    config: AuditConfig, postgres: Postgres | None, *, writer: str | None = None
) -> AuditStore:
    """SQLite at ``audit.path`` by default; ``store: postgres`` is the fleet's one trail,
    appended to by this process as ``writer`` (default ``host:pid``)."""
    if config.store == "postgres":
        if postgres is None:
            raise ValueError("audit.store: postgres needs a postgres: section")
        return PostgresAuditStore.from_config(config, postgres, writer=writer)
    return SqliteAuditStore.from_config(config)
