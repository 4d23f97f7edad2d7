"""The held-call webhook: a signed POST to a real receiver on loopback when a call is held,
without the input, and never in the way of the agent's answer."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.config import ConfigError
from tests.conftest import REPLENISH
from tests.gateway.guardrails.conftest import GUARDRAILS, guarded_config, movement

SECRET = "webhook-test-secret-1f2e3d"


class Receiver:
    """A webhook receiver that keeps what it got and signals each arrival."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        self.arrived.set()
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, TestServer]]:
    hooks = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/held", hooks.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        yield hooks, server


async def test_a_held_call_is_announced_with_a_signature(
    wms: TestServer, tmp_path: Path, receiver: tuple[Receiver, TestServer]
) -> None:
    hooks, server = receiver
    hook = "    webhook:\n      url: ${HOOK_URL}\n      secret: ${HOOK_SECRET}\n"
    guardrails = GUARDRAILS.replace("    expire_after: 1h\n", "    expire_after: 1h\n" + hook)
    url = str(wms.make_url("/")).rstrip("/")
    config = guarded_config(
        url,
        tmp_path,
        guardrails,
        HOOK_URL=str(server.make_url("/hooks/held")),
        HOOK_SECRET=SECRET,
    )
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(config), host="127.0.0.1"))
    await client.start_server()
    try:
        held = await client.post(
            "/v1/operations/warehouse.goods_movements.create",
            json=movement(quantity="150", reference="PO-77"),
            headers={"Authorization": f"Bearer {REPLENISH}", "X-On-Behalf-Of": "lea@acme.example"},
        )
        assert held.status == 202
        approval_id = (await held.json())["approval_id"]
        await asyncio.wait_for(hooks.arrived.wait(), 30)
    finally:
        await client.close()

    headers, body = hooks.received[0]
    timestamp = headers["X-Lastmile-Timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    assert headers["X-Lastmile-Signature"] == "sha256=" + expected.hexdigest()
    notice = json.loads(body)
    assert notice["event"] == "approval.held"
    assert notice["approval_id"] == approval_id
    assert notice["operation"] == "warehouse.goods_movements.create"
    assert notice["policy_ids"] == ["big-needs-approval"]
    assert notice["console_url"].endswith(f"/console/approvals/{approval_id}")
    assert "PO-77" not in body.decode()  # the input stays behind sign-in


async def test_a_webhook_secret_must_be_an_environment_reference(tmp_path: Path) -> None:
    hook = "    webhook:\n      url: http://127.0.0.1:9/h\n      secret: plain\n"
    guardrails = GUARDRAILS.replace("    expire_after: 1h\n", "    expire_after: 1h\n" + hook)
    with pytest.raises(ConfigError, match="ENV_VAR"):
        guarded_config("http://127.0.0.1:9", tmp_path, guardrails)
