"""Beyond max_in_flight, calls are shed at once with 503 overloaded; health still answers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from tests.conftest import INVENTORY, TEST_CONFIG, Gateway, make_config
from tests.mcp_requests import tools_call

STOCK = {"material": "100234", "plant": "1000"}


async def test_calls_beyond_the_bound_are_shed_fast(gateway: Gateway, tmp_path: Path) -> None:
    text = TEST_CONFIG.replace(
        "  max_body_bytes: 4096\n", "  max_body_bytes: 4096\n  max_in_flight: 2\n"
    )
    text = text.replace("total_s: 0.5", "total_s: 30")
    config = make_config(str(gateway.wms.make_url("/")).rstrip("/"), tmp_path / "a.sqlite", text)
    async with TestClient(TestServer(build_app(config), host="127.0.0.1")) as client:
        await gateway.fault("slow", delay_s=60)  # held until the sandbox shuts down
        headers = {"Authorization": f"Bearer {INVENTORY}"}

        def call() -> Any:
            return client.post("/v1/operations/warehouse.stock.get", json=STOCK, headers=headers)

        held = [asyncio.create_task(call()) for _ in range(2)]
        await gateway.wait_held(2)
        shed = await call()
        assert shed.status == 503
        body = await shed.json()
        assert body["code"] == "overloaded"
        assert shed.headers["Retry-After"] == "1"
        assert (await client.get("/healthz")).status == 200
        metrics = await (await client.get("/metrics")).text()
        assert "lastmile_shed_calls 1.0" in metrics
        assert "lastmile_in_flight_calls 2.0" in metrics
        body, mcp_headers = tools_call("warehouse.stock.get", STOCK, INVENTORY)
        mcp = await client.post("/mcp", json=body, headers=mcp_headers)
        result = (await mcp.json())["result"]
        assert result["isError"] is True  # the same bound covers MCP's tools/call
        assert result["_meta"]["dev.lastmile/problem"]["code"] == "overloaded"
        metrics = await (await client.get("/metrics")).text()
        assert "lastmile_shed_calls 2.0" in metrics
        await gateway.fault("ok")
        for task in held:
            task.cancel()
