"""A gateway with guardrails switched on: Cedar policies, budgets, approvals, and a clock
the tests move (budget windows and approval expiry), in front of the real ACME sandbox."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.config import Config
from tests.conftest import INVENTORY, TEST_CONFIG, Gateway, make_config

POLICIES = """
@id("read-all")
@reason("Agents may read.")
permit (principal, action in Action::"read", resource);

@id("planners-write")
@reason("Planning agents may post goods movements.")
permit (principal, action == Action::"warehouse.goods_movements.create", resource)
when { principal.owner == "ops-planning" };

@id("no-scrap")
@reason("Agents may not scrap stock.")
forbid (principal, action == Action::"warehouse.goods_movements.create", resource)
when { context.input.kind == "scrap" };

@id("big-needs-approval")
@decision("approval_required")
@reason("Movements over 100 units need approval.")
forbid (principal, action == Action::"warehouse.goods_movements.create", resource)
when { context.input.quantity.greaterThan(decimal("100.0")) };

@id("name-the-user")
@mode("shadow")
@reason("Movements should name an end user.")
forbid (principal, action == Action::"warehouse.goods_movements.create", resource)
unless { context.request has on_behalf_of };
"""

GUARDRAILS = """
guardrails:
  policies: ["${POLICY_FILE}"]
  costs: {"warehouse.goods_movements.create": 5, "warehouse.*": 1}
  budgets:
    - id: quantity-24h
      agents: [replenishment-bot]
      operations: [warehouse.goods_movements.create]
      measure: input.quantity
      limit: 500
      window: 24h
  approvals:
    path: ${APPROVALS_DB}
    expire_after: 1h
"""


class FakeClock:
    """Wall time the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def movement(kind: str = "receipt", quantity: str = "10", **extra: Any) -> dict[str, Any]:
    return {
        "material": "100234",
        "plant": "1000",
        "kind": kind,
        "quantity": quantity,
        "posting_date": date(2026, 11, 26).isoformat(),
        **extra,
    }


def guarded_config(
    wms_url: str,
    tmp_path: Path,
    guardrails: str = GUARDRAILS,
    policies: str = POLICIES,
    **env: str,
) -> Config:
    policy_file = tmp_path / "policies.cedar"
    policy_file.write_text(policies)
    # failing-backend tests must see the backend's error, not the breaker opened by it
    no_breaker = "resilience:\n  defaults:\n    breaker: {failure_threshold: 1000}\n"
    text = (
        (TEST_CONFIG + guardrails + no_breaker)
        .replace("total_s: 0.5", "total_s: 10")
        .replace("read_s: 1", "read_s: 10")
    )
    text = text.replace("${POLICY_FILE}", str(policy_file))
    text = text.replace("${APPROVALS_DB}", str(tmp_path / "approvals.sqlite"))
    return make_config(wms_url, tmp_path / "audit.sqlite", text, **env)


@dataclass
class Guarded(Gateway):
    clock: FakeClock

    async def staff(self, method: str, path: str, key: str, body: Any = None) -> ClientResponse:
        return await self.client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {key}"}
        )

    async def stock(self) -> str:
        response = await self.invoke(
            "warehouse.stock.get", {"material": "100234", "plant": "1000"}, INVENTORY
        )
        assert response.status == 200
        return str((await response.json())["output"]["quantity"])


StartGateway = Callable[..., Awaitable[Guarded]]


@pytest.fixture
async def start_guarded(
    wms: TestServer, tmp_path: Path, log_stream: io.StringIO
) -> AsyncIterator[StartGateway]:
    """Start a guarded gateway, optionally with other guardrails or policies."""
    clients: list[TestClient[Any, Any]] = []

    async def start(guardrails: str = GUARDRAILS, policies: str = POLICIES) -> Guarded:
        clock = FakeClock()
        url = str(wms.make_url("/")).rstrip("/")
        app = build_app(guarded_config(url, tmp_path, guardrails, policies), clock=clock)
        client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return Guarded(client, wms, tmp_path / "audit.sqlite", clock)

    yield start
    for client in clients:
        await client.close()


@pytest.fixture
async def guarded(start_guarded: StartGateway) -> Guarded:
    return await start_guarded()
