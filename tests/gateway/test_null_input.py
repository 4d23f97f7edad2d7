"""``null`` for an optional input field is the field left out, at every level and on every
face, as a model in OpenAI's strict mode sends it; a required field stays required."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from tests.conftest import REPLENISH, TEST_CONFIG, Gateway, make_config
from tests.erp import FinanceGateway
from tests.gateway.test_mcp_client import mcp_over_http

ECHO = "echo.input.get"
BACKEND = "  echo:\n    kind: rest\n    adapter: tests.gateway.echo_ops\n    base_url: ${WMS_URL}\n"


@pytest.fixture
async def echo_gateway(
    wms: TestServer, tmp_path: Path, log_stream: io.StringIO
) -> AsyncIterator[Gateway]:
    text = TEST_CONFIG.replace("backends:\n", "backends:\n" + BACKEND).replace(
        'operations: ["warehouse.*"]', 'operations: ["warehouse.*", "echo.*"]'
    )
    wms_url = str(wms.make_url("/")).rstrip("/")
    app = build_app(make_config(wms_url, tmp_path / "audit.sqlite", text))
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield Gateway(client, wms, tmp_path / "audit.sqlite")
    await client.close()


async def echoed(gateway: Gateway, body: Any) -> tuple[int, dict[str, Any]]:
    response = await gateway.invoke(ECHO, body, REPLENISH)
    return response.status, await response.json()


async def test_null_optional_fields_take_their_defaults_at_every_level(
    echo_gateway: Gateway,
) -> None:
    status, answer = await echoed(
        echo_gateway,
        {
            "name": "x",
            "limit": None,
            "discount": None,
            "first": {"sku": "A", "quantity": None, "note": None},
            "lines": [{"sku": "B", "quantity": None, "note": "kept"}],
        },
    )
    assert status == 200, answer
    assert answer["output"] == {
        "name": "x",
        "limit": 20,
        "discount": "0",
        "first": {"sku": "A", "quantity": 1, "note": None},
        "lines": [{"sku": "B", "quantity": 1, "note": "kept"}],
    }
    status, answer = await echoed(echo_gateway, {"name": "x", "first": None, "lines": None})
    assert status == 200, answer
    assert (answer["output"]["first"], answer["output"]["lines"]) == (None, [])


async def test_null_for_a_required_field_is_still_refused(echo_gateway: Gateway) -> None:
    status, problem = await echoed(echo_gateway, {"name": None, "lines": [{"sku": None}]})
    assert (status, problem["code"]) == (422, "validation_failed")
    assert {e["field"] for e in problem["errors"]} == {"name", "lines[0].sku"}
    [event] = await echo_gateway.audit(request_id=problem["request_id"])
    assert (event.outcome, event.status) == ("validation_failed", 422)


async def test_taking_nulls_out_keeps_every_other_value_as_sent(echo_gateway: Gateway) -> None:
    """A strict integer field still refuses ``5.0``, and an unknown field is still named,
    when the same body also carries a null that is taken out."""
    status, problem = await echoed(echo_gateway, {"name": "x", "limit": 5.0, "first": None})
    assert (status, problem["code"]) == (422, "validation_failed")
    assert [e["field"] for e in problem["errors"]] == ["limit"]
    status, problem = await echoed(echo_gateway, {"name": "x", "first": None, "bin": None})
    assert [e["field"] for e in problem["errors"]] == ["bin"]


async def test_an_mcp_call_with_nulls_is_answered_like_one_without(echo_gateway: Gateway) -> None:
    async with mcp_over_http(echo_gateway, REPLENISH, "auto") as client:
        result = await client.call_tool(
            "echo_input_get", {"name": "x", "limit": None, "first": None, "lines": None}
        )
    assert result.is_error is False, result.content
    assert result.structured_content == {
        "name": "x",
        "limit": 20,
        "discount": "0",
        "first": None,
        "lines": [],
    }


async def test_a_customer_search_with_a_null_limit_is_answered(
    finance_gateway: FinanceGateway,
) -> None:
    """The case a strict-mode model sends: ``country`` and ``limit`` both null."""
    body = {"name": "*", "country": None, "limit": None}
    with_nulls = await finance_gateway.invoke("finance.customers.search", body)
    without = await finance_gateway.invoke("finance.customers.search", {"name": "*"})
    assert with_nulls.status == 200, await with_nulls.text()
    assert (await with_nulls.json())["output"] == (await without.json())["output"]
