"""One tool name per operation on every face, in the form every model API accepts
(``^[a-zA-Z0-9_-]{1,64}$``), mapped back without ambiguity; clashes stop the start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import INVENTORY, TEST_CONFIG, Gateway
from tests.gateway.long_name_ops import LONG_NAME
from tests.gateway.test_mcp_client import mcp_over_http, text_of

REPO = Path(__file__).resolve().parents[2]
STOCK = {"material": "100234", "plant": "1000"}


async def test_the_rest_catalog_names_each_tool_as_mcp_does(gateway: Gateway) -> None:
    headers = {"Authorization": f"Bearer {INVENTORY}"}
    catalog = await (await gateway.client.get("/v1/operations", headers=headers)).json()
    names = {e["name"]: e["tool_name"] for e in catalog["operations"]}
    assert names == {
        "warehouse.items.get": "warehouse_items_get",
        "warehouse.stock.get": "warehouse_stock_get",
    }
    one = await gateway.client.get("/v1/operations/warehouse.stock.get", headers=headers)
    assert (await one.json())["tool_name"] == "warehouse_stock_get"
    async with mcp_over_http(gateway, INVENTORY, "auto") as client:
        listed = {tool.title: tool.name for tool in (await client.list_tools()).tools}
    assert listed == names


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_tool_is_called_by_its_tool_name_or_its_operation_name(
    gateway: Gateway, mode: str
) -> None:
    async with mcp_over_http(gateway, INVENTORY, mode) as client:
        by_tool = await client.call_tool("warehouse_stock_get", STOCK)
        by_operation = await client.call_tool("warehouse.stock.get", STOCK)
    assert by_tool.is_error is False
    assert by_tool.structured_content == by_operation.structured_content
    for result in (by_tool, by_operation):
        assert result.meta is not None
        [event] = await gateway.audit(request_id=result.meta["dev.lastmile/requestId"])
        assert (event.operation, event.outcome) == ("warehouse.stock.get", "ok")


async def test_a_name_near_a_tool_name_is_an_unknown_tool(gateway: Gateway) -> None:
    async with mcp_over_http(gateway, INVENTORY, "auto") as client:
        result = await client.call_tool("warehouse_stock_gets", STOCK)
    assert result.is_error is True
    assert "(unknown_operation)" in text_of(result)
    assert result.meta is not None
    [event] = await gateway.audit(request_id=result.meta["dev.lastmile/requestId"])
    assert (event.operation, event.outcome) == ("warehouse_stock_gets", "unknown_operation")
    assert await gateway.wms_calls() == 0


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (
            "tests.gateway.colliding_ops",
            "operations 'stock.level_get.one' and 'stock_level.get.one' would share the tool "
            "name 'stock_level_get_one' (dots become '_'); rename one",
        ),
        (
            "tests.gateway.long_name_ops",
            f"operation {LONG_NAME!r}: its tool name {LONG_NAME.replace('.', '_')!r} has 69 "
            "characters; agent hosts accept at most 64",
        ),
    ],
    ids=["two-operations-one-name", "longer-than-64"],
)
def test_tool_names_hosts_would_refuse_stop_the_start_up(
    tmp_path: Path, module: str, message: str
) -> None:
    backend = f"  extra:\n    kind: rest\n    adapter: {module}\n    base_url: http://127.0.0.1:9\n"
    text = TEST_CONFIG.replace("backends:\n", "backends:\n" + backend)
    config = tmp_path / "gateway.yaml"
    config.write_text(
        text.replace("${WMS_URL}", "http://127.0.0.1:9").replace(
            "${AUDIT_DB}", str(tmp_path / "audit.sqlite")
        ),
        "utf-8",
    )
    done = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "gateway", "check-config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
