"""A backend whose input model has no JSON Schema (a field of an arbitrary class): what
``check-config`` must report as a config error naming the operation, not a traceback."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from adapters.base import Canonical, OperationSet
from adapters.rest import RestClient
from schemas.common import Effect, Risk
from schemas.warehouse import StockLevel


class Opaque:
    """Not a pydantic type: it validates by isinstance and has no JSON Schema."""


class OpaqueQuery(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    handle: Opaque


operations: OperationSet[RestClient] = OperationSet()


@operations.operation(
    "opaque.stock.get",
    input=OpaqueQuery,
    output=StockLevel,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner="team-logistics",
)
async def get_stock(client: RestClient, query: OpaqueQuery) -> Canonical:
    """Never called: start-up must refuse the backend first."""
    raise NotImplementedError
