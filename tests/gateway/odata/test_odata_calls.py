"""Agents call the ACME sales ERP over OData through the gateway, V4 and SAP-flavoured V2:
typed reads, a deep insert of an order with its items, ETag-guarded changes, a bound
action or FunctionImport, a function, and the ERP's own errors as stable problems."""

from __future__ import annotations

from typing import Any

from tests.odata import SalesGateway

ORDER = {
    "customer": "1000100",
    "items": [{"product": "HT-1000", "quantity": "2"}, {"product": "HT-6100", "quantity": "10.5"}],
}


async def call(gateway: SalesGateway, operation: str, body: Any) -> tuple[int, dict[str, Any]]:
    response = await gateway.invoke(operation, body)
    return response.status, await response.json()


async def test_a_business_partner_is_read_with_its_types_and_etag(
    sales_gateway: SalesGateway,
) -> None:
    status, body = await call(
        sales_gateway, "sales.business_partners.get", {"business_partner": "1000101"}
    )
    assert status == 200, body
    partner = body["output"]
    assert partner["name"] == "Müller & O'Brien KG"
    assert partner["category"] == "Organization"
    assert partner["credit_limit"] == "12000.00"  # Edm.Decimal, exact
    assert partner["created_at"] == "2025-01-15T12:30:00Z"  # V2 /Date(ms)/ read as an instant
    assert partner["partner_uuid"] == "7b370c1a-141f-5605-9d45-f2826c0aa971"
    assert partner["address"]["city"] == "Hamburg"  # a complex type
    assert partner["tax_number"] == "[redacted:tax_id]"
    assert partner["etag"] == 'W/"1"'


async def test_a_partner_that_does_not_exist_is_backend_not_found(
    sales_gateway: SalesGateway,
) -> None:
    status, body = await call(
        sales_gateway, "sales.business_partners.get", {"business_partner": "999"}
    )
    assert (status, body["code"]) == (404, "backend_not_found")
    assert "BusinessPartner" in body["detail"]


async def test_a_hostile_search_value_stays_one_string_literal(
    sales_gateway: SalesGateway,
) -> None:
    hostile = "x') or (1 eq 1) or contains(Name,'"
    status, body = await call(
        sales_gateway, "sales.business_partners.search", {"name_contains": hostile}
    )
    assert status == 200, body
    assert body["output"] == {"partners": [], "more": False}

    status, body = await call(
        sales_gateway, "sales.business_partners.search", {"name_contains": "o'brien"}
    )
    assert status == 200, body
    assert [p["business_partner"] for p in body["output"]["partners"]] == ["1000101"]


async def test_search_conditions_combine_on_enum_and_complex_properties(
    sales_gateway: SalesGateway,
) -> None:
    query = {"category": "Organization", "city": "Berlin"}
    status, body = await call(sales_gateway, "sales.business_partners.search", query)
    assert status == 200, body
    assert [p["name"] for p in body["output"]["partners"]] == ["Becker Berlin GmbH"]


async def test_an_order_is_created_with_its_items_in_one_deep_insert(
    sales_gateway: SalesGateway,
) -> None:
    status, body = await call(sales_gateway, "sales.orders.create", ORDER)
    assert status == 200, body
    order = body["output"]
    assert order["status"] == "Open"
    assert order["net_amount"] == "2048.40"  # 2 x 956.00 + 10.5 x 12.99, priced by the ERP
    assert [(i["item_no"], i["product"], i["net_amount"]) for i in order["items"]] == [
        (10, "HT-1000", "1912.00"),
        (20, "HT-6100", "136.40"),
    ]
    [stored] = sales_gateway.sandbox.orders()
    assert stored["SalesOrderID"] == order["sales_order"]
    assert stored["ExternalReference"]  # the gateway's backend key, for lookups

    status, again = await call(
        sales_gateway, "sales.orders.get", {"sales_order": order["sales_order"]}
    )
    assert status == 200
    assert again["output"]["items"] == order["items"]


