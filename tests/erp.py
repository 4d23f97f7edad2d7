"""Fixtures for the SOAP side: the ACME finance ERP sandbox on a free port, SOAP adapters
against it, and a gateway serving both the warehouse (REST) and the ERP (SOAP).

Registered as a pytest plugin by ``tests/conftest.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer

from adapters import acme_finance
from adapters.soap import SoapAdapter, SoapSettings
from adapters.soap_wsdl import WsdlSource
from gateway.app import build_app
from gateway.appkeys import AUDIT_STORE
from gateway.config import parse_config
from gateway.demo.session import DEMO_KEYS
from sandbox import acme_finance as erp_sandbox
from sandbox.acme_finance import Credentials
from schemas.audit import AuditEvent

SUPPORT = DEMO_KEYS["support-bot"]
TREASURY = "lm_test_treasury_0123456789abcdef"
TREASURY_SHA = hashlib.sha256(TREASURY.encode()).hexdigest()

SOAP_CONFIG = f"""
backends:
  acme_wms:
    kind: rest
    adapter: adapters.acme_warehouse
    base_url: ${{WMS_URL}}
    health_path: /health
    timeouts: {{connect_s: 1, read_s: 1, total_s: 2}}
  acme_erp:
    kind: soap
    adapter: adapters.acme_finance
    wsdl: ${{ERP_WSDL}}
    soap_version: "${{ERP_SOAP_VERSION:-1.1}}"
    wsdl_cache: ${{ERP_WSDL_CACHE}}
    timeouts: {{connect_s: 1, read_s: 1, total_s: 0.5}}
    operation_timeouts_s: {{finance.invoices.list: 10}}
    max_response_bytes: 65536
agents:
  - id: inventory-bot
    owner: team-logistics
    key_sha256: 7d7de57ee5d41a769264cd3872e56f9d50ae1215385a58056e3de437b40b5248
    operations: ["warehouse.*"]
  - id: support-bot
    owner: team-customer-care
    key_sha256: {hashlib.sha256(SUPPORT.encode()).hexdigest()}
    operations: ["finance.customers.*", "finance.invoices.*", "finance.credit_notes.create"]
  - id: treasury-bot
    owner: team-treasury
    key_sha256: {TREASURY_SHA}
    operations: ["finance.*"]
    may_see: [tax_id, bank_account]
audit:
  path: ${{AUDIT_DB}}
"""


@dataclass
class Erp:
    """The running ERP sandbox and its switches."""

    server: TestServer

    @property
    def endpoint(self) -> str:
        return str(self.server.make_url(erp_sandbox.ENDPOINT))

    @property
    def wsdl_url(self) -> str:
        return self.endpoint + "?wsdl"

    async def fault(self, mode: str, **options: Any) -> None:
        async with ClientSession() as http:
            response = await http.post(
                self.server.make_url("/_sandbox/faults"), json={"mode": mode, **options}
            )
            assert response.status == 200, await response.text()

    async def stats(self) -> dict[str, Any]:
        async with ClientSession() as http:
            response = await http.get(self.server.make_url("/_sandbox/stats"))
            return dict(await response.json())

    async def holding(self) -> None:
        """Wait until the sandbox holds a call (slow, drip or commit-then-timeout)."""
        await self.server.app[erp_sandbox.HOLDING].wait()

    def release(self) -> None:
        """Let every held call answer now."""
        self.server.app[erp_sandbox.RELEASE].set()


ErpFactory = Callable[..., Awaitable[Erp]]


@pytest.fixture
async def make_erp(tmp_path: Path) -> AsyncIterator[ErpFactory]:
    servers: list[TestServer] = []

    async def start(credentials: Credentials | None = None) -> Erp:
        db = tmp_path / f"erp{len(servers)}.sqlite"
        server = TestServer(erp_sandbox.create_app(db, credentials), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return Erp(server)

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def erp(make_erp: ErpFactory) -> Erp:
    return await make_erp()


AdapterFactory = Callable[..., Awaitable[SoapAdapter]]


@pytest.fixture
async def make_adapter(tmp_path: Path) -> AsyncIterator[AdapterFactory]:
    """Start real SOAP adapters; keyword arguments override :class:`SoapSettings` fields
    (``wsdl_options`` override :class:`WsdlSource` fields)."""
    started: list[SoapAdapter] = []

    async def start(wsdl: str, *, wsdl_options: Any = None, **settings: Any) -> SoapAdapter:
        source = WsdlSource(
            location=wsdl, cache_path=tmp_path / "wsdl-cache.sqlite", **(wsdl_options or {})
        )
        defaults: dict[str, Any] = {"total_timeout_s": 2.0, "max_response_bytes": 65536}
        adapter = SoapAdapter(
            "acme_erp",
            SoapSettings(wsdl=source, **{**defaults, **settings}),
            acme_finance.operations,
        )
        await adapter.start()
        started.append(adapter)
        return adapter

    yield start
    for adapter in started:
        await adapter.close()


@pytest.fixture
async def adapter(erp: Erp, make_adapter: AdapterFactory) -> SoapAdapter:
    return await make_adapter(erp.wsdl_url)


@dataclass
class FinanceGateway:
    client: TestClient[Any, Any]
    erp: Erp

    async def audit(self, request_id: str) -> list[AuditEvent]:
        return await self.client.app[AUDIT_STORE].query(request_id=request_id)

    async def invoke(self, operation: str, body: Any, key: str = SUPPORT) -> Any:
        headers = {"Authorization": f"Bearer {key}"}
        return await self.client.post(f"/v1/operations/{operation}", json=body, headers=headers)


def finance_env(wms_url: str, erp: Erp, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "WMS_URL": wms_url,
        "ERP_WSDL": erp.wsdl_url,
        "ERP_WSDL_CACHE": str(tmp_path / "wsdl-cache.sqlite"),
        "AUDIT_DB": str(tmp_path / "audit.sqlite"),
        **extra,
    }


@pytest.fixture
async def finance_gateway(
    wms: TestServer, erp: Erp, tmp_path: Path
) -> AsyncIterator[FinanceGateway]:
    env = finance_env(str(wms.make_url("/")).rstrip("/"), erp, tmp_path)
    app = build_app(parse_config(SOAP_CONFIG, "soap-test.yaml", env=env))
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield FinanceGateway(client, erp)
    await client.close()
