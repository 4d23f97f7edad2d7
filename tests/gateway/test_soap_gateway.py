"""The ACME finance ERP through the gateway's HTTP API: JSON in, SOAP behind, JSON out."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.base import StartupFailed
from gateway.app import build_app
from gateway.config import parse_config
from tests.conftest import INVENTORY
from tests.erp import SOAP_CONFIG, TREASURY, Erp, FinanceGateway, finance_env

CREDIT = {
    "customer_id": "100001",
    "invoice_number": "9000000001",
    "amount": {"amount": "25.00", "currency": "EUR"},
    "reason": "damaged_goods",
    "text": "torn sacks",
    "reference": "CASE-4711",
    "posting_date": "2026-11-26",
}


async def test_support_bot_reads_a_customer_and_invoices(finance_gateway: FinanceGateway) -> None:
    customer = await finance_gateway.invoke("finance.customers.get", {"customer_id": "100001"})
    assert customer.status == 200
    assert (await customer.json())["output"]["tax_id"] == "[redacted:tax_id]"  # no may_see scope
    cleared = await finance_gateway.invoke(
        "finance.customers.get", {"customer_id": "100001"}, key=TREASURY
    )
    assert (await cleared.json())["output"]["tax_id"] == "DE129273398"

    listed = await finance_gateway.invoke(
        "finance.invoices.list", {"customer_id": "100001", "status": "open"}
    )
    assert listed.status == 200
    [invoice] = (await listed.json())["output"]["invoices"]
    assert invoice["open_amount"] == {"amount": "1190.00", "currency": "EUR"}
    assert invoice["due_date"] == "2026-11-04"

    one = await finance_gateway.invoke("finance.invoices.get", {"invoice_number": "9000000001"})
    lines = (await one.json())["output"]["lines"]
    assert [line["quantity"] for line in lines] == ["40.000", "20.000"]


async def test_a_credit_note_is_posted_once_and_lowers_the_open_amount(
    finance_gateway: FinanceGateway,
) -> None:
    response = await finance_gateway.invoke("finance.credit_notes.create", CREDIT)

    assert response.status == 200
    output = (await response.json())["output"]
    assert output["credit_note_number"] == "1700000001"
    assert output["invoice_open_amount"] == {"amount": "1165.00", "currency": "EUR"}
    assert (await finance_gateway.erp.stats())["credit_notes"] == 1


async def test_payments_need_the_scope_and_then_clear_the_invoice(
    finance_gateway: FinanceGateway,
) -> None:
    payment = {
        "customer_id": "100001",
        "invoice_number": "9000000001",
        "amount": {"amount": "1190.00", "currency": "EUR"},
        "method": "bank_transfer",
        "reference": "BANK-2026-11-26-1",
        "payment_date": "2026-11-26",
    }
    denied = await finance_gateway.invoke("finance.payments.post", payment)
    assert denied.status == 403

    posted = await finance_gateway.invoke("finance.payments.post", payment, key=TREASURY)
    assert posted.status == 200
    output = (await posted.json())["output"]
    assert output["invoice_status"] == "paid"
    assert output["method"] == "bank_transfer"


async def test_bad_input_never_reaches_the_erp(finance_gateway: FinanceGateway) -> None:
    bad = {**CREDIT, "amount": {"amount": "-5", "currency": "euro"}, "reason": "because"}
    response = await finance_gateway.invoke("finance.credit_notes.create", bad)

    assert response.status == 422
    fields = {e["field"] for e in (await response.json())["errors"]}
    assert fields == {"amount.amount", "amount.currency", "reason"}
    assert (await finance_gateway.erp.stats())["total_calls"] == 0


@pytest.mark.parametrize(
    ("mode", "options", "status", "code", "retryable"),
    [
        ("soap_fault", {"fault_code": "Server"}, 502, "backend_fault", True),
        ("soap_fault", {"fault_code": "Client"}, 502, "backend_fault", False),
        ("xxe", {}, 502, "backend_contract_violation", False),
        ("billion_laughs", {}, 502, "backend_contract_violation", False),
        ("malformed", {}, 502, "backend_contract_violation", False),
        ("huge", {"size_bytes": 1024 * 1024}, 502, "backend_contract_violation", False),
        ("drip", {"delay_s": 0.05}, 504, "timeout", True),
        ("http500", {"rate": 1.0}, 502, "backend_error", False),
    ],
)
async def test_erp_failures_map_to_stable_problem_codes(
    finance_gateway: FinanceGateway,
    mode: str,
    options: dict[str, object],
    status: int,
    code: str,
    retryable: bool,
) -> None:
    await finance_gateway.erp.fault(mode, **options)

    response = await finance_gateway.invoke("finance.customers.get", {"customer_id": "100001"})

    assert response.status == status
    body = await response.json()
    assert (body["code"], body["retryable"]) == (code, retryable)
    assert "root:" not in str(body)
    if code == "backend_fault":
        assert body["fault_code"] in ("Server", "Client")


async def test_business_errors_and_missing_records(finance_gateway: FinanceGateway) -> None:
    too_much = {**CREDIT, "amount": {"amount": "5000.00", "currency": "EUR"}}
    refused = await finance_gateway.invoke("finance.credit_notes.create", too_much)
    assert refused.status == 422
    body = await refused.json()
    assert body["code"] == "backend_rejected"
    assert "exceeds open amount 1190.00 of invoice 9000000001" in body["detail"]
    assert body["backend_messages"][0]["id"] == "ZFI"

    missing = await finance_gateway.invoke("finance.invoices.get", {"invoice_number": "9999999999"})
    assert missing.status == 404
    assert (await missing.json())["code"] == "backend_not_found"


async def test_the_event_loop_serves_others_while_a_soap_call_is_held(
    finance_gateway: FinanceGateway,
) -> None:
    erp = finance_gateway.erp
    await erp.fault("slow", delay_s=60)  # finance.invoices.list may take 10 s in this config
    held = asyncio.create_task(
        finance_gateway.invoke("finance.invoices.list", {"customer_id": "100001"})
    )
    await erp.holding()  # the SOAP call is inside the ERP now

    health = await finance_gateway.client.get("/healthz")
    stock = await finance_gateway.invoke(
        "warehouse.stock.get", {"material": "100234", "plant": "1000"}, key=INVENTORY
    )

    assert health.status == 200
    assert stock.status == 200
    assert not held.done()  # the SOAP call is still held while the others were served
    erp.release()
    response = await held
    assert response.status == 200
    assert len((await response.json())["output"]["invoices"]) == 2


async def test_the_catalog_shows_finance_operations_with_sensitive_fields(
    finance_gateway: FinanceGateway,
) -> None:
    catalog = await finance_gateway.client.get(
        "/v1/operations", headers={"Authorization": f"Bearer {TREASURY}"}
    )
    entries = {op["name"]: op for op in (await catalog.json())["operations"]}
    assert set(entries) == {
        "finance.customers.get",
        "finance.customers.search",
        "finance.invoices.get",
        "finance.invoices.list",
        "finance.credit_notes.create",
        "finance.payments.post",
    }
    customer = entries["finance.customers.get"]["output_schema"]["properties"]
    assert customer["tax_id"]["x-sensitive"] == "tax_id"
    assert customer["iban"]["x-sensitive"] == "bank_account"
    assert entries["finance.credit_notes.create"]["effect"] == "write"
    assert (await finance_gateway.client.get("/readyz")).status == 200


async def test_a_gateway_whose_wsdl_cannot_load_does_not_start(erp: Erp, tmp_path: Path) -> None:
    env = finance_env("http://127.0.0.1:9", erp, tmp_path, ERP_WSDL=str(tmp_path / "gone.wsdl"))
    app = build_app(parse_config(SOAP_CONFIG, "soap-test.yaml", env=env))
    server = TestServer(app, host="127.0.0.1")

    with pytest.raises(StartupFailed, match=r"backend 'acme_erp': cannot load WSDL .*gone\.wsdl"):
        await server.start_server()
    await server.close()


async def test_soap_12_through_the_gateway(wms: TestServer, erp: Erp, tmp_path: Path) -> None:
    env = finance_env(str(wms.make_url("/")), erp, tmp_path, ERP_SOAP_VERSION="1.2")
    app = build_app(parse_config(SOAP_CONFIG, "soap-test.yaml", env=env))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        gateway = FinanceGateway(client, erp)
        response = await gateway.invoke("finance.credit_notes.create", CREDIT)
        assert response.status == 200
        assert (await response.json())["output"]["credit_note_number"] == "1700000001"
    assert (await erp.stats())["credit_notes"] == 1
