"""An unreachable state store: writes fail closed (503, audited), reads may fail open."""

from __future__ import annotations

from pathlib import Path

from gateway.appkeys import STATE_STORE
from tests.conftest import REPLENISH
from tests.gateway.resilience.conftest import (
    CREATE,
    RECEIPT,
    STOCK,
    GatewayFactory,
    sandbox_stats,
)


def sqlite_state(tmp_path: Path, fail_open: bool) -> str:
    path, fail_open_text = tmp_path / "state.sqlite", str(fail_open).lower()
    return f"""
state: {{store: sqlite, path: "{path}", reads_fail_open: {fail_open_text}}}
resilience:
  rate_limits:
    agent: {{limit: 100, window_s: 60}}
"""


async def test_writes_fail_closed_and_reads_fail_open_when_configured(
    gateway_with: GatewayFactory, tmp_path: Path
) -> None:
    gateway = await gateway_with(sqlite_state(tmp_path, fail_open=True))
    assert (await gateway.invoke("warehouse.stock.get", STOCK)).status == 200
    await gateway.client.app[STATE_STORE].close()  # the store is gone

    write = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "k"})
    assert write.status == 503
    assert (await write.json())["code"] == "state_unavailable"
    [event] = await gateway.audit(request_id=write.headers["X-Request-Id"])
    assert event.outcome == "state_unavailable"
    assert (await sandbox_stats(gateway.wms))["documents"] == 0

    read = await gateway.invoke("warehouse.stock.get", STOCK)
    assert read.status == 200
    [event] = await gateway.audit(request_id=read.headers["X-Request-Id"])
    assert "rate limits not checked: the state store is unavailable" in event.reasons
    assert "halts not checked: the state store is unavailable" in event.reasons


async def test_reads_fail_closed_by_default(gateway_with: GatewayFactory, tmp_path: Path) -> None:
    gateway = await gateway_with(sqlite_state(tmp_path, fail_open=False))
    await gateway.client.app[STATE_STORE].close()
    read = await gateway.invoke("warehouse.stock.get", STOCK)
    assert read.status == 503
    assert (await read.json())["code"] == "state_unavailable"
