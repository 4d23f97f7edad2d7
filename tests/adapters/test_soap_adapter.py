"""The SOAP adapter against the real ERP sandbox: mapping both ways, faults, business
errors, hostile replies, timeouts, SOAP 1.2, and nothing of zeep reaching the caller."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from adapters.acme_finance import find_credit_notes
from adapters.soap import SoapAdapter
from schemas.errors import (
    BackendError,
    BackendFault,
    BackendNotFound,
    BackendRejected,
    BackendTimeout,
    ContractViolation,
)
from schemas.finance import (
    CreditNote,
    CreditNoteRequest,
    Customer,
    CustomerQuery,
    CustomerSearch,
    Invoice,
    InvoiceListQuery,
    InvoiceQuery,
    PaymentRequest,
)
from tests.erp import AdapterFactory, Erp

CREDIT = {
    "customer_id": "100001",
    "invoice_number": "9000000001",
    "amount": {"amount": "25.00", "currency": "EUR"},
    "reason": "damaged_goods",
    "text": "torn sacks",
    "reference": "CASE-1",
    "posting_date": "2026-11-26",
}


def request(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """Input as the pipeline builds it: strict validation of the agent's JSON."""
    import json

    return model.model_validate_json(json.dumps(data), strict=True)


async def invoke(adapter: SoapAdapter, name: str, payload: BaseModel) -> Any:
    [operation] = [op for op in adapter.operations if op.name == name]
    return await adapter.call(operation, payload)


def plain_types(value: Any) -> set[type]:
    if isinstance(value, dict):
        return {dict}.union(*(plain_types(v) for v in value.values()))
    if isinstance(value, list):
        return {list}.union(*(plain_types(v) for v in value))
    return {type(value)}


async def test_customer_maps_legacy_fields_to_the_canonical_model(adapter: SoapAdapter) -> None:
    raw = await invoke(
        adapter, "finance.customers.get", request(CustomerQuery, {"customer_id": "100001"})
    )

    customer = Customer.model_validate(raw)
    assert customer.customer_id == "100001"  # KUNNR 0000100001, zeros stripped
    assert customer.name == "Baeckerei Schmidt GmbH"
    assert customer.iban == "DE89370400440532013000"
    assert customer.blocked is False


async def test_invoice_keeps_decimals_and_dates_and_no_zeep_object_leaks(
    adapter: SoapAdapter,
) -> None:
    raw = await invoke(
        adapter, "finance.invoices.get", request(InvoiceQuery, {"invoice_number": "9000000001"})
    )

    assert raw["gross_amount"] == {"amount": Decimal("1190.00"), "currency": "EUR"}
    assert raw["due_date"] == date(2026, 11, 4)
    assert raw["lines"][0]["quantity"] == Decimal("40.000")
    invoice = Invoice.model_validate(raw)
    assert invoice.status == "open"
    allowed = {dict, list, str, int, bool, Decimal, date, type(None)}
    assert plain_types(raw) <= allowed | {type(invoice.status)}

    reply = await adapter.client(2.0).call("ZFI_INVOICE_GET", BELNR="9000000001")
    assert plain_types(reply) <= allowed


async def test_search_and_list_map_sap_tables(adapter: SoapAdapter) -> None:
    found = await invoke(
        adapter, "finance.customers.search", request(CustomerSearch, {"name": "*", "country": "SE"})
    )
    assert [c["name"] for c in found["customers"]] == ["Nordwind Logistics AB"]

    empty = await invoke(
        adapter, "finance.customers.search", request(CustomerSearch, {"name": "Nobody*"})
    )
    assert empty == {"customers": []}

    listed = await invoke(
        adapter,
        "finance.invoices.list",
        request(InvoiceListQuery, {"customer_id": "100001", "status": "paid"}),
    )
    assert [i["invoice_number"] for i in listed["invoices"]] == ["9000000002"]


