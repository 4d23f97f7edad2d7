"""A backend whose reads answer with the input they received, after validation: the tests
see which defaults the gateway applied, at every level, without a real system. Its
``echo.labels.get`` takes a map with arbitrary keys, which OpenAI's strict mode cannot
express."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from adapters.base import Canonical, OperationSet
from adapters.rest import RestClient
from schemas.common import CanonicalModel, Effect, Risk


class Line(CanonicalModel):
    sku: str
    quantity: int = Field(default=1, ge=1)
    note: str | None = None


class EchoQuery(CanonicalModel):
    name: str
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    discount: Decimal = Field(default=Decimal("0"), ge=0, decimal_places=2)
    first: Line | None = None
    lines: list[Line] = Field(default_factory=list)


class Echo(CanonicalModel):
    name: str
    limit: int
    discount: Decimal
    first: Line | None
    lines: list[Line]


operations: OperationSet[RestClient] = OperationSet()


@operations.operation(
    "echo.input.get",
    input=EchoQuery,
    output=Echo,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner="team-logistics",
)
async def echo(client: RestClient, query: EchoQuery) -> Canonical:
    """Answer with the input as the gateway validated it (no backend is contacted)."""
    return query.model_dump(mode="json")


class Labels(CanonicalModel):
    labels: dict[str, str] = Field(description="Any labels, by name.")


@operations.operation(
    "echo.labels.get",
    input=Labels,
    output=Labels,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner="team-logistics",
)
async def echo_labels(client: RestClient, query: Labels) -> Canonical:
    """Answer with the labels as the gateway validated them (no backend is contacted)."""
    return query.model_dump(mode="json")
