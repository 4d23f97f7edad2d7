"""The ``audit:`` section: where the trail lives, its signed checkpoints, retention."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from gateway.config.primitives import EnvStr, Secret, Section


class CheckpointConfig(Section):
    """Signed checkpoints of the audit log; the key never enters the audit store.

    ``key`` (a ``${ENV_VAR}`` holding a PEM or base64 Ed25519 private key) or ``key_file``
    (a PEM file); with neither, each process signs with a fresh key and logs a warning.
    """

    key: Secret | None = None
    key_file: EnvStr | None = None
    create_key_file: bool = False  # make ``key_file`` (mode 0600) on first start if absent
    every_events: int = Field(default=1000, ge=1, le=1_000_000)
    every_s: float = Field(default=60.0, gt=0, le=86_400)


class RetentionConfig(Section):
    """How long events are kept; ``days: null`` keeps them forever."""

    days: int | None = Field(default=None, ge=1)
    check_every_s: float = Field(default=3600.0, gt=0)


class AuditConfig(Section):
    """``store: sqlite`` (the embedded default, at ``path``) or ``postgres`` (the fleet's
    one trail, in the database of the ``postgres:`` section)."""

    store: Literal["sqlite", "postgres"] = "sqlite"
    path: EnvStr = "lastmile-audit.sqlite"
    checkpoints: CheckpointConfig = CheckpointConfig()
    retention: RetentionConfig = RetentionConfig()

    @model_validator(mode="after")
    def _one_key_source(self) -> AuditConfig:
        if self.checkpoints.key is not None and self.checkpoints.key_file is not None:
            raise ValueError("give checkpoints.key or checkpoints.key_file, not both")
        if (
            self.store == "postgres"
            and self.checkpoints.key is None
            and (self.checkpoints.key_file is None or self.checkpoints.create_key_file)
        ):
            raise ValueError(
                "audit.store: postgres is one trail signed by every process: give the fleet's "
                "one signing key as checkpoints.key (${ENV}) or an existing checkpoints.key_file "
                "(create_key_file would make a different key on each host)"
            )
        if self.checkpoints.key_file is not None and Path(self.checkpoints.key_file) == Path(
            self.path
        ):
            raise ValueError("the signing key must not live in the audit store")
        return self