@pytest.mark.parametrize("version", ["1.1", "1.2"])
async def test_credit_note_round_trip_on_soap_11_and_12(
    erp: Erp, make_adapter: AdapterFactory, version: str
) -> None:
    adapter = await make_adapter(erp.wsdl_url, wsdl_options={"soap_version": version})
    assert adapter.wsdl is not None
    assert adapter.wsdl.soap_version == version

    raw = await invoke(adapter, "finance.credit_notes.create", request(CreditNoteRequest, CREDIT))

    note = CreditNote.model_validate(raw)
    assert note.invoice_open_amount.amount == Decimal("1165.00")
    assert note.reason == "damaged_goods"
    [stored] = await find_credit_notes(adapter.client(2.0), "CASE-1")
    assert stored["reason"] == "damaged_goods"  # RSTGR 052 back to the enum
    assert stored["amount"] == {"amount": Decimal("25.00"), "currency": "EUR"}
    assert (await erp.stats())["credit_notes"] == 1


@pytest.mark.parametrize(
    ("version", "fault_code", "shown", "retryable"),
    [
        ("1.1", "Server", "Server", True),
        ("1.1", "Client", "Client", False),
        ("1.2", "Server", "Receiver", True),
        ("1.2", "Client", "Sender", False),
    ],
)
async def test_soap_faults_become_backend_faults_classified_by_code(
    erp: Erp,
    make_adapter: AdapterFactory,
    version: str,
    fault_code: str,
    shown: str,
    retryable: bool,
) -> None:
    adapter = await make_adapter(erp.wsdl_url, wsdl_options={"soap_version": version})
    await erp.fault("soap_fault", fault_code=fault_code)

    with pytest.raises(BackendFault) as caught:
        await invoke(adapter, "finance.customers.get", request(CustomerQuery, {"customer_id": "1"}))

    assert caught.value.fault_code == shown
    assert caught.value.retryable is retryable
    assert (caught.value.status, caught.value.code) == (502, "backend_fault")


async def test_return_table_errors_are_rejections_with_the_erp_message(
    adapter: SoapAdapter, erp: Erp
) -> None:
    too_much = {**CREDIT, "amount": {"amount": "5000.00", "currency": "EUR"}}
    with pytest.raises(BackendRejected) as caught:
        await invoke(adapter, "finance.credit_notes.create", request(CreditNoteRequest, too_much))
    assert "exceeds open amount 1190.00" in caught.value.detail
    assert caught.value.extras["backend_messages"] == [
        {
            "type": "E",
            "id": "ZFI",
            "number": "012",
            "message": "Amount 5000.00 EUR exceeds open amount 1190.00 of invoice 9000000001",
        }
    ]

    blocked = {**CREDIT, "customer_id": "100003", "invoice_number": "9000000004"}
    with pytest.raises(BackendRejected, match="blocked for posting"):
        await invoke(adapter, "finance.credit_notes.create", request(CreditNoteRequest, blocked))
    assert (await erp.stats())["credit_notes"] == 0


async def test_does_not_exist_messages_become_not_found(adapter: SoapAdapter) -> None:
    with pytest.raises(BackendNotFound, match="Customer 0000999999 does not exist"):
        await invoke(
            adapter, "finance.customers.get", request(CustomerQuery, {"customer_id": "999999"})
        )


async def test_payment_in_the_wrong_currency_is_rejected(adapter: SoapAdapter) -> None:
    payment = {
        "customer_id": "100002",
        "invoice_number": "9000000003",
        "amount": {"amount": "100.00", "currency": "EUR"},
        "method": "bank_transfer",
        "payment_date": "2026-11-26",
    }
    with pytest.raises(BackendRejected, match="differs from invoice currency SEK"):
        await invoke(adapter, "finance.payments.post", request(PaymentRequest, payment))


@pytest.mark.parametrize("mode", ["xxe", "billion_laughs", "malformed"])
async def test_hostile_or_broken_xml_is_a_contract_violation(
    adapter: SoapAdapter, erp: Erp, mode: str
) -> None:
    await erp.fault(mode)

    with pytest.raises(ContractViolation) as caught:
        await invoke(adapter, "finance.customers.get", request(CustomerQuery, {"customer_id": "1"}))

    assert "root:" not in caught.value.detail  # /etc/passwd never read
    assert ("DOCTYPE" if mode != "malformed" else "malformed XML") in caught.value.detail


