"""The PostgreSQL halt board inside one process: what an operator is told when a live
process does not confirm, and that a copy nobody can vouch for admits nothing."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.appkeys import GUARDRAILS
from gateway.guardrails.halts_postgres import PostgresHaltBoard
from tests.conftest import INVENTORY, OPERATOR, TEST_CONFIG, make_config
from tests.postgres_db import postgres_dsn

__all__ = ["postgres_dsn"]

STOCK = {"material": "100234", "plant": "1000"}
FLEET = """
postgres: {dsn: '${PG_DSN}'}
fleet: {name: solo}
guardrails:
  halts: {store: postgres, confirm_within: 0.5s, fresh_within: 30s}
"""


@pytest.fixture
async def solo(
    postgres_dsn: str, wms: TestServer, tmp_path: Path, log_stream: io.StringIO
) -> AsyncIterator[TestClient[Any, Any]]:
    config = make_config(
        str(wms.make_url("/")).rstrip("/"),
        tmp_path / "audit.sqlite",
        TEST_CONFIG + FLEET,
        PG_DSN=postgres_dsn,
    )
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(config), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


def staff(key: str = OPERATOR) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_live_process_that_never_confirms_is_named_and_the_halt_still_applies(
    solo: TestClient[Any, Any], postgres_dsn: str
) -> None:
    ghost = await asyncpg.connect(postgres_dsn)
    try:  # a process that registered and heartbeats, but never confirms a halt
        await ghost.execute(
            "INSERT INTO lastmile_processes (name, host, pid, version, started_at, heartbeat_at)"
            " VALUES ('ghost', 'elsewhere', 1, 'x', now(), now() + interval '1 hour')"
        )
    finally:
        await ghost.close()
    answer = await solo.post(
        "/v1/admin/halts",
        json={"scope": "agent", "target": "inventory-bot", "reason": "r"},
        headers=staff(),
    )
    body = await answer.json()
    assert answer.status == 202
    assert body["acknowledged"] is False
    assert body["confirmed_by"] == ["solo"]
    assert body["unconfirmed"] == ["ghost"]
    call = await solo.post(
        "/v1/operations/warehouse.stock.get", json=STOCK, headers=staff(INVENTORY)
    )
    assert (await call.json())["code"] == "halted"


async def test_a_copy_not_confirmed_within_fresh_within_refuses_every_call(
    solo: TestClient[Any, Any],
) -> None:
    board = solo.app[GUARDRAILS].halts
    assert isinstance(board, PostgresHaltBoard)
    await board.close()  # the follower stops: nothing confirms the copy any more
    now = [0.0]
    board._clock = lambda: now[0]
    board._confirmed_at = 0.0
    now[0] = 29.0
    ok = await solo.post("/v1/operations/warehouse.stock.get", json=STOCK, headers=staff(INVENTORY))
    assert ok.status == 200
    now[0] = 31.0
    refused = await solo.post(
        "/v1/operations/warehouse.stock.get", json=STOCK, headers=staff(INVENTORY)
    )
    assert refused.status == 503
    assert (await refused.json())["code"] == "halt_state_unknown"
    ready = await solo.get("/readyz")
    assert ready.status == 503
