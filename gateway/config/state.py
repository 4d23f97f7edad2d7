"""The ``state:`` section of gateway.yaml: the store behind limits, keys and budgets."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway.config.primitives import EnvStr, Section


class StateConfig(Section):
    """Where limits, idempotency keys and budgets live (see gateway/state)."""

    store: Literal["memory", "sqlite", "redis"] = "memory"
    path: EnvStr = "lastmile-state.sqlite"  # for store: sqlite
    url: EnvStr = "redis://127.0.0.1:6379/0"  # for store: redis
    prefix: EnvStr = Field(default="lastmile:", description="Redis key prefix")
    reads_fail_open: bool = Field(
        default=False,
        description="If the store cannot be reached, let reads through unlimited (writes "
        "always fail closed with 503 state_unavailable).",
    )
