"""Every fault the OData sandbox can switch on, met through the gateway: throttling and
maintenance with Retry-After, a stale ETag, an expired access token, an expired CSRF
token (SAP), a slow service, server-driven paging past the page cap, and an order the
ERP committed but answered too late (found by its external reference, never re-sent)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.acme_odata import STORE
from tests.odata import GatewayFactory, SalesGateway

ORDER = {"customer": "1000102", "items": [{"product": "HT-2000", "quantity": "1"}]}
PARTNER = {"business_partner": "1000100"}


async def call(
    gateway: SalesGateway, operation: str, body: Any, **headers: str
) -> tuple[int, dict[str, Any], Any]:
    response = await gateway.invoke(operation, body, **headers)
    return response.status, await response.json(), response.headers


@pytest.mark.parametrize(("mode", "status"), [("throttled", 429), ("unavailable", 503)])
async def test_a_refusal_passes_its_retry_after_on(
    sales_gateway: SalesGateway, mode: str, status: int
) -> None:
    await sales_gateway.sandbox.fault(mode, retry_after="120")
    code, body, headers = await call(sales_gateway, "sales.business_partners.get", PARTNER)
    assert (code, body["code"]) == (503, "backend_unavailable")
    assert f"HTTP {status}" in body["detail"]
    assert headers["Retry-After"] == "120"


async def test_a_stale_etag_answer_is_a_conflict(sales_gateway: SalesGateway) -> None:
    _, read, _ = await call(sales_gateway, "sales.business_partners.get", PARTNER)
    await sales_gateway.sandbox.fault("stale_etag", count=1)
    change = {**PARTNER, "email": "x@becker.example", "etag": read["output"]["etag"]}
    status, body, _ = await call(sales_gateway, "sales.business_partners.update", change)
    assert (status, body["code"]) == (409, "backend_conflict")


async def test_an_expired_access_token_is_refreshed_once(sales_gateway: SalesGateway) -> None:
    assert (await call(sales_gateway, "sales.business_partners.get", PARTNER))[0] == 200
    before = await sales_gateway.sandbox.stats()
    await sales_gateway.sandbox.fault("token_expired")
    status, body, _ = await call(sales_gateway, "sales.business_partners.get", PARTNER)
    assert status == 200, body
    after = await sales_gateway.sandbox.stats()
    assert after["token_fetches"] == before["token_fetches"] + 1
    assert after["unauthorized"] == before["unauthorized"] + 1


async def test_an_expired_csrf_token_is_fetched_again_and_the_write_made_once(
    make_sales_gateway: GatewayFactory,
) -> None:
    gateway = await make_sales_gateway("2.0")
    assert (await call(gateway, "sales.orders.create", ORDER))[0] == 200
    before = await gateway.sandbox.stats()
    assert before["csrf_fetches"] == 1
    await gateway.sandbox.fault("csrf_expired")

    status, body, _ = await call(gateway, "sales.orders.create", ORDER)
    assert status == 200, body
    after = await gateway.sandbox.stats()
    assert after["csrf_refused"] == before["csrf_refused"] + 1
    assert after["csrf_fetches"] == 2
    assert len(gateway.sandbox.orders()) == 2


async def test_a_slow_service_times_out(make_sales_gateway: GatewayFactory) -> None:
    gateway = await make_sales_gateway("4.0")
    await gateway.sandbox.fault("slow", delay_s=60)
    status, body, _ = await call(gateway, "sales.business_partners.get", PARTNER)
    assert (status, body["code"]) == (504, "timeout")


async def test_paging_stops_at_the_page_cap_and_says_there_is_more(
    sales_gateway: SalesGateway,
) -> None:
    await sales_gateway.sandbox.fault("ok", page_size=1)
    status, body, _ = await call(sales_gateway, "sales.business_partners.search", {"top": 50})
    assert status == 200, body
    names = [p["name"] for p in body["output"]["partners"]]
    assert names == ["Anna Schmidt", "Becker Berlin GmbH", "Müller & O'Brien KG"]  # 3 pages
    assert body["output"]["more"] is False  # the third page was the last


async def test_paging_past_the_cap_reports_more(sales_gateway: SalesGateway) -> None:
    await sales_gateway.sandbox.fault("ok", page_size=1)
    for number in ("1000900", "1000901"):  # five partners in all: more than three pages
        sales_gateway.sandbox.server.app[STORE].insert(
            "BusinessPartners",
            {"BusinessPartnerID": number, "Name": f"Zeta {number}", "Category": "Person"},
        )
    status, body, _ = await call(sales_gateway, "sales.business_partners.search", {"top": 50})
    assert status == 200, body
    assert len(body["output"]["partners"]) == 3
    assert body["output"]["more"] is True


async def test_an_order_committed_but_timed_out_is_found_not_created_again(
    sales_gateway: SalesGateway,
) -> None:
    await sales_gateway.sandbox.fault("committed_timeout", delay_s=60, count=1)
    headers = {"Idempotency-Key": "order-4711"}
    response = await sales_gateway.invoke("sales.orders.create", ORDER, **headers)
    body = await response.json()
    assert response.status == 200, body
    [event] = await sales_gateway.audit(response.headers["X-Request-Id"])
    assert [a.error_code for a in event.attempts] == ["timeout", None]
    assert event.attempts[1].detail == "found by its external reference"
    [stored] = sales_gateway.sandbox.orders()
    assert body["output"]["sales_order"] == stored["SalesOrderID"]
    assert body["output"]["items"][0]["product"] == "HT-2000"

    again = await sales_gateway.invoke("sales.orders.create", ORDER, **headers)
    assert again.status == 200
    assert (await again.json())["output"] == body["output"]
    assert len(sales_gateway.sandbox.orders()) == 1
