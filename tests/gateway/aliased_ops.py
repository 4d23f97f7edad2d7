"""A backend for the OpenAPI tests whose input travels under legacy field names: the
document's example must use the aliases, as agents have to."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from adapters.base import Canonical, OperationSet
from adapters.rest import RestClient
from schemas.common import CanonicalModel, Effect, Risk
from schemas.warehouse import StockLevel


class LegacyStockQuery(CanonicalModel):
    material: Annotated[str, Field(alias="MATNR", examples=["100234"], max_length=18)]
    plant: Annotated[str, Field(alias="WERKS", examples=["1000"], pattern=r"^[A-Z0-9]{4}$")]


operations: OperationSet[RestClient] = OperationSet()


@operations.operation(
    "legacy.stock.get",
    input=LegacyStockQuery,
    output=StockLevel,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner="team-logistics",
)
async def get_stock(client: RestClient, query: LegacyStockQuery) -> Canonical:
    """Read stock by its legacy keys. Never called: the tests only read the document."""
    raise NotImplementedError
