"""The whole of gateway.yaml: one model, made of one model per section."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from gateway.config.audit import AuditConfig
from gateway.config.backends import ODataBackendConfig, RestBackendConfig, SoapBackendConfig
from gateway.config.fleet import FleetConfig, PostgresConfig
from gateway.config.guardrails import GuardrailsConfig
from gateway.config.identity import AgentConfig, StaffConfig
from gateway.config.mcp import McpConfig
from gateway.config.observability import LoggingConfig, TracingConfig
from gateway.config.oidc import ConsoleConfig, OidcConfig
from gateway.config.primitives import Section
from gateway.config.resilience import ResilienceConfig
from gateway.config.server import ServerConfig
from gateway.config.state import StateConfig

BackendConfig = Annotated[
    RestBackendConfig | SoapBackendConfig | ODataBackendConfig, Field(discriminator="kind")
]


class Config(Section):
    server: ServerConfig = ServerConfig()
    backends: dict[str, BackendConfig] = Field(min_length=1)
    agents: list[AgentConfig] = Field(default_factory=list)
    staff: list[StaffConfig] = Field(default_factory=list)
    console: ConsoleConfig = ConsoleConfig()
    audit: AuditConfig = AuditConfig()
    logging: LoggingConfig = LoggingConfig()
    tracing: TracingConfig = TracingConfig()
    guardrails: GuardrailsConfig = GuardrailsConfig()
    state: StateConfig = StateConfig()
    resilience: ResilienceConfig = ResilienceConfig()
    mcp: McpConfig = McpConfig()
    oidc: OidcConfig | None = None
    postgres: PostgresConfig | None = None
    fleet: FleetConfig = FleetConfig()

    @model_validator(mode="after")
    def _postgres_for_postgres_stores(self) -> Config:
        """A store that names ``postgres`` needs the ``postgres:`` section."""
        wanted = [
            name
            for name, store in (
                ("audit.store", self.audit.store),
                ("guardrails.approvals.store", self.guardrails.approvals.store),
                ("guardrails.halts.store", self.guardrails.halts.store),
            )
            if store == "postgres"
        ]
        if wanted and self.postgres is None:
            raise ValueError(f"{', '.join(wanted)}: postgres needs a postgres: section with a dsn")
        return self

    @model_validator(mode="after")
    def _unique_identities(self) -> Config:
        """Ids are unique per kind; a key belongs to exactly one agent or person."""
        seen_keys: set[str] = set()
        for kind, holders in (("agent", self.agents), ("staff member", self.staff)):
            seen_ids: set[str] = set()
            for holder in holders:
                if holder.id in seen_ids:
                    raise ValueError(f"{kind} id {holder.id!r} appears twice")
                if holder.key_sha256 is not None and holder.key_sha256 in seen_keys:
                    raise ValueError(f"{kind} {holder.id!r} shares its key with another holder")
                seen_ids.add(holder.id)
                if holder.key_sha256 is not None:
                    seen_keys.add(holder.key_sha256)
        return self

    @model_validator(mode="after")
    def _token_subjects(self) -> Config:
        """A token subject names one agent, and needs a provider to come from."""
        seen: set[str] = set()
        for agent in self.agents:
            if agent.token_subject is None:
                continue
            if self.oidc is None:
                raise ValueError(
                    f"agent {agent.id!r} has a token_subject but there is no oidc: section "
                    "naming the identity provider that issues its tokens"
                )
            if agent.token_subject in seen:
                raise ValueError(f"agent {agent.id!r} shares its token_subject with another")
            seen.add(agent.token_subject)
        return self
