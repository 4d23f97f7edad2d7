"""What several processes share through Redis besides limits: a handshake-era MCP session
opened through one process is served by another, and one idempotency key sent to three
processes at once reaches the backend once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.conftest import INVENTORY, REPLENISH
from tests.fleet.conftest import FleetFactory
from tests.fleet.test_shared_limits import shared_state
from tests.gateway.guardrails.conftest import movement
from tests.gateway.state.test_stores import REDIS_URL, purge, require_redis

HANDSHAKE = "2025-11-25"


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    require_redis()
    prefix = f"lastmile-test-{uuid.uuid4().hex}:"
    yield prefix
    await purge(prefix)


async def test_a_session_opened_through_one_process_is_served_by_another(
    fleet_of: FleetFactory, prefix: str
) -> None:
    fleet = await fleet_of(2, extra=shared_state(REDIS_URL, prefix))
    gw0, gw1 = fleet.members
    headers = {
        "Authorization": f"Bearer {INVENTORY}",
        "Accept": "application/json, text/event-stream",
    }
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": HANDSHAKE,
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    async with fleet.http.post(f"{gw0.url}/mcp", json=initialize, headers=headers) as opened:
        assert opened.status == 200
        session = opened.headers["Mcp-Session-Id"]
    headers |= {"Mcp-Session-Id": session, "MCP-Protocol-Version": HANDSHAKE}
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    async with fleet.http.post(f"{gw1.url}/mcp", json=initialized, headers=headers) as note:
        assert note.status == 202
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    async with fleet.http.post(f"{gw1.url}/mcp", json=listing, headers=headers) as listed:
        assert listed.status == 200
        tools = (await listed.json())["result"]["tools"]
    assert "warehouse_stock_get" in {tool["name"] for tool in tools}

    async with fleet.http.delete(f"{gw1.url}/mcp", headers=headers) as ended:
        assert ended.status == 204
    async with fleet.http.post(f"{gw0.url}/mcp", json=listing, headers=headers) as gone:
        assert gone.status == 404  # ended through one process: ended for all


async def test_one_idempotency_key_sent_to_three_processes_writes_once(
    fleet_of: FleetFactory, prefix: str
) -> None:
    fleet = await fleet_of(3, extra=shared_state(REDIS_URL, prefix))
    before = (await fleet.sandbox_stats())["documents"]
    key = f"fleet-{uuid.uuid4().hex}"

    async def post(index: int) -> tuple[int, str | None]:
        member = fleet.members[index % 3]
        async with fleet.http.post(
            f"{member.url}/v1/operations/warehouse.goods_movements.create",
            json=movement(quantity="7"),
            headers={"Authorization": f"Bearer {REPLENISH}", "Idempotency-Key": key},
        ) as answer:
            body = await answer.json()
            return answer.status, body.get("code")

    answers = await asyncio.gather(*(post(i) for i in range(9)))
    assert (await fleet.sandbox_stats())["documents"] == before + 1
    successes = [status for status, _ in answers if status in (200, 201)]
    assert successes, answers
    assert {code for status, code in answers if status not in (200, 201)} <= {
        "idempotency_in_flight"
    }
    replay = await post(0)  # settled now: every process replays the one answer
    assert replay[0] in (200, 201)
    assert (await fleet.sandbox_stats())["documents"] == before + 1