async def test_an_oversized_reply_is_refused_at_the_size_limit(
    adapter: SoapAdapter, erp: Erp
) -> None:
    await erp.fault("huge", size_bytes=1024 * 1024)

    with pytest.raises(ContractViolation, match="more than 65536 bytes"):
        await invoke(adapter, "finance.customers.get", request(CustomerQuery, {"customer_id": "1"}))


async def test_a_slow_drip_reply_hits_the_total_timeout(
    erp: Erp, make_adapter: AdapterFactory
) -> None:
    adapter = await make_adapter(erp.wsdl_url, total_timeout_s=0.3, read_timeout_s=5.0)
    await erp.fault("drip", delay_s=0.05)

    with pytest.raises(BackendTimeout, match=r"0\.3 s"):
        await invoke(adapter, "finance.customers.get", request(CustomerQuery, {"customer_id": "1"}))


async def test_bare_http_500_is_a_backend_error(adapter: SoapAdapter, erp: Erp) -> None:
    await erp.fault("http500", rate=1.0)

    with pytest.raises(BackendError, match="HTTP 500") as caught:
        await invoke(adapter, "finance.customers.get", request(CustomerQuery, {"customer_id": "1"}))
    assert type(caught.value) is BackendError


async def test_committed_but_timed_out_write_is_stored_and_findable(
    erp: Erp, make_adapter: AdapterFactory
) -> None:
    adapter = await make_adapter(erp.wsdl_url, total_timeout_s=0.3)
    await erp.fault("commit_then_timeout", delay_s=60)

    with pytest.raises(BackendTimeout):
        await invoke(adapter, "finance.credit_notes.create", request(CreditNoteRequest, CREDIT))

    assert (await erp.stats())["credit_notes"] == 1  # the trap: the ERP did post it
    await erp.fault("ok")
    [found] = await find_credit_notes(adapter.client(2.0), "CASE-1")
    assert found["invoice_number"] == "9000000001"


async def test_readiness_reports_the_endpoint(adapter: SoapAdapter, erp: Erp) -> None:
    ready = await adapter.check()
    assert ready.ready is True

    await erp.server.close()
    down = await adapter.check()
    assert down.ready is False
    assert "cannot be reached" in down.detail


async def test_a_large_reply_within_the_limit_is_read_off_the_event_loop(
    adapter: SoapAdapter, erp: Erp
) -> None:
    await erp.fault("huge", size_bytes=40_000)  # above INLINE_PARSE_BYTES, below the limit

    reply = await adapter.client(2.0).call("ZFI_CUSTOMER_GET", KUNNR="0000100001")

    assert reply["CUSTOMER"]["NAME1"] == "A" * 40_000


async def test_values_that_do_not_fit_their_xsd_type_are_contract_violations(
    adapter: SoapAdapter, erp: Erp, log_lines: Any
) -> None:
    await erp.fault("garbage")

    with pytest.raises(ContractViolation, match="does not fit its WSDL") as caught:
        await invoke(
            adapter, "finance.invoices.get", request(InvoiceQuery, {"invoice_number": "9000000001"})
        )

    assert "1.190,00" not in caught.value.detail  # backend data is withheld from the agent
    [logged] = [line for line in log_lines() if line["event"] == "soap_reply_contract_violation"]
    assert logged["soap_operation"] == "ZFI_INVOICE_GET"


async def test_concurrent_calls_share_the_pool_and_stay_apart(
    adapter: SoapAdapter, erp: Erp
) -> None:
    customers = ["100001", "100002", "100003"] * 5
    replies = await asyncio.gather(
        *(
            invoke(adapter, "finance.customers.get", request(CustomerQuery, {"customer_id": c}))
            for c in customers
        )
    )

    assert [r["customer_id"] for r in replies] == customers
    assert (await erp.stats())["calls"] == {"ZFI_CUSTOMER_GET": 15}
