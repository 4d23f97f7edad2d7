"""The ACME finance ERP sandbox, as a real SOAP client (zeep) sees it.

zeep's client is synchronous, so each call runs in a worker thread while the event
loop keeps serving the sandbox.
"""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import zeep
from aiohttp import ClientSession
from zeep.exceptions import Fault

from sandbox.acme_finance import SOAP11
from sandbox.acme_finance_hostile import XXE_DTD
from tests.erp import Erp

CREDIT: dict[str, Any] = {
    "KUNNR": "0000100001",
    "REBZG": "9000000001",
    "WRBTR": Decimal("10.00"),
    "WAERS": "EUR",
    "RSTGR": "054",
    "SGTXT": "Goodwill",
    "XREF": "CASE-9",
    "BUDAT": date(2026, 11, 26),
}


async def zeep_client(erp: Erp, port: str = "ZFI_FINANCE_SOAP") -> Any:
    def build() -> Any:
        transport = zeep.Transport()
        transport.session.trust_env = False
        client = zeep.Client(erp.wsdl_url, transport=transport)
        return client.bind("ZFI_FINANCE_SERVICE", port)

    return await asyncio.to_thread(build)


@pytest.mark.parametrize("port", ["ZFI_FINANCE_SOAP", "ZFI_FINANCE_SOAP12"])
async def test_zeep_reads_a_customer_over_soap_11_and_12(erp: Erp, port: str) -> None:
    service = await zeep_client(erp, port)

    reply = await asyncio.to_thread(service.ZFI_CUSTOMER_GET, KUNNR="0000100002")

    assert reply.CUSTOMER.NAME1 == "Nordwind Logistics AB"
    assert reply.CUSTOMER.WAERS == "SEK"
    assert [row.TYPE for row in reply.RETURN.item] == ["S"]


async def test_invalid_requests_get_a_client_fault_from_schema_validation(erp: Erp) -> None:
    service = await zeep_client(erp)

    with pytest.raises(Fault) as caught:
        await asyncio.to_thread(service.ZFI_CUSTOMER_GET, KUNNR="12ab")

    assert caught.value.code.endswith("Client")
    assert "not valid" in caught.value.message
    assert (await erp.stats())["total_calls"] == 0


async def test_duplicate_credit_notes_are_stored_and_findable_by_reference(erp: Erp) -> None:
    service = await zeep_client(erp)

    first = await asyncio.to_thread(service.ZFI_CREDITNOTE_CREATE, **CREDIT)
    second = await asyncio.to_thread(service.ZFI_CREDITNOTE_CREATE, **CREDIT)
    found = await asyncio.to_thread(service.ZFI_CREDITNOTE_FIND, XREF="CASE-9")

    assert first.BELNR != second.BELNR  # the ERP does not deduplicate: that is the trap
    assert Decimal("1170.00") == second.OPBTR
    assert [note.BELNR for note in found.CREDITNOTES.item] == [first.BELNR, second.BELNR]
    stats = await erp.stats()
    assert stats["credit_notes"] == 2
    assert stats["calls"] == {"ZFI_CREDITNOTE_CREATE": 2, "ZFI_CREDITNOTE_FIND": 1}


async def test_payments_clear_invoices(erp: Erp) -> None:
    service = await zeep_client(erp)
    payment = {"KUNNR": "0000100001", "BELNR": "9000000001", "WAERS": "EUR", "ZLSCH": "T"}

    partial = await asyncio.to_thread(
        service.ZFI_PAYMENT_POST, WRBTR=Decimal("190.00"), BUDAT=date(2026, 11, 26), **payment
    )
    full = await asyncio.to_thread(
        service.ZFI_PAYMENT_POST, WRBTR=Decimal("1000.00"), BUDAT=date(2026, 11, 27), **payment
    )

    assert ("P", Decimal("1000.00")) == (partial.STATUS, partial.OPBTR)
    assert ("C", Decimal("0.00")) == (full.STATUS, full.OPBTR)
    assert (await erp.stats())["payments"] == 2


async def test_random_http_500s_are_seeded_and_repeatable(erp: Erp) -> None:
    body = (
        f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body><n:ZFI_CUSTOMER_GET xmlns:n='
        '"urn:acme:erp:fi"><KUNNR>0000100001</KUNNR></n:ZFI_CUSTOMER_GET></soap:Body>'
        "</soap:Envelope>"
    )

    async def statuses() -> list[int]:
        await erp.fault("http500", rate=0.5, seed=7)
        async with ClientSession() as http:
            result = []
            for _ in range(8):
                async with http.post(
                    erp.endpoint, data=body, headers={"Content-Type": "text/xml"}
                ) as r:
                    result.append(r.status)
            return result

    first, second = await statuses(), await statuses()
    assert first == second
    assert {200, 500} == set(first)


async def test_requests_with_a_doctype_are_refused(erp: Erp) -> None:
    envelope = f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body/></soap:Envelope>'
    body = f'<?xml version="1.0"?>{XXE_DTD}{envelope}'
    headers = {"Content-Type": "text/xml"}
    async with ClientSession() as http, http.post(erp.endpoint, data=body, headers=headers) as r:
        assert r.status == 500
        text = await r.text()
    assert "DOCTYPE is not allowed" in text
    assert "root:" not in text


async def test_unknown_fault_modes_are_refused(erp: Erp) -> None:
    async with ClientSession() as http:
        response = await http.post(erp.server.make_url("/_sandbox/faults"), json={"mode": "nap"})
        assert response.status == 400
