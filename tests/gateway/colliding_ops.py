"""Two operations whose OpenAPI operationIds would be the same (``stock_level_get_one``):
the gateway must refuse to start rather than serve an ambiguous document."""

from __future__ import annotations

from adapters.base import Canonical, OperationSet
from adapters.rest import RestClient
from schemas.common import Effect, Risk
from schemas.warehouse import StockLevel, StockQuery

operations: OperationSet[RestClient] = OperationSet()


async def _never(client: RestClient, query: StockQuery) -> Canonical:
    """Read stock. Never called: the gateway refuses this backend at start-up."""
    raise NotImplementedError


for name in ("stock.level_get.one", "stock_level.get.one"):
    operations.operation(
        name,
        input=StockQuery,
        output=StockLevel,
        effect=Effect.READ,
        idempotent=True,
        risk=Risk.LOW,
        owner="team-logistics",
    )(_never)
