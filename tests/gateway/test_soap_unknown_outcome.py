"""A credit note the ERP committed but answered too late is never posted twice.

The ERP sandbox's ``commit_then_timeout`` mode books the credit note and holds the reply
past the gateway's 0.5 s timeout. With an Idempotency-Key, the SOAP adapter stores the
call's backend key in the credit note's EXTKEY field and looks it up before any re-send:
however the gateway and the agent retry, the ERP holds exactly one credit note.
"""

from __future__ import annotations

from tests.erp import SUPPORT as SUPPORT_KEY
from tests.erp import FinanceGateway

CREATE = "finance.credit_notes.create"
CREDIT = {
    "customer_id": "100001",
    "invoice_number": "9000000001",
    "amount": {"amount": "25.00", "currency": "EUR"},
    "reason": "damaged_goods",
    "text": "torn sacks",
    "reference": "CASE-4711",
    "posting_date": "2026-11-26",
}


async def post(gateway: FinanceGateway, key: str) -> tuple[int, dict[str, object], str]:
    response = await gateway.client.post(
        f"/v1/operations/{CREATE}",
        json=CREDIT,
        headers={"Authorization": f"Bearer {SUPPORT_KEY}", "Idempotency-Key": key},
    )
    return response.status, await response.json(), response.headers["X-Request-Id"]


async def test_a_credit_note_committed_but_timed_out_is_found_not_posted_again(
    finance_gateway: FinanceGateway,
) -> None:
    erp = finance_gateway.erp
    await erp.fault("commit_then_timeout", delay_s=60)

    status, body, request_id = await post(finance_gateway, "case-4711-credit")

    assert status == 200, body
    output = body["output"]
    assert isinstance(output, dict)
    assert output["invoice_open_amount"] == {"amount": "1165.00", "currency": "EUR"}
    assert (await erp.stats())["credit_notes"] == 1
    [event] = await finance_gateway.audit(request_id)
    assert [a.error_code for a in event.attempts] == ["timeout", None]
    assert event.attempts[1].detail == "found by its external reference"

    for _ in range(3):  # the agent, unsure, sends the same call with the same key again
        status, again, _ = await post(finance_gateway, "case-4711-credit")
        assert status == 200
        assert again["output"] == output
    assert (await erp.stats())["credit_notes"] == 1
