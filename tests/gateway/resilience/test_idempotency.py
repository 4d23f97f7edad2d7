"""Idempotency keys: replay, 409 in flight, 422 on another payload, per-agent scope."""

from __future__ import annotations

import asyncio
import hashlib

from sandbox import acme_warehouse
from tests.conftest import REPLENISH, TEST_CONFIG
from tests.gateway.resilience.conftest import (
    CREATE,
    RECEIPT,
    FakeTime,
    GatewayFactory,
    sandbox_post,
    sandbox_stats,
)

SECOND_WRITER = "lm_test_second_writer_91f3"
TWO_WRITERS = TEST_CONFIG.replace(
    "staff:",
    f"""  - id: second-writer
    owner: ops-planning
    key_sha256: {hashlib.sha256(SECOND_WRITER.encode()).hexdigest()}
    operations: ["warehouse.*"]
staff:""",
)


async def test_same_key_and_payload_replays_without_touching_the_backend(
    gateway_with: GatewayFactory,
) -> None:
    gateway = await gateway_with("")
    first = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "k-1"})
    assert first.status == 200
    calls = (await sandbox_stats(gateway.wms))["api_calls"]

    again = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": '"k-1"'})
    assert again.status == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await again.json())["output"] == (await first.json())["output"]
    stats = await sandbox_stats(gateway.wms)
    assert stats["api_calls"] == calls
    assert stats["documents"] == 1
    [event] = await gateway.audit(request_id=again.headers["X-Request-Id"])
    assert event.replayed is True
    assert event.idempotency_key == "k-1"
    assert event.attempts == []


async def test_same_key_with_another_payload_is_422(gateway_with: GatewayFactory) -> None:
    gateway = await gateway_with("")
    assert (await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "k"})).ok
    other = {**RECEIPT, "quantity": "6"}
    response = await gateway.invoke(CREATE, other, REPLENISH, **{"Idempotency-Key": "k"})
    assert response.status == 422
    assert (await response.json())["code"] == "idempotency_key_reused"
    assert (await sandbox_stats(gateway.wms))["documents"] == 1


async def test_same_key_while_the_first_call_runs_is_409(gateway_with: GatewayFactory) -> None:
    gateway = await gateway_with("")
    await sandbox_post(gateway.wms, "/_sandbox/faults", {"mode": "hold"})
    first = asyncio.create_task(
        gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "k"})
    )
    await gateway.wms.app[acme_warehouse.STATS].wait_for_in_flight(1)

    second = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "k"})
    assert second.status == 409
    assert (await second.json())["code"] == "idempotency_in_flight"
    assert second.headers["Retry-After"] == "1"

    await sandbox_post(gateway.wms, "/_sandbox/release", {})
    assert (await first).status == 200
    assert (await sandbox_stats(gateway.wms))["documents"] == 1


async def test_keys_are_scoped_per_agent(gateway_with: GatewayFactory) -> None:
    gateway = await gateway_with("", TWO_WRITERS)
    mine = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "shared"})
    theirs = await gateway.invoke(CREATE, RECEIPT, SECOND_WRITER, **{"Idempotency-Key": "shared"})
    assert mine.status == theirs.status == 200
    assert "Idempotent-Replayed" not in theirs.headers
    mine_doc = (await mine.json())["output"]["document_number"]
    assert (await theirs.json())["output"]["document_number"] != mine_doc
    assert (await sandbox_stats(gateway.wms))["documents"] == 2


async def test_a_stored_error_is_replayed(gateway_with: GatewayFactory) -> None:
    gateway = await gateway_with("")
    too_much = {**RECEIPT, "kind": "issue", "quantity": "1000"}
    first = await gateway.invoke(CREATE, too_much, REPLENISH, **{"Idempotency-Key": "e"})
    assert first.status == 422
    calls = (await sandbox_stats(gateway.wms))["api_calls"]

    again = await gateway.invoke(CREATE, too_much, REPLENISH, **{"Idempotency-Key": "e"})
    assert again.status == 422
    body = await again.json()
    assert body["code"] == "backend_rejected"
    assert body["detail"] == (await first.json())["detail"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await sandbox_stats(gateway.wms))["api_calls"] == calls


async def test_a_write_rejected_by_validation_stores_nothing(gateway_with: GatewayFactory) -> None:
    gateway = await gateway_with("")
    invalid = {**RECEIPT, "quantity": "-5"}
    rejected = await gateway.invoke(CREATE, invalid, REPLENISH, **{"Idempotency-Key": "v"})
    assert rejected.status == 422
    assert (await rejected.json())["code"] == "validation_failed"
    valid = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "v"})
    assert valid.status == 200
    assert "Idempotent-Replayed" not in valid.headers


async def test_required_key_missing_is_400_without_a_backend_call(
    gateway_with: GatewayFactory,
) -> None:
    gateway = await gateway_with("resilience: {idempotency: {require_for_writes: true}}\n")
    response = await gateway.invoke(CREATE, RECEIPT, REPLENISH)
    assert response.status == 400
    assert (await response.json())["code"] == "idempotency_key_required"
    assert (await sandbox_stats(gateway.wms))["api_calls"] == 0
    read = await gateway.invoke("warehouse.stock.get", {"material": "100234", "plant": "1000"})
    assert read.status == 200  # reads need no key


async def test_invalid_keys_are_400(gateway_with: GatewayFactory) -> None:
    gateway = await gateway_with("")
    for key in ("x" * 256, "has space", ""):
        response = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": key})
        assert response.status == 400, key
        assert (await response.json())["code"] == "idempotency_key_invalid"
    assert (await sandbox_stats(gateway.wms))["api_calls"] == 0
    ok = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "x" * 255})
    assert ok.status == 200


async def test_keys_expire_after_the_retention(
    gateway_with: GatewayFactory, fake_time: FakeTime
) -> None:
    gateway = await gateway_with("resilience: {idempotency: {retention_s: 3600}}\n")
    assert (await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "r"})).ok
    fake_time.now += 3599
    replay = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "r"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    fake_time.now += 1
    fresh = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "r"})
    assert fresh.status == 200
    assert "Idempotent-Replayed" not in fresh.headers
    assert (await sandbox_stats(gateway.wms))["documents"] == 2
