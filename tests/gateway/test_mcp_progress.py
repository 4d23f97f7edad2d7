"""Progress notifications for tool calls that wait.

The warehouse sandbox's "hold" mode keeps calls until the test releases them, so a call
is known to be waiting without any sleep; the progress interval is tiny so notifications
come while it waits. What is asserted is the order of events, never their timing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import pytest
from aiohttp import ClientResponse, ClientSession
from aiohttp.test_utils import TestClient, TestServer
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from gateway.app import build_app
from gateway.appkeys import AUDIT_STORE
from tests.conftest import INVENTORY, TEST_CONFIG, Gateway, make_config

DEADLINE_S = 30  # a regression must fail, not hang: held calls only end when released
STOCK = "warehouse.stock.get"
STOCK_INPUT = {"material": "100234", "plant": "1000"}
VERSION = "2026-07-28"
T = TypeVar("T")
CONFIG = (
    TEST_CONFIG.replace(
        "timeouts: {connect_s: 1, read_s: 1, total_s: 0.5}",
        "timeouts: {connect_s: 1, read_s: 60, total_s: 60}",
    )
    + "\nmcp:\n  progress_interval_s: 0.02\n"
)


@asynccontextmanager
async def gateway_with(config: str, wms: TestServer, tmp_path: Path) -> AsyncIterator[Gateway]:
    audit_db = tmp_path / "audit.sqlite"
    app = build_app(make_config(str(wms.make_url("/")).rstrip("/"), audit_db, config))
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield Gateway(client, wms, audit_db)
    await client.close()


@pytest.fixture
async def slow_gateway(wms: TestServer, tmp_path: Path) -> AsyncIterator[Gateway]:
    async with gateway_with(CONFIG, wms, tmp_path) as gateway:
        yield gateway


async def call_stock(
    gateway: Gateway,
    accept: str,
    token: str | int | None = "stock-1",  # noqa: S107
) -> ClientResponse:
    meta: dict[str, Any] = {
        "io.modelcontextprotocol/protocolVersion": VERSION,
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    if token is not None:
        meta["progressToken"] = token
    body = {
        "jsonrpc": "2.0",
        "id": 42,
        "method": "tools/call",
        "params": {"name": STOCK, "arguments": STOCK_INPUT, "_meta": meta},
    }
    headers = {
        "Authorization": f"Bearer {INVENTORY}",
        "Accept": accept,
        "MCP-Protocol-Version": VERSION,
        "Mcp-Method": "tools/call",
        "Mcp-Name": STOCK,
    }
    return await gateway.client.post("/mcp", json=body, headers=headers)


async def within(awaitable: Awaitable[T], what: str) -> T:
    try:
        return await asyncio.wait_for(awaitable, DEADLINE_S)
    except TimeoutError:
        pytest.fail(f"{what} did not happen within {DEADLINE_S} s")


async def next_event(response: ClientResponse) -> dict[str, Any]:
    """The next ``data:`` payload of an event stream."""
    while True:
        line = await response.content.readline()
        assert line, "the stream ended before the answer"
        if line.startswith(b"data: "):
            return dict(json.loads(line[len(b"data: ") :]))


async def release(gateway: Gateway) -> None:
    async with ClientSession() as http:
        response = await http.post(gateway.wms.make_url("/_sandbox/release"))
        assert response.status == 200


async def test_a_waiting_call_streams_progress_then_its_answer(slow_gateway: Gateway) -> None:
    await slow_gateway.fault("hold")
    response = await within(
        call_stock(slow_gateway, "application/json, text/event-stream"),
        "the event stream of a waiting call",
    )
    assert response.status == 200
    assert response.content_type == "text/event-stream"
    assert response.headers["X-Request-Id"].startswith("req_")
    first = await within(next_event(response), "a progress notification")
    second = await within(next_event(response), "a second progress notification")
    for note in (first, second):
        assert note["method"] == "notifications/progress"
        assert note["params"]["progressToken"] == "stock-1"
        assert "waiting" in note["params"]["message"]
    assert second["params"]["progress"] > first["params"]["progress"]

    await release(slow_gateway)
    event = await next_event(response)
    while event.get("method") == "notifications/progress":
        event = await next_event(response)
    assert event["id"] == 42
    assert event["result"]["isError"] is False, event
    assert event["result"]["structuredContent"]["material"] == "100234"
    [audited] = await slow_gateway.client.app[AUDIT_STORE].query()
    assert (audited.protocol, audited.status) == ("mcp", 200)


async def test_a_call_that_does_not_wait_is_one_json_body(wms: TestServer, tmp_path: Path) -> None:
    # backend calls end within 0.5 s (TEST_CONFIG's timeouts), long before the interval
    config = TEST_CONFIG + "\nmcp:\n  progress_interval_s: 60\n"
    async with gateway_with(config, wms, tmp_path) as gateway:
        response = await call_stock(gateway, "application/json, text/event-stream")
        assert response.content_type == "application/json"
        assert (await response.json())["result"]["isError"] is False


async def test_no_stream_without_a_progress_token_or_without_sse_in_accept(
    slow_gateway: Gateway,
) -> None:
    for accept, token in [("application/json, text/event-stream", None), ("application/json", 7)]:
        await slow_gateway.fault("hold")  # released calls pass until hold is switched on again
        pending = call_stock(slow_gateway, accept, token)
        response = await _after_held(slow_gateway, pending)
        assert response.content_type == "application/json"
        assert (await response.json())["result"]["isError"] is False


async def _after_held(gateway: Gateway, pending: Any) -> ClientResponse:
    task = asyncio.ensure_future(pending)
    await gateway.wait_held(1)
    await release(gateway)
    return await task


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_official_sdk_hears_progress(slow_gateway: Gateway, mode: str) -> None:
    """The MCP SDK's own client, with a progress callback, in both eras it speaks."""
    await slow_gateway.fault("hold")
    heard: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.append((progress, message))
        if len(heard) == 2:
            await release(slow_gateway)

    url = str(slow_gateway.client.make_url("/mcp"))
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {INVENTORY}"})
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        result = await within(
            client.call_tool(STOCK, STOCK_INPUT, progress_callback=on_progress),
            "progress reaching the SDK's callback",
        )
    assert result.is_error is False
    assert len(heard) >= 2
    assert [p for p, _ in heard] == sorted({p for p, _ in heard})
