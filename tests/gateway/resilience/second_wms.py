"""A second warehouse backend for tests: the ACME stock read under another name, so one
gateway can serve two WMS sandboxes as two backends."""

from __future__ import annotations

from adapters.acme_warehouse import get_stock
from adapters.base import OperationSet
from adapters.rest import RestClient
from schemas.common import Effect, Risk
from schemas.warehouse import StockLevel, StockQuery

operations: OperationSet[RestClient] = OperationSet()
operations.operation(
    "warehouse.eu_stock.get",
    input=StockQuery,
    output=StockLevel,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner="team-logistics",
)(get_stock)
