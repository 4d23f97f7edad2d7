"""Fixtures for OData: the ACME sales sandbox on a free port and a gateway in front of it,
speaking V4 or (``sales_gateway_v2``) SAP-flavoured V2 with CSRF tokens.

Registered as a pytest plugin by ``tests/conftest.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.appkeys import AUDIT_STORE
from gateway.config import parse_config
from sandbox import acme_odata
from schemas.audit import AuditEvent

SALES = "lm_test_sales_bot_0123456789abcdef"
SALES_SHA = hashlib.sha256(SALES.encode()).hexdigest()

ODATA_CONFIG = f"""
backends:
  acme_sales:
    kind: odata
    adapter: adapters.acme_sales
    service_root: ${{SALES_ROOT}}
    version: "${{SALES_VERSION}}"
    csrf: ${{SALES_CSRF}}
    timeouts: {{connect_s: 1, read_s: 1, total_s: 0.5}}
    max_response_bytes: 65536
    pagination: {{max_pages: 3}}
    auth:
      type: oauth2_client_credentials
      token_url: ${{SALES_TOKEN_URL}}
      client_id: {acme_odata.CLIENT_ID}
      client_secret: ${{SALES_SECRET}}
agents:
  - id: sales-bot
    owner: team-sales
    key_sha256: {SALES_SHA}
    operations: ["sales.*"]
audit:
  path: ${{AUDIT_DB}}
"""


@dataclass
class SalesSandbox:
    server: TestServer

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def fault(self, mode: str, **options: Any) -> None:
        async with ClientSession() as http:
            response = await http.post(self.url("/_sandbox/faults"), json={"mode": mode, **options})
            assert response.status == 200, await response.text()

    async def stats(self) -> dict[str, int]:
        async with ClientSession() as http:
            return dict(await (await http.get(self.url("/_sandbox/stats"))).json())

    def orders(self) -> list[dict[str, Any]]:
        """The sales orders the sandbox holds (its own store, read directly)."""
        return [doc for doc, _ in self.server.app[acme_odata.STORE].rows("SalesOrders")]


@dataclass
class SalesGateway:
    client: TestClient[Any, Any]
    sandbox: SalesSandbox

    async def invoke(self, operation: str, body: Any, **headers: str) -> ClientResponse:
        headers["Authorization"] = f"Bearer {SALES}"
        return await self.client.post(f"/v1/operations/{operation}", json=body, headers=headers)

    async def audit(self, request_id: str) -> list[AuditEvent]:
        return await self.client.app[AUDIT_STORE].query(request_id=request_id)


@pytest.fixture
async def sales_sandbox(tmp_path: Path) -> AsyncIterator[SalesSandbox]:
    server = TestServer(acme_odata.create_app(tmp_path / "sales.sqlite"), host="127.0.0.1")
    await server.start_server()
    yield SalesSandbox(server)
    await server.close()


GatewayFactory = Callable[..., Awaitable[SalesGateway]]


@pytest.fixture
async def make_sales_gateway(
    sales_sandbox: SalesSandbox, tmp_path: Path
) -> AsyncIterator[GatewayFactory]:
    clients: list[TestClient[Any, Any]] = []

    async def start(version: str = "4.0", text: str = ODATA_CONFIG, **env: str) -> SalesGateway:
        flavour = acme_odata.V4 if version == "4.0" else acme_odata.V2
        values = {
            "SALES_ROOT": sales_sandbox.url(flavour.root),
            "SALES_VERSION": version,
            "SALES_CSRF": "true" if version == "2.0" else "false",
            "SALES_TOKEN_URL": sales_sandbox.url("/oauth/token"),
            "SALES_SECRET": acme_odata.CLIENT_SECRET,
            "AUDIT_DB": str(tmp_path / f"audit{len(clients)}.sqlite"),
            **env,
        }
        app = build_app(parse_config(text, "odata-test.yaml", env=values))
        client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return SalesGateway(client, sales_sandbox)

    yield start
    for client in clients:
        await client.close()


@pytest.fixture(params=["4.0", "2.0"], ids=["v4", "v2-sap"])
async def sales_gateway(request: Any, make_sales_gateway: GatewayFactory) -> SalesGateway:
    """The gateway in front of the sandbox, once per protocol version."""
    return await make_sales_gateway(request.param)
