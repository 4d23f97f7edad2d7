"""The ``agents:`` and ``staff:`` sections: who may call, and who may oversee."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from gateway.config.primitives import Section


class AgentConfig(Section):
    """An agent: who it is, who answers for it, which operations it may call."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    owner: str = Field(min_length=1, description="Accountable team or person")
    team: str | None = None
    environment: str = "production"
    key_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 hex digest of the agent's API key",
    )
    token_subject: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="The value of oidc.agent_claim in this agent's access tokens from the "
        "identity provider (its client id, say)",
    )
    operations: list[str] = Field(
        min_length=1,
        description="Allow-list of operation names; '*' matches within and across dots",
    )
    may_see: list[str] = Field(
        default=[], description="sensitive field categories this agent may see unredacted"
    )
    revoked: bool = False

    @model_validator(mode="after")
    def _signs_in_somehow(self) -> AgentConfig:
        if self.key_sha256 is None and self.token_subject is None:
            raise ValueError("an agent needs key_sha256, token_subject, or both")
        return self


class StaffRole(StrEnum):
    """What a person may do at the gateway; agents never hold these roles."""

    APPROVER = "approver"  # decides on calls held for approval
    OPERATOR = "operator"  # halts and resumes traffic
    AUDITOR = "auditor"  # reads the audit trail, nothing else


class StaffConfig(Section):
    """A person with their own key: approvers, operators, auditors."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._@-]{0,127}$")
    name: str = ""
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    roles: list[StaffRole] = Field(
        description="What this person may do; [] keeps a known person with no powers "
        "(their key is recognised, every staff route answers 403)"
    )
    may_see: list[str] = Field(
        default=[],
        description="sensitive field categories this person may see unmasked in held "
        "calls' input (as an agent's may_see does for answers); others stay masked",
    )
    revoked: bool = False
    oidc_subject: str | None = Field(
        default=None,
        max_length=255,
        description="The value of console.oidc.staff_claim in this person's ID token, "
        "for console sign-in through the identity provider",
    )
