"""The DNS-rebinding guard of ``/mcp``: only configured hosts and origins are answered.

An attacker who rebinds a name to the gateway's address controls both the ``Host`` and
the ``Origin`` of the browser's request, so they are checked against a list fixed by
configuration, before the key is even looked at.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from tests.conftest import INVENTORY, TEST_CONFIG, make_config

PUBLIC_URL = "https://agents.example.com"
CONFIG = (
    TEST_CONFIG.replace("server:\n", f"server:\n  public_url: {PUBLIC_URL}\n", 1)
    + """
mcp:
  allowed_hosts: ["mcp.internal:8443"]
  allowed_origins: ["http://localhost:3000"]
"""
)
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}


@pytest.fixture
async def client(wms: TestServer, tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    wms_url = str(wms.make_url("/")).rstrip("/")
    app = build_app(make_config(wms_url, tmp_path / "audit.sqlite", CONFIG))
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


async def initialize(
    client: TestClient[Any, Any], key: str | None = INVENTORY, **headers: str
) -> ClientResponse:
    headers["Accept"] = "application/json, text/event-stream"
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return await client.post("/mcp", json=INITIALIZE, headers=headers)


async def refused(response: ClientResponse, code: str) -> None:
    assert response.status == 403, await response.text()
    assert (await response.json())["code"] == code


async def test_a_rebound_host_with_its_own_origin_is_refused_before_the_key_is_read(
    client: TestClient[Any, Any],
) -> None:
    evil = {"Host": "evil.example.com", "Origin": "http://evil.example.com"}
    await refused(await initialize(client, **evil), "host_not_allowed")
    await refused(await initialize(client, key=None, **evil), "host_not_allowed")
    bare = {"Host": "evil.example.com"}  # no Origin: a non-browser client, same rule
    await refused(await initialize(client, **bare), "host_not_allowed")


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "[::1]", "LocalHost"])
async def test_loopback_names_on_the_served_port_are_answered(
    client: TestClient[Any, Any], name: str
) -> None:
    authority = f"{name}:{client.port}"
    response = await initialize(client, Host=authority, Origin=f"http://{authority}")
    assert response.status == 200, await response.text()
    assert response.headers["Mcp-Session-Id"]


async def test_loopback_names_on_another_port_are_refused(client: TestClient[Any, Any]) -> None:
    other = client.port + 1 if client.port < 65535 else client.port - 1
    await refused(await initialize(client, Host=f"localhost:{other}"), "host_not_allowed")
    await refused(await initialize(client, Host="localhost"), "host_not_allowed")
    own = f"localhost:{client.port}"
    await refused(
        await initialize(client, Host=own, Origin=f"http://localhost:{other}"),
        "origin_not_allowed",
    )


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("agents.example.com", PUBLIC_URL),  # the public URL, default port left out
        ("agents.example.com:443", "https://agents.example.com:443"),
        ("mcp.internal:8443", "https://mcp.internal:8443"),  # mcp.allowed_hosts
        ("127.0.0.1:{port}", "http://localhost:3000"),  # mcp.allowed_origins
    ],
)
async def test_configured_hosts_and_origins_are_answered(
    client: TestClient[Any, Any], host: str, origin: str
) -> None:
    response = await initialize(client, Host=host.format(port=client.port), Origin=origin)
    assert response.status == 200, await response.text()


@pytest.mark.parametrize(
    ("host", "origin", "code"),
    [
        ("agents.example.com:8443", None, "host_not_allowed"),  # public host, other port
        ("mcp.internal", None, "host_not_allowed"),  # listed with its port only
        ("agents.example.com", "http://agents.example.com", "origin_not_allowed"),  # scheme
        ("agents.example.com", "null", "origin_not_allowed"),
        ("localhost:{port}@evil.example.com", None, "host_not_allowed"),
        ("localhost:not-a-port", None, "host_not_allowed"),
    ],
)
async def test_near_misses_are_refused(
    client: TestClient[Any, Any], host: str, origin: str | None, code: str
) -> None:
    headers = {"Host": host.format(port=client.port)}
    if origin is not None:
        headers["Origin"] = origin
    await refused(await initialize(client, **headers), code)