async def test_an_order_for_an_unknown_customer_is_rejected_with_the_erps_words(
    sales_gateway: SalesGateway,
) -> None:
    bad = {"customer": "999", "items": [{"product": "NOPE", "quantity": "1"}]}
    status, body = await call(sales_gateway, "sales.orders.create", bad)
    assert (status, body["code"]) == (422, "backend_rejected")
    assert "Business partner 999 does not exist" in body["detail"]
    assert "product NOPE does not exist" in body["detail"]  # SAP errordetails / V4 details
    assert sales_gateway.sandbox.orders() == []


async def test_a_change_with_a_stale_etag_is_a_conflict_to_re_read(
    sales_gateway: SalesGateway,
) -> None:
    change = {"business_partner": "1000100", "email": "new@becker.example", "etag": 'W/"1"'}
    status, body = await call(sales_gateway, "sales.business_partners.update", change)
    assert status == 200, body
    assert body["output"]["etag"] == 'W/"2"'

    status, body = await call(sales_gateway, "sales.business_partners.update", change)
    assert (status, body["code"]) == (409, "backend_conflict")
    assert "Read it again" in body["detail"]

    _, read = await call(
        sales_gateway, "sales.business_partners.get", {"business_partner": "1000100"}
    )
    retry = {**change, "etag": read["output"]["etag"]}
    status, body = await call(sales_gateway, "sales.business_partners.update", retry)
    assert status == 200, body


async def test_an_order_is_released_once_by_its_action(sales_gateway: SalesGateway) -> None:
    _, created = await call(sales_gateway, "sales.orders.create", ORDER)
    number = created["output"]["sales_order"]
    status, body = await call(sales_gateway, "sales.orders.release", {"sales_order": number})
    assert status == 200, body
    assert body["output"]["status"] == "Released"

    status, body = await call(sales_gateway, "sales.orders.release", {"sales_order": number})
    assert (status, body["code"]) == (422, "backend_rejected")
    assert "already released" in body["detail"]


async def test_a_function_returns_a_decimal(sales_gateway: SalesGateway) -> None:
    await call(sales_gateway, "sales.orders.create", ORDER)
    status, body = await call(sales_gateway, "sales.open_amounts.get", {"customer": "1000100"})
    assert status == 200, body
    assert body["output"] == {"customer": "1000100", "open_amount": "2048.40"}


async def test_an_order_is_cancelled_at_its_version(sales_gateway: SalesGateway) -> None:
    _, created = await call(sales_gateway, "sales.orders.create", ORDER)
    order = created["output"]
    cancel = {"sales_order": order["sales_order"], "etag": 'W/"7"'}
    status, body = await call(sales_gateway, "sales.orders.cancel", cancel)
    assert (status, body["code"]) == (409, "backend_conflict")
    assert len(sales_gateway.sandbox.orders()) == 1

    status, body = await call(
        sales_gateway, "sales.orders.cancel", {**cancel, "etag": order["etag"]}
    )
    assert status == 200, body
    assert sales_gateway.sandbox.orders() == []


async def test_a_dry_run_shows_the_deep_insert_and_sends_nothing(
    sales_gateway: SalesGateway,
) -> None:
    before = await sales_gateway.sandbox.stats()
    headers = {"X-Dry-Run": "true"}
    response = await sales_gateway.invoke("sales.orders.create", ORDER, **headers)
    body = await response.json()
    assert response.status == 200, body
    request = body["backend_request"]
    assert request["method"] == "POST"
    assert request["path"].endswith("/SalesOrders")
    assert request["body"]["CustomerID"] == "1000100"
    items = request["body"].get("to_Item") or request["body"].get("Items")  # V2 or V4
    assert [i["Quantity"] for i in items] == ["2", "10.5"]
    assert sales_gateway.sandbox.orders() == []
    after = await sales_gateway.sandbox.stats()
    assert (after["writes"], after["csrf_fetches"]) == (before["writes"], before["csrf_fetches"])
