"""The gateway's own HTTP vocabulary: problems, catalog entries, invocation results."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import Effect, Risk
from schemas.errors import FieldError


class Problem(BaseModel):
    """An RFC 9457 problem document with the gateway's stable machine ``code``."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str
    retryable: bool = False
    instance: str | None = None
    errors: list[FieldError] | None = None


class CatalogEntry(BaseModel):
    """What an agent needs to decide whether and how to call one operation.

    ``name`` is the operation (``warehouse.stock.get``, as in ``/v1/operations/{name}``);
    ``tool_name`` is the same operation as agent hosts must name a tool
    (``warehouse_stock_get``, ``^[a-zA-Z0-9_-]{1,64}$``), as MCP lists it.
    """

    name: str
    tool_name: str
    description: str
    effect: Effect
    idempotent: bool
    risk: Risk
    owner: str
    backend: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


class Catalog(BaseModel):
    operations: list[CatalogEntry]


class InvocationResult(BaseModel):
    """A successful call: the validated output and the id to quote in the audit trail."""

    request_id: str
    operation: str
    output: dict[str, Any]


class BackendReadiness(BaseModel):
    name: str
    ready: bool
    detail: str = ""
    latency_ms: float | None = None
    circuit: str | None = None  # the gateway's circuit breaker: closed | open | half_open


class FleetReadiness(BaseModel):
    """This process's view of the registry (only with ``postgres:``)."""

    process: str
    live: list[str] = Field(default_factory=list)
    lost: list[str] = Field(default_factory=list)
    detail: str | None = None


class Readiness(BaseModel):
    ready: bool
    backends: list[BackendReadiness] = Field(default_factory=list)
    halts_fresh: bool = Field(
        default=True,
        description="whether this process can vouch for its copy of the halts; "
        "false means it refuses every call (halt_state_unknown)",
    )
    fleet: FleetReadiness | None = None
    config_version: int = Field(
        default=0,
        description="the version of the reloadable configuration in force in this process "
        "(0: the file it started with)",
    )
    config_error: str | None = Field(
        default=None,
        description="why this process could not adopt a newer configuration version, if so",
    )
