"""Idempotency key, dry run and malformed options reach the one CallRequest from both
faces (the stages that honour them live elsewhere), and MCP sessions stay bounded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from gateway.api.mcp.protocol import Exchange, McpHandler
from gateway.api.mcp.sessions import McpSessions
from gateway.app import build_app
from gateway.appkeys import IN_FORCE, PIPELINE, REGISTRY
from gateway.outcomes import Refused
from gateway.pipeline import Call, CallRequest, Pipeline, Proceed, StageOutcome
from schemas.errors import Forbidden
from tests.conftest import INVENTORY, make_config


class Capture:
    """The only stage: keeps what reached it and ends the call there."""

    def __init__(self) -> None:
        self.seen: list[CallRequest] = []

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        self.seen.append(call.request)
        return Refused(Forbidden("captured"))


def capturing_app(tmp_path: Path) -> tuple[Any, Capture]:
    app = build_app(make_config("http://127.0.0.1:9", tmp_path / "audit.sqlite"))
    capture = Capture()
    app[PIPELINE] = Pipeline((capture,))
    return app, capture


async def test_rest_headers_set_idempotency_key_and_dry_run(tmp_path: Path) -> None:
    app, capture = capturing_app(tmp_path)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        auth = {"Authorization": f"Bearer {INVENTORY}"}
        await client.post(
            "/v1/operations/warehouse.stock.get",
            json={},
            headers={**auth, "Idempotency-Key": "k-42", "X-Dry-Run": "true"},
        )
        await client.post("/v1/operations/warehouse.stock.get", json={}, headers=auth)
        bad = await client.post(
            "/v1/operations/warehouse.stock.get", json={}, headers={**auth, "X-Dry-Run": "maybe"}
        )
        assert bad.status == 403  # the pipeline decides (and audits), not the face
    assert [(i.idempotency_key, i.dry_run) for i in capture.seen] == [
        ("k-42", True),
        (None, False),
        (None, False),
    ]
    assert [p.field for p in capture.seen[2].malformed] == ["header:X-Dry-Run"]


async def test_mcp_meta_sets_idempotency_key_and_dry_run(tmp_path: Path) -> None:
    app, capture = capturing_app(tmp_path)
    handler = McpHandler(app[REGISTRY], app[IN_FORCE], app[PIPELINE])
    exchange = Exchange("req_1", f"Bearer {INVENTORY}", "2026-07-28")
    meta = {"dev.lastmile/idempotencyKey": "k-7", "dev.lastmile/dryRun": True}
    await handler.handle("tools/call", {"name": "warehouse.stock.get", "_meta": meta}, exchange)
    await handler.handle("tools/call", {"name": "warehouse.stock.get"}, exchange)
    wrong = {"dev.lastmile/dryRun": "yes", "dev.lastmile/onBehalfOf": 7}
    await handler.handle("tools/call", {"name": "warehouse.stock.get", "_meta": wrong}, exchange)
    assert [(i.protocol, i.idempotency_key, i.dry_run) for i in capture.seen] == [
        ("mcp", "k-7", True),
        ("mcp", None, False),
        ("mcp", None, False),
    ]
    assert sorted(p.field for p in capture.seen[2].malformed) == [
        "_meta.dev.lastmile/dryRun",
        "_meta.dev.lastmile/onBehalfOf",
    ]


async def test_sessions_expire_when_idle_and_the_oldest_go_first_when_full() -> None:
    now = [0.0]
    sessions = McpSessions(max_sessions=2, idle_s=60, clock=lambda: now[0])
    first = await sessions.open("bot", "2025-11-25")
    now[0] = 30
    second = await sessions.open("bot", "2025-11-25")
    assert await sessions.get(first.id, "bot") is first  # touching renews it
    third = await sessions.open("bot", "2025-11-25")  # full: the least recently used goes
    assert await sessions.get(second.id, "bot") is None
    assert len(sessions) == 2
    now[0] = 89
    assert await sessions.get(third.id, "other-bot") is None  # not visible to another agent
    assert await sessions.get(third.id, "bot") is third
    now[0] = 140
    assert await sessions.get(first.id, "bot") is None  # idle for 110 s
    assert await sessions.close(third.id, "bot") is True
    assert len(sessions) == 0


async def test_an_agent_past_its_share_loses_its_own_oldest_session() -> None:
    sessions = McpSessions(max_sessions=10, idle_s=60, max_per_agent=2, clock=lambda: 0.0)
    other = await sessions.open("other-bot", "2025-11-25")
    mine = [await sessions.open("greedy-bot", "2025-11-25") for _ in range(5)]
    assert [await sessions.get(s.id, "greedy-bot") is not None for s in mine] == [False] * 3 + [
        True
    ] * 2
    assert await sessions.get(other.id, "other-bot") is other
