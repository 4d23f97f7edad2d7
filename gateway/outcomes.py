"""What happened to a call: one small frozen type per kind of ending.

Stages return these and faces render them; wrapping stages decide by type:

- :class:`Answered`: the backend answered and the answer fits the contract.
- :class:`Previewed`: a dry run; nothing was sent, nothing spent.
- :class:`Held`: stored for a person to approve (202).
- :class:`Replayed`: the stored ending of an earlier call with the same idempotency key.
- :class:`Refused`: ended by the gateway before the backend was asked.
- :class:`Failed`: the backend was asked and the call failed (or the gateway broke).

:class:`Received` is the backend's raw answer on its way from the backend call to output
validation; it never leaves the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from adapters.base import Canonical
from schemas.errors import ApprovalRequired, GatewayError


@dataclass(frozen=True, slots=True)
class Received:
    raw: Canonical


@dataclass(frozen=True, slots=True)
class Answered:
    output: BaseModel
    visible: Mapping[str, Any] | None = None  # the output as this agent may see it
    backend_reference: str | None = None  # what the write created, if it says

    def shown(self) -> Mapping[str, Any]:
        """The output as the agent sees it (redacted when ``Redact`` ran)."""
        return self.visible if self.visible is not None else self.output.model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class Previewed:
    report: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Held:
    approval_id: str
    expires_at: str | None
    reasons: tuple[str, ...]
    policy_ids: tuple[str, ...]

    @property
    def status_url(self) -> str:
        return f"/v1/approvals/{self.approval_id}"

    def as_error(self) -> ApprovalRequired:
        """The hold in the error vocabulary (MCP tool errors, the audit code 202)."""
        return ApprovalRequired(
            f"This call is held until a person approves it ({' '.join(self.reasons)}). "
            f"It is stored as {self.approval_id}; poll GET {self.status_url} with your key "
            "for the decision and the result. Sending the same call again with the same "
            "Idempotency-Key returns this approval; without a key it would be held again.",
            extras={
                "approval_id": self.approval_id,
                "status_url": self.status_url,
                "expires_at": self.expires_at,
                "policy_ids": list(self.policy_ids),
                "reasons": list(self.reasons),
            },
        )


@dataclass(frozen=True, slots=True)
class Refused:
    error: GatewayError


@dataclass(frozen=True, slots=True)
class Failed:
    error: GatewayError
    answered: bool = False  # the backend did answer (e.g. with data breaking the contract)


@dataclass(frozen=True, slots=True)
class Replayed:
    original: Answered | Held | Failed


Outcome = Answered | Previewed | Held | Replayed | Refused | Failed


def final(outcome: Outcome) -> Answered | Previewed | Held | Refused | Failed:
    """The ending a replay stands for (the outcome itself otherwise)."""
    return outcome.original if isinstance(outcome, Replayed) else outcome


def error_of(outcome: Outcome) -> GatewayError | None:
    """The error an outcome carries (a hold counts as ``approval_required``)."""
    ending = final(outcome)
    if isinstance(ending, Refused | Failed):
        return ending.error
    if isinstance(ending, Held):
        return ending.as_error()
    return None


def code_of(outcome: Outcome | Received) -> str:
    """The stable outcome code: ``ok`` (answered or previewed) or the problem code; an
    unvalidated answer that escaped is the gateway's bug."""
    if isinstance(outcome, Received):
        return "internal_error"
    ending = final(outcome)
    if isinstance(ending, Answered | Previewed):
        return "ok"
    if isinstance(ending, Held):
        return "approval_required"
    return ending.error.code


def status_of(outcome: Outcome) -> int:
    ending = final(outcome)
    if isinstance(ending, Answered | Previewed):
        return 200
    if isinstance(ending, Held):
        return 202
    return ending.error.status
