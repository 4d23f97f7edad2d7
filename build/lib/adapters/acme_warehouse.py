"""ACME WMS over REST: canonical warehouse operations mapped to the legacy API.

The legacy API speaks SAP table fields (``MARA``, ``MARD``) and movement type codes;
agents see ``Item``, ``StockLevel`` and ``GoodsMovement``. Each handler's docstring
is the operation's description in the catalog.
"""

from __future__ import annotations

from decimal import Decimal

from adapters.base import Canonical, OperationSet
from adapters.legacy import field, material_number, padded_material, yyyymmdd
from adapters.rest import RestClient
from schemas.common import Effect, Risk
from schemas.errors import BackendNotFound
from schemas.warehouse import (
    GoodsMovement,
    GoodsMovementRequest,
    Item,
    ItemQuery,
    MovementKind,
    StockLevel,
    StockQuery,
)

OWNER = "team-logistics"
MOVEMENT_TYPES = {MovementKind.RECEIPT: "101", MovementKind.ISSUE: "201", MovementKind.SCRAP: "551"}

operations: OperationSet[RestClient] = OperationSet()


@operations.operation(
    "warehouse.items.get",
    input=ItemQuery,
    output=Item,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner=OWNER,
)
async def get_item(client: RestClient, query: ItemQuery) -> Canonical:
    """Look up one item in the item master: its description, base unit and weight.

    Use it to learn what a material number means before reading or moving its stock.
    """
    mara = field(await client.get(f"/api/v1/MARA/{padded_material(query.material)}"), "MARA")
    weight = field(mara, "BRGEW")
    return {
        "material": material_number(field(mara, "MATNR")),
        "description": field(mara, "MAKTX"),
        "base_unit": field(mara, "MEINS"),
        "gross_weight_kg": weight or None,
        "responsible_buyer": mara.get("EKMAIL") or None,
    }


@operations.operation(
    "warehouse.stock.get",
    input=StockQuery,
    output=StockLevel,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner=OWNER,
)
async def get_stock(client: RestClient, query: StockQuery) -> Canonical:
    """Read the unrestricted stock of one item in one plant, with its unit and the
    date of the last goods movement.
    """
    params = {"MATNR": padded_material(query.material), "WERKS": query.plant}
    mard = field(await client.get("/api/v1/MARD", params), "MARD")
    return {
        "material": material_number(field(mard, "MATNR")),
        "plant": field(mard, "WERKS"),
        "storage_location": field(mard, "LGORT"),
        "quantity": field(mard, "LABST"),
        "unit": field(mard, "MEINS"),
        "last_changed": yyyymmdd(field(mard, "LAEDA"), "LAEDA"),
    }


@operations.operation(
    "warehouse.goods_movements.create",
    input=GoodsMovementRequest,
    output=GoodsMovement,
    effect=Effect.WRITE,
    idempotent=False,
    risk=Risk.MEDIUM,
    owner=OWNER,
    external_reference=True,
    reference_field="document_number",
)
async def create_goods_movement(client: RestClient, request: GoodsMovementRequest) -> Canonical:
    """Post a goods movement: a 'receipt' adds stock, an 'issue' or 'scrap' removes it.

    This changes the books of the warehouse. An issue larger than the unrestricted
    stock is rejected by the warehouse system. Returns the material document number
    and the stock after the movement.
    """
    posted = await client.post(
        "/api/v1/goodsmovement",
        {
            "MATNR": padded_material(request.material),
            "WERKS": request.plant,
            "BWART": MOVEMENT_TYPES[request.kind],
            "ERFMG": f"{request.quantity:.3f}",
            "BUDAT": request.posting_date.strftime("%Y%m%d"),
            "XBLNR": request.reference or "",
            "EXTREF": client.external_reference or "",
        },
    )
    return _movement(request, posted)


@operations.lookup("warehouse.goods_movements.create")
async def find_goods_movement(
    client: RestClient, request: GoodsMovementRequest, key: str
) -> Canonical | None:
    """The goods movement posted with external reference ``key``, if the WMS has one."""
    try:
        found = field(await client.get("/api/v1/MKPF", {"EXTREF": key}), "MKPF")
    except BackendNotFound:
        return None
    return _movement(request, found)


def _movement(request: GoodsMovementRequest, posted: Canonical) -> Canonical:
    return {
        "document_number": field(posted, "MBLNR"),
        "fiscal_year": field(posted, "MJAHR"),
        "material": request.material,
        "plant": request.plant,
        "kind": request.kind,
        "quantity": request.quantity,
        "posting_date": request.posting_date,
        "reference": request.reference,
        "stock_after": field(posted, "LABST_NEW"),
    }


@operations.before_after("warehouse.goods_movements.create")
async def stock_before_and_after(
    client: RestClient, request: GoodsMovementRequest
) -> tuple[Canonical, Canonical]:
    """The stock a goods movement would change, now and after it (for dry runs)."""
    stock = await get_stock(client, StockQuery(material=request.material, plant=request.plant))
    before = Decimal(str(stock["quantity"]))
    sign = 1 if request.kind is MovementKind.RECEIPT else -1
    after = before + sign * request.quantity
    unit = stock["unit"]
    return (
        {
            "material": request.material,
            "plant": request.plant,
            "quantity": f"{before:f}",
            "unit": unit,
        },
        {
            "material": request.material,
            "plant": request.plant,
            "quantity": f"{after:f}",
            "unit": unit,
        },
    )
