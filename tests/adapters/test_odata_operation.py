"""Operations described as data (what generated adapters emit) run against the real
sandbox, V4 and SAP V2: get, query with typed filters and options, create with a deep
insert and an external reference, update and delete with ETags, actions and functions,
and the lookup that finds a create by its backend key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from adapters.http import HttpBackend
from adapters.http_auth import ClientCredentials
from adapters.odata import ODataOperation, ODataSettings, lookup, send
from adapters.odata_session import ODataClient, ServiceSession
from sandbox import acme_odata
from schemas.errors import BackendConflict, BackendRejected, ValidationFailed
from tests.odata import SalesSandbox


class Input(BaseModel):
    """An input model as generated: $metadata names as aliases, options beside them."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    values: dict[str, Any] = Field(default_factory=dict)

    def model_dump(self, **_: Any) -> dict[str, Any]:  # type: ignore[override]
        return dict(self.values)


def given(**values: Any) -> Input:
    return Input(values=values)


@pytest.fixture(params=["4.0", "2.0"], ids=["v4", "v2-sap"])
async def client(request: Any, sales_sandbox: SalesSandbox) -> AsyncIterator[ODataClient]:
    version = request.param
    flavour = acme_odata.V4 if version == "4.0" else acme_odata.V2
    settings = ODataSettings(
        service_root=sales_sandbox.url(flavour.root),
        version=version,
        csrf=version == "2.0",
        max_pages=2,
        oauth2=ClientCredentials(
            token_url=sales_sandbox.url("/oauth/token"),
            client_id=acme_odata.CLIENT_ID,
            client_secret=acme_odata.CLIENT_SECRET,
            client_auth="body",
        ),
    )
    http = HttpBackend("acme_sales", settings)
    await http.start()
    session = ServiceSession(
        http, settings.service_root, version, csrf=settings.csrf, max_pages=2, query={}
    )
    yield ODataClient(session, 5.0, external_reference="key-4711")
    await http.close()


PARTNER_GET = ODataOperation(
    kind="get", entity_set="BusinessPartners", keys={"BusinessPartnerID": "Edm.String"},
    types={"Name": "Edm.String", "Email": "Edm.String"},
)  # fmt: skip
PARTNER_QUERY = ODataOperation(
    kind="query", entity_set="BusinessPartners",
    filters={"Name": "Edm.String", "CreditLimit": "Edm.Decimal"},
    types={"Name": "Edm.String", "CreditLimit": "Edm.Decimal"},
)  # fmt: skip
PARTNER_UPDATE = ODataOperation(
    kind="update", entity_set="BusinessPartners", keys={"BusinessPartnerID": "Edm.String"}
)
ORDER_CREATE = ODataOperation(
    kind="create", entity_set="SalesOrders", reference_property="ExternalReference"
)
ORDER_DELETE = ODataOperation(
    kind="delete", entity_set="SalesOrders", keys={"SalesOrderID": "Edm.String"}
)
OPEN_AMOUNT = ODataOperation(
    kind="function", name="OpenAmount", method="GET", types={"CustomerID": "Edm.String"}
)


def items(client: ODataClient) -> str:
    return "to_Item" if client.version == "2.0" else "Items"


async def test_get_selects_and_reads_by_key(client: ODataClient) -> None:
    record = await send(
        client, PARTNER_GET, given(BusinessPartnerID="1000101", select=["Name", "Email"])
    )
    assert record["Name"] == "Müller & O'Brien KG"
    assert "TaxNumber" not in record


async def test_query_filters_by_typed_values_and_pages_to_the_cap(
    client: ODataClient, sales_sandbox: SalesSandbox
) -> None:
    found = await send(client, PARTNER_QUERY, given(Name="Anna Schmidt"))
    assert [r["BusinessPartnerID"] for r in found["items"]] == ["1000102"]
    hostile = await send(client, PARTNER_QUERY, given(Name="x' or Name ne 'x"))
    assert hostile == {"items": [], "more": False}

    await sales_sandbox.fault("ok", page_size=1)
    paged = await send(client, PARTNER_QUERY, given(orderby=["Name desc"]))
    assert [r["Name"] for r in paged["items"]] == ["Müller & O'Brien KG", "Becker Berlin GmbH"]
    assert paged["more"] is True  # max_pages=2 of three


@pytest.mark.parametrize(
    ("options", "field"),
    [({"select": ["TaxNumber"]}, "select"), ({"orderby": ["Name; drop"]}, "orderby"),
     ({"expand": ["Items"]}, "expand")],
)  # fmt: skip
async def test_options_outside_the_description_are_refused_before_sending(
    client: ODataClient, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await send(client, PARTNER_QUERY, given(**options))
    assert refused.value.errors[0].field == field


async def test_create_deep_inserts_and_lookup_finds_it_by_its_key(client: ODataClient) -> None:
    body = {
        "CustomerID": "1000100",
        items(client): [{"ProductID": "HT-1001", "Quantity": Decimal("3")}],
    }
    created = await send(client, ORDER_CREATE, given(**body))
    assert created["NetAmount"] == "3747.00"
    assert created["ExternalReference"] == "key-4711"
    found = await lookup(client, ORDER_CREATE, "key-4711")
    assert found is not None
    assert found["SalesOrderID"] == created["SalesOrderID"]
    assert await lookup(client, ORDER_CREATE, "no-such-key") is None

    with pytest.raises(BackendConflict):
        await send(client, ORDER_DELETE, given(SalesOrderID=created["SalesOrderID"], etag='W/"9"'))
    gone = await send(
        client, ORDER_DELETE, given(SalesOrderID=created["SalesOrderID"], etag=created["etag"])
    )
    assert gone == {}


async def test_update_sends_only_the_given_fields_against_the_etag(client: ODataClient) -> None:
    read = await send(client, PARTNER_GET, given(BusinessPartnerID="1000102"))
    changed = await send(
        client,
        PARTNER_UPDATE,
        given(BusinessPartnerID="1000102", Email="a@s.example", etag=read["etag"]),
    )
    assert changed == {"etag": 'W/"2"'}
    again = await send(client, PARTNER_GET, given(BusinessPartnerID="1000102"))
    assert again["Email"] == "a@s.example"
    assert again["Name"] == "Anna Schmidt"
    with pytest.raises(BackendRejected, match="longer than 241"):
        await send(
            client, PARTNER_UPDATE, given(BusinessPartnerID="1000102", Email="x" * 300, etag="*")
        )


async def test_functions_and_actions(client: ODataClient) -> None:
    assert await send(client, OPEN_AMOUNT, given(CustomerID="1000100")) == {"value": "0.00"}
    body = {
        "CustomerID": "1000100",
        items(client): [{"ProductID": "HT-6100", "Quantity": Decimal("1")}],
    }
    order = await send(client, ORDER_CREATE, given(**body))
    if client.version == "2.0":
        release = ODataOperation(
            kind="action", name="ReleaseSalesOrder", types={"SalesOrderID": "Edm.String"}
        )
    else:
        release = ODataOperation(
            kind="action", name="Release", namespace="AcmeSales", bound=True,
            entity_set="SalesOrders", keys={"SalesOrderID": "Edm.String"},
        )  # fmt: skip
    released = await send(client, release, given(SalesOrderID=order["SalesOrderID"]))
    assert released["Status"] == "Released"


async def test_a_missing_key_is_a_validation_failure(client: ODataClient) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await send(client, PARTNER_GET, given())
    assert refused.value.errors[0].field == "BusinessPartnerID"
