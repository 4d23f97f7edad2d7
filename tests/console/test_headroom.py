"""The agents page shows each agent's rate-limit headroom, read without taking from it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.config.resilience import RateLimitConfig, RateLimitsConfig
from tests.conftest import INVENTORY, OPERATOR
from tests.console.conftest import post_sign_in
from tests.gateway.guardrails.conftest import guarded_config

STOCK = {"material": "100234", "plant": "1000"}


@pytest.fixture
async def gateway(wms: TestServer, tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    config = guarded_config(str(wms.make_url("/")).rstrip("/"), tmp_path)
    limits = RateLimitsConfig(agents={"inventory-bot": RateLimitConfig(limit=5, window_s=3600)})
    resilience = config.resilience.model_copy(update={"rate_limits": limits})
    app = build_app(config.model_copy(update={"resilience": resilience}))
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


async def headroom(client: TestClient[Any, Any], agent: str) -> str:
    page = await (await client.get("/console/agents")).text()
    row = page.split(f'data-agent="{agent}"')[1].split("</tr>")[0]
    cell = row.split('<td class="headroom">')[1].split("</td>")[0]
    return re.sub(r"<[^>]+>", "", cell)


async def stock(client: TestClient[Any, Any]) -> int:
    response = await client.post(
        "/v1/operations/warehouse.stock.get",
        json=STOCK,
        headers={"Authorization": f"Bearer {INVENTORY}"},
    )
    return response.status


async def test_the_agents_page_shows_headroom_and_looking_takes_nothing(
    gateway: TestClient[Any, Any],
) -> None:
    assert (await post_sign_in(gateway, "/console/sign-in", OPERATOR)).status == 303
    assert await headroom(gateway, "inventory-bot") == "5 of 5 per 3600 s"
    assert await headroom(gateway, "replenishment-bot") == "no limit"

    assert [await stock(gateway) for _ in range(2)] == [200, 200]

    for _ in range(3):  # looking again and again leaves the quota as it is
        shown = await headroom(gateway, "inventory-bot")
        assert shown.startswith("3 of 5 per 3600 s; whole again in ")
    assert [await stock(gateway) for _ in range(4)] == [200, 200, 200, 429]
    assert (await headroom(gateway, "inventory-bot")).startswith("0 of 5")
