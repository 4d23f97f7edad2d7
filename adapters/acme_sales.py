"""ACME Sales over OData: canonical sales operations mapped to the ERP's OData service.

Works against both faces of ``sandbox.acme_odata`` (and services shaped like them):
OData V4, and SAP Gateway's V2 (``to_Item`` for the items, the FunctionImport
``ReleaseSalesOrder`` for the bound action, ``/Date(ms)/`` instants); the backend's
``version`` says which. Agents see ``BusinessPartner`` and ``SalesOrder``; each
handler's docstring is the operation's description in the catalog.

A sales order is created with its items in one request (a deep insert) carrying the
gateway's backend key in ``ExternalReference``, so an order whose answer was lost is
found by that key rather than created twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.base import Canonical, OperationSet
from adapters.odata import ODataClient, Query
from adapters.odata_query import all_of, contains, eq
from adapters.odata_types import parse_v2_date
from schemas.common import Effect, Risk
from schemas.sales import (
    BusinessPartner,
    OpenAmount,
    OpenAmountQuery,
    OrderCancel,
    OrderCancelled,
    OrderKey,
    PartnerChanged,
    PartnerEmailChange,
    PartnerKey,
    PartnerList,
    PartnerSearch,
    SalesOrder,
    SalesOrderNew,
)

OWNER = "team-sales"
PARTNERS, ORDERS = "BusinessPartners", "SalesOrders"
REFERENCE = "ExternalReference"

operations: OperationSet[ODataClient] = OperationSet()


def _items_nav(client: ODataClient) -> str:
    return "to_Item" if client.version == "2.0" else "Items"


def _partner(record: Mapping[str, Any]) -> Canonical:
    address = record.get("Address")
    return {
        "business_partner": record.get("BusinessPartnerID"),
        "name": record.get("Name"),
        "category": record.get("Category"),
        "email": record.get("Email"),
        "tax_number": record.get("TaxNumber"),
        "credit_limit": record.get("CreditLimit"),
        "created_at": parse_v2_date(record.get("CreatedAt")),
        "partner_uuid": record.get("PartnerUUID"),
        "address": None
        if not isinstance(address, Mapping)
        else {
            "street": address.get("Street"),
            "city": address.get("City"),
            "postal_code": address.get("PostalCode"),
            "country": address.get("Country"),
        },
        "etag": record.get("etag"),
    }


def _order(record: Mapping[str, Any], items_nav: str) -> Canonical:
    items = record.get(items_nav)
    return {
        "sales_order": record.get("SalesOrderID"),
        "customer": record.get("CustomerID"),
        "order_date": parse_v2_date(record.get("OrderDate")),
        "net_amount": record.get("NetAmount"),
        "currency": record.get("Currency"),
        "status": record.get("Status"),
        "items": [
            {
                "item_no": item.get("ItemNo"),
                "product": item.get("ProductID"),
                "quantity": item.get("Quantity"),
                "net_amount": item.get("NetAmount"),
            }
            for item in (items if isinstance(items, list) else [])
        ],
        "etag": record.get("etag"),
    }


@operations.operation(
    "sales.business_partners.get",
    input=PartnerKey,
    output=BusinessPartner,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner=OWNER,
)
async def get_partner(client: ODataClient, request: PartnerKey) -> Canonical:
    """Read one business partner (customer): name, category, contact, tax number, credit
    limit and address, with its etag (needed to change it)."""
    key = {"BusinessPartnerID": request.business_partner}
    return _partner(await client.get(PARTNERS, key))


@operations.operation(
    "sales.business_partners.search",
    input=PartnerSearch,
    output=PartnerList,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner=OWNER,
)
async def search_partners(client: ODataClient, request: PartnerSearch) -> Canonical:
    """List business partners by part of their name, category and city (all optional,
    combined with AND), sorted by name."""
    conditions = all_of(
        contains("Name", request.name_contains) if request.name_contains else None,
        eq("Category", request.category.value, _category_type(client))
        if request.category
        else None,
        eq("Address/City", request.city) if request.city else None,
    )
    found = await client.query(
        PARTNERS, Query(filter=conditions, orderby=[("Name", False)], top=request.top)
    )
    return {"partners": [_partner(r) for r in found.items], "more": found.next_link is not None}


def _category_type(client: ODataClient) -> str:
    """V4 types the category as an enum; the V2 face as a string."""
    return "AcmeSales.PartnerCategory" if client.version == "4.0" else "Edm.String"


@operations.operation(
    "sales.business_partners.update",
    input=PartnerEmailChange,
    output=PartnerChanged,
    effect=Effect.WRITE,
    idempotent=True,
    risk=Risk.MEDIUM,
    owner=OWNER,
)
async def update_partner_email(client: ODataClient, request: PartnerEmailChange) -> Canonical:
    """Change a business partner's e-mail address. Pass the etag from your last read;
    if the partner changed since, the answer is backend_conflict: read it again."""
    key = {"BusinessPartnerID": request.business_partner}
    changed = await client.update(PARTNERS, key, {"Email": request.email}, etag=request.etag)
    return {"business_partner": request.business_partner, "etag": changed.get("etag")}


@operations.operation(
    "sales.orders.create",
    input=SalesOrderNew,
    output=SalesOrder,
    effect=Effect.WRITE,
    idempotent=False,
    risk=Risk.MEDIUM,
    owner=OWNER,
    external_reference=True,
    reference_field="sales_order",
)
async def create_order(client: ODataClient, request: SalesOrderNew) -> Canonical:
    """Create a sales order for a customer with its items (product and quantity); the
    ERP prices the items. Returns the order with its number, items and net amount."""
    nav = _items_nav(client)
    body = {
        "CustomerID": request.customer,
        nav: [{"ProductID": i.product, "Quantity": i.quantity} for i in request.items],
    }
    return _order(await client.create(ORDERS, body, reference_property=REFERENCE), nav)


@operations.lookup("sales.orders.create")
async def find_order(client: ODataClient, request: SalesOrderNew, key: str) -> Canonical | None:
    found = await client.find(ORDERS, REFERENCE, key)
    if found is None:
        return None
    nav = _items_nav(client)
    key_of = {"SalesOrderID": found["SalesOrderID"]}
    return _order(await client.get(ORDERS, key_of, expand=[nav]), nav)


@operations.operation(
    "sales.orders.get",
    input=OrderKey,
    output=SalesOrder,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner=OWNER,
)
async def get_order(client: ODataClient, request: OrderKey) -> Canonical:
    """Read one sales order with its items, status and net amount."""
    nav = _items_nav(client)
    record = await client.get(ORDERS, {"SalesOrderID": request.sales_order}, expand=[nav])
    return _order(record, nav)


@operations.operation(
    "sales.orders.release",
    input=OrderKey,
    output=SalesOrder,
    effect=Effect.WRITE,
    idempotent=False,
    risk=Risk.MEDIUM,
    owner=OWNER,
)
async def release_order(client: ODataClient, request: OrderKey) -> Canonical:
    """Release an open sales order for delivery (refused if it is released already)."""
    if client.version == "2.0":
        record = await client.invoke("ReleaseSalesOrder", {"SalesOrderID": request.sales_order})
    else:
        bound = (ORDERS, {"SalesOrderID": request.sales_order})
        record = await client.invoke("Release", {}, bound=bound, namespace="AcmeSales")
    return _order(record, _items_nav(client))


@operations.operation(
    "sales.orders.cancel",
    input=OrderCancel,
    output=OrderCancelled,
    effect=Effect.WRITE,
    idempotent=True,
    risk=Risk.HIGH,
    owner=OWNER,
)
async def cancel_order(client: ODataClient, request: OrderCancel) -> Canonical:
    """Cancel (delete) a sales order at the version last read (its etag)."""
    await client.delete(ORDERS, {"SalesOrderID": request.sales_order}, etag=request.etag)
    return {"sales_order": request.sales_order}


@operations.operation(
    "sales.open_amounts.get",
    input=OpenAmountQuery,
    output=OpenAmount,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner=OWNER,
)
async def open_amount(client: ODataClient, request: OpenAmountQuery) -> Canonical:
    """The net value of a customer's open (not yet released) sales orders."""
    result = await client.invoke("OpenAmount", {"CustomerID": request.customer}, method="GET")
    return {"customer": request.customer, "open_amount": result.get("value")}
