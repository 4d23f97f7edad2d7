"""Real servers on free loopback ports: the ACME WMS sandbox and the gateway in front of it."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.appkeys import AUDIT_STORE
from gateway.config import Config, parse_config
from gateway.demo.session import DEMO_KEYS
from gateway.logs import configure_logging
from sandbox import acme_warehouse

# the SOAP ERP sandbox and adapters (tests/erp.py); a real OpenID Connect provider
pytest_plugins = ("tests.erp", "tests.odata", "tests.oidc.provider")

INVENTORY = DEMO_KEYS["inventory-bot"]
REPLENISH = DEMO_KEYS["replenishment-bot"]
RETIRED = DEMO_KEYS["retired-bot"]
APPROVER = DEMO_KEYS["maria.schmidt"]
OPERATOR = DEMO_KEYS["ops-oncall"]
AUDITOR = DEMO_KEYS["kpmg-auditor"]

TEST_CONFIG = """
server:
  max_body_bytes: 4096
backends:
  acme_wms:
    kind: rest
    adapter: adapters.acme_warehouse
    base_url: ${WMS_URL}
    health_path: /health
    timeouts: {connect_s: 1, read_s: 1, total_s: 0.5}
    max_response_bytes: 65536
agents:
  - id: inventory-bot
    owner: team-logistics
    key_sha256: 7d7de57ee5d41a769264cd3872e56f9d50ae1215385a58056e3de437b40b5248
    operations: ["warehouse.items.*", "warehouse.stock.*"]
  - id: replenishment-bot
    owner: ops-planning
    key_sha256: 07b027f914756bc520b3455d20ebbaf849a280b13b97b60c03d0c3e152d1b87c
    operations: ["warehouse.*"]
  - id: retired-bot
    owner: team-logistics
    key_sha256: f727e44676293a7bc2a031bfe54b8eba6badca7f1b19fd41398c546ed6ed22d4
    operations: ["warehouse.stock.get"]
    revoked: true
staff:
  - id: maria.schmidt
    key_sha256: 65e551edd3e9bcf275443d9af10d1fc0ab877b9fd6a4d5fc32ca389d7868396d
    roles: [approver]
  - id: ops-oncall
    key_sha256: 97062f7cb3719274eba9f0168cf0ba8a237c906b894e0bdf63cda41f0f79d04b
    roles: [operator]
  - id: kpmg-auditor
    key_sha256: 67067abd2596b17571d7628ea1f771ff2947f6d7378c0ed86cfacdb7954a69c3
    roles: [auditor]
audit:
  path: ${AUDIT_DB}
"""


@pytest.fixture
async def wms(tmp_path: Path) -> AsyncIterator[TestServer]:
    server = TestServer(acme_warehouse.create_app(tmp_path / "wms.sqlite"), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
def log_stream() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("info", stream)
    return stream


def make_config(wms_url: str, audit_db: Path, text: str = TEST_CONFIG, **env: str) -> Config:
    return parse_config(
        text, "test.yaml", env={"WMS_URL": wms_url, "AUDIT_DB": str(audit_db), **env}
    )


@dataclass
class Gateway:
    client: TestClient[Any, Any]
    wms: TestServer
    audit_db: Path

    async def invoke(
        self, operation: str, body: Any, key: str | None = INVENTORY, **headers: str
    ) -> ClientResponse:
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return await self.client.post(f"/v1/operations/{operation}", json=body, headers=headers)

    async def audit(self, **filters: Any) -> list[Any]:
        return await self.client.app[AUDIT_STORE].query(**filters)

    async def wms_calls(self) -> int:
        async with ClientSession() as http:
            response = await http.get(self.wms.make_url("/_sandbox/stats"))
            return int((await response.json())["api_calls"])

    def wms_postings(self) -> int:
        """Goods movements the WMS has posted: its writes (reads, such as the state a
        held call's preview reads, leave this alone)."""
        return int(
            self.wms.app[acme_warehouse.DB].execute("SELECT COUNT(*) FROM MKPF").fetchone()[0]
        )

    async def wait_held(self, count: int) -> None:
        """Return once ``count`` calls are held by the sandbox's slow mode."""
        async with ClientSession() as http:
            response = await http.get(
                self.wms.make_url("/_sandbox/wait_held"), params={"count": count}
            )
            assert response.status == 200, "the calls never reached the sandbox"

    async def fault(self, mode: str, delay_s: float = 0) -> None:
        async with ClientSession() as http:
            response = await http.post(
                self.wms.make_url("/_sandbox/faults"), json={"mode": mode, "delay_s": delay_s}
            )
            assert response.status == 200


@pytest.fixture
async def gateway(
    wms: TestServer, tmp_path: Path, log_stream: io.StringIO
) -> AsyncIterator[Gateway]:
    audit_db = tmp_path / "audit.sqlite"
    app = build_app(make_config(str(wms.make_url("/")).rstrip("/"), audit_db))
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield Gateway(client, wms, audit_db)
    await client.close()


@pytest.fixture
def log_lines(log_stream: io.StringIO) -> Callable[[], list[dict[str, Any]]]:
    return lambda: [json.loads(line) for line in log_stream.getvalue().splitlines() if line]
