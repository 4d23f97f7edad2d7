"""A test backend with a write whose input holds sensitive fields (a bank account and a
contact), so the approvals inbox has something to mask. It answers without contacting
any system: the tests are about what an approver sees before it runs."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from adapters.base import Canonical, OperationSet
from adapters.rest import RestClient
from schemas.common import CanonicalModel, Effect, Risk, Sensitive


class PayeeChange(CanonicalModel):
    payee: str = Field(max_length=40)
    iban: Annotated[str, Sensitive("bank_account")] = Field(max_length=34)
    contact: Annotated[str | None, Sensitive("personal_contact")] = None


class PayeeChanged(CanonicalModel):
    payee: str


operations: OperationSet[RestClient] = OperationSet()


@operations.operation(
    "payee.bank_account.change",
    input=PayeeChange,
    output=PayeeChanged,
    effect=Effect.WRITE,
    idempotent=True,
    risk=Risk.HIGH,
    owner="team-finance",
)
async def change(client: RestClient, request: PayeeChange) -> Canonical:
    """Acknowledge the change (no backend is contacted)."""
    return {"payee": request.payee}
