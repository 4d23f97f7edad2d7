"""An unreachable state store: writes fail closed (503, audited), reads may fail open past
the rate limits, and the halts never fail open, wherever they live."""

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
from tests.postgres_db import postgres_dsn

__all__ = ["postgres_dsn"]


def sqlite_state(tmp_path: Path, fail_open: bool, *, postgres_halts: bool = False) -> str:
    path, fail_open_text = tmp_path / "state.sqlite", str(fail_open).lower()
    halts = (
        "postgres: {dsn: '${PG_DSN}'}\nguardrails: {halts: {store: postgres}}\n"
        if postgres_halts
        else ""
    )
    return f"""
state: {{store: sqlite, path: "{path}", reads_fail_open: {fail_open_text}}}
resilience:
  rate_limits:
    agent: {{limit: 100, window_s: 60}}
{halts}"""


async def test_halts_in_the_lost_state_store_refuse_even_reads_configured_to_fail_open(
    gateway_with: GatewayFactory, tmp_path: Path
) -> None:
    gateway = await gateway_with(sqlite_state(tmp_path, fail_open=True))
    assert (await gateway.invoke("warehouse.stock.get", STOCK)).status == 200
    before = (await sandbox_stats(gateway.wms))["api_calls"]
    await gateway.client.app[STATE_STORE].close()  # the store is gone

    for operation, body in (("warehouse.stock.get", STOCK), (CREATE, RECEIPT)):
        answer = await gateway.invoke(operation, body, REPLENISH, **{"Idempotency-Key": "k"})
        assert answer.status == 503
        assert (await answer.json())["code"] == "halt_state_unknown"
        [event] = await gateway.audit(request_id=answer.headers["X-Request-Id"])
        assert event.outcome == "halt_state_unknown"
    assert (await sandbox_stats(gateway.wms))["api_calls"] == before


async def test_with_the_halts_on_postgres_writes_fail_closed_and_reads_fail_open(
    postgres_dsn: str, gateway_with: GatewayFactory, tmp_path: Path
) -> None:
    gateway = await gateway_with(
        sqlite_state(tmp_path, fail_open=True, postgres_halts=True), PG_DSN=postgres_dsn
    )
    assert (await gateway.invoke("warehouse.stock.get", STOCK)).status == 200
    await gateway.client.app[STATE_STORE].close()

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


async def test_reads_fail_closed_by_default(
    postgres_dsn: str, gateway_with: GatewayFactory, tmp_path: Path
) -> None:
    gateway = await gateway_with(
        sqlite_state(tmp_path, fail_open=False, postgres_halts=True), PG_DSN=postgres_dsn
    )
    await gateway.client.app[STATE_STORE].close()
    read = await gateway.invoke("warehouse.stock.get", STOCK)
    assert read.status == 503
    assert (await read.json())["code"] == "state_unavailable"


async def test_a_read_a_budget_counts_is_refused_without_the_store_even_failing_open(
    postgres_dsn: str, gateway_with: GatewayFactory, tmp_path: Path
) -> None:
    counted = sqlite_state(tmp_path, fail_open=True, postgres_halts=True).replace(
        "guardrails: {halts: {store: postgres}}",
        "guardrails:\n  halts: {store: postgres}\n  budgets:\n"
        "    - {id: reads, agents: [inventory-bot], operations: [warehouse.stock.get],"
        " limit: 1000, window: 24h}",
    )
    gateway = await gateway_with(counted, PG_DSN=postgres_dsn)
    assert (await gateway.invoke("warehouse.stock.get", STOCK)).status == 200
    await gateway.client.app[STATE_STORE].close()
    read = await gateway.invoke("warehouse.stock.get", STOCK)
    assert read.status == 503  # budgets are exact: no unmetered reads
    assert (await read.json())["code"] == "state_unavailable"
