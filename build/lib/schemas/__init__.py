"""Models that agents, adapters and auditors agree on. Pure pydantic; no I/O."""

from schemas.api import (
    BackendReadiness,
    Catalog,
    CatalogEntry,
    InvocationResult,
    Problem,
    Readiness,
)
from schemas.audit import AuditEvent, Decision
from schemas.common import CanonicalModel, Effect, Risk, Sensitive

__all__ = [
    "AuditEvent",
    "BackendReadiness",
    "CanonicalModel",
    "Catalog",
    "CatalogEntry",
    "Decision",
    "Effect",
    "InvocationResult",
    "Problem",
    "Readiness",
    "Risk",
    "Sensitive",
]
