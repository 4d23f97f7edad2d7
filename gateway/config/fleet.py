"""The ``postgres:`` and ``fleet:`` sections: the shared engine several processes use.

With ``postgres:`` configured, stores that name ``postgres`` (the audit trail, the
approvals desk, the halts) share one database, and every process registers itself
so operators and auditors can see who writes and who has confirmed a halt.
"""

from __future__ import annotations

from pydantic import Field

from gateway.config.primitives import Duration, EnvStr, Secret, Section


class PostgresConfig(Section):
    """One connection pool per process. The DSN may carry a password, so it is a secret
    (``${LASTMILE_POSTGRES_DSN}``) and never appears in answers or logs."""

    dsn: Secret
    pool_min: int = Field(default=1, ge=0, le=100)
    pool_max: int = Field(default=10, ge=1, le=200)
    connect_timeout: Duration = 5.0
    statement_timeout: Duration = 10.0


class FleetConfig(Section):
    """How processes find each other through the registry (only with ``postgres:``)."""

    name: EnvStr | None = Field(
        default=None, description="this process's name in the registry; default host:pid"
    )
    heartbeat_every: Duration = 1.0
    lost_after: Duration = 5.0
    config_poll_every: Duration = Field(
        default=1.0,
        description="how often a process checks for a new configuration version "
        "besides being notified",
    )
    config_confirm_within: Duration = Field(
        default=5.0, description="how long a reload waits for every live process to adopt it"
    )
