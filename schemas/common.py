"""Vocabulary shared by every domain: how operations are classified and how models behave."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Effect(StrEnum):
    """Whether an operation only reads from the system of record or changes it."""

    READ = "read"
    WRITE = "write"


class Risk(StrEnum):
    """How much harm a wrong call can do; guardrails key approvals and limits off it."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class CanonicalModel(BaseModel):
    """Base of every model agents see.

    Strict and closed on purpose: agents get no silent coercion ("5" is not 5) and
    an unknown field is an error rather than something quietly dropped, so a typo
    in a write never reaches a system of record as a default value.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
