"""An operation whose tool name would pass the 64 characters agent hosts accept: the
gateway must refuse to start rather than list a tool no model API takes."""

from __future__ import annotations

from adapters.base import Canonical, OperationSet
from adapters.rest import RestClient
from schemas.common import Effect, Risk
from schemas.warehouse import StockLevel, StockQuery

operations: OperationSet[RestClient] = OperationSet()

LONG_NAME = "warehouse.unrestricted_stock_levels_by_storage_location.get_for_plant"


@operations.operation(
    LONG_NAME,
    input=StockQuery,
    output=StockLevel,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner="team-logistics",
)
async def _never(client: RestClient, query: StockQuery) -> Canonical:
    """Read stock. Never called: the gateway refuses this backend at start-up."""
    raise NotImplementedError
