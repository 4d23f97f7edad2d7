"""Budgets and stateful limits through the HTTP API: counts, running totals, units, per
end user, release on failure, approval instead of deny, shadow mode, and the property
that concurrent writes never push a total over its limit."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from schemas.audit import Decision
from tests.conftest import REPLENISH
from tests.gateway.guardrails.conftest import GUARDRAILS, Guarded, StartGateway, movement

WRITE = "warehouse.goods_movements.create"
OBO = {"X-On-Behalf-Of": "lea.fischer@acme.example"}


def budgets(*entries: str) -> str:
    head = GUARDRAILS.split("  budgets:")[0]
    tail = "  approvals:" + GUARDRAILS.split("  approvals:")[1]
    return head + "  budgets:\n" + "".join(entries) + tail


async def test_running_total_is_enforced_with_retry_after(guarded: Guarded) -> None:
    for _ in range(5):
        ok = await guarded.invoke(WRITE, movement(quantity="100"), REPLENISH, **OBO)
        assert ok.status == 200
    calls_before = await guarded.wms_calls()

    refused = await guarded.invoke(WRITE, movement(quantity="1"), REPLENISH, **OBO)

    assert refused.status == 429
    problem = await refused.json()
    assert problem["code"] == "budget_exceeded"
    assert problem["budget"] == "quantity-24h"
    assert "500 used" in problem["detail"]
    # the clock reads 2027-01-15 08:00 UTC; the 24 h windows start at 00:00 UTC
    assert problem["resets_at"] == "2027-01-16T00:00:00Z"
    assert problem["retry_after_s"] == 16 * 3600
    assert int(refused.headers["Retry-After"]) == 16 * 3600
    assert await guarded.wms_calls() == calls_before
    [event] = await guarded.audit(request_id=refused.headers["X-Request-Id"])
    assert event.decision is Decision.DENY
    assert event.policy_ids[-1] == "budget:quantity-24h"


async def test_windows_are_fixed_and_reset_at_the_configured_local_time(
    start_guarded: StartGateway,
) -> None:
    gateway = await start_guarded(
        budgets(
            "    - {id: daily, operations: ['warehouse.goods_movements.create'],"
            " measure: input.quantity, limit: 300, window: 24h, resets: '06:00',"
            " timezone: Europe/Berlin}\n"
        )
    )
    # 08:00 UTC is 09:00 in Berlin (winter): today's window began at 05:00 UTC
    for _ in range(3):
        assert (await gateway.invoke(WRITE, movement(quantity="100"), REPLENISH)).status == 200
    gateway.clock.advance(3600)
    refused = await gateway.invoke(WRITE, movement(quantity="1"), REPLENISH)
    assert refused.status == 429
    problem = await refused.json()
    assert problem["resets_at"] == "2027-01-16T05:00:00Z"
    assert int(refused.headers["Retry-After"]) == 20 * 3600

    gateway.clock.advance(20 * 3600 - 1)
    assert (await gateway.invoke(WRITE, movement(quantity="1"), REPLENISH)).status == 429
    gateway.clock.advance(1)  # a new window: the whole 300 again, not what slid out
    for _ in range(3):
        assert (await gateway.invoke(WRITE, movement(quantity="100"), REPLENISH)).status == 200
    assert (await gateway.invoke(WRITE, movement(quantity="1"), REPLENISH)).status == 429


async def test_count_budget_per_end_user(start_guarded: StartGateway) -> None:
    gateway = await start_guarded(
        budgets(
            "    - {id: two-per-user, operations: ['warehouse.stock.get'], measure: calls,"
            " limit: 2, window: 1h, per: on_behalf_of}\n"
        )
    )
    stock = {"material": "100234", "plant": "1000"}
    anna = {"X-On-Behalf-Of": "anna@acme.example"}
    ben = {"X-On-Behalf-Of": "ben@acme.example"}
    assert (await gateway.invoke("warehouse.stock.get", stock, REPLENISH, **anna)).status == 200
    assert (await gateway.invoke("warehouse.stock.get", stock, **anna)).status == 200
    assert (await gateway.invoke("warehouse.stock.get", stock, REPLENISH, **anna)).status == 429
    assert (await gateway.invoke("warehouse.stock.get", stock, REPLENISH, **ben)).status == 200


async def test_cost_units_budget_per_agent(start_guarded: StartGateway) -> None:
    gateway = await start_guarded(
        budgets("    - {id: units, measure: units, limit: 12, window: 24h}\n")
    )
    stock = {"material": "100234", "plant": "1000"}
    # a write costs 5 units, a read 1 (costs: first matching glob)
    assert (await gateway.invoke(WRITE, movement(), REPLENISH, **OBO)).status == 200
    assert (await gateway.invoke(WRITE, movement(), REPLENISH, **OBO)).status == 200
    assert (await gateway.invoke("warehouse.stock.get", stock, REPLENISH)).status == 200
    assert (await gateway.invoke("warehouse.stock.get", stock, REPLENISH)).status == 200
    assert (await gateway.invoke("warehouse.stock.get", stock, REPLENISH)).status == 429
    assert (await gateway.invoke("warehouse.stock.get", stock)).status == 200  # another agent


async def test_a_failed_backend_call_releases_its_reservation(guarded: Guarded) -> None:
    await guarded.fault("unavailable")
    for _ in range(6):
        failed = await guarded.invoke(WRITE, movement(quantity="100"), REPLENISH, **OBO)
        assert failed.status == 503
    await guarded.fault("ok")
    for _ in range(5):
        assert (
            await guarded.invoke(WRITE, movement(quantity="100"), REPLENISH, **OBO)
        ).status == 200


async def test_a_rejected_write_releases_its_reservation(guarded: Guarded) -> None:
    # the warehouse refuses an issue larger than the stock: nothing was moved, nothing spent
    issued = await guarded.invoke(WRITE, movement(kind="issue", quantity="99"), REPLENISH, **OBO)
    assert issued.status == 200
    too_much = await guarded.invoke(WRITE, movement(kind="issue", quantity="100"), REPLENISH, **OBO)
    assert too_much.status == 422
    assert (await too_much.json())["code"] == "backend_rejected"
    for _ in range(4):
        assert (
            await guarded.invoke(WRITE, movement(quantity="100"), REPLENISH, **OBO)
        ).status == 200
    assert (await guarded.invoke(WRITE, movement(quantity="2"), REPLENISH, **OBO)).status == 429


async def test_exceeding_can_ask_for_approval_instead(start_guarded: StartGateway) -> None:
    gateway = await start_guarded(
        budgets(
            "    - {id: q, agents: [replenishment-bot], operations: ['warehouse.goods_*'],"
            " measure: input.quantity, limit: 50, on_exceed: approval_required}\n"
        )
    )
    assert (await gateway.invoke(WRITE, movement(quantity="40"), REPLENISH, **OBO)).status == 200

    held = await gateway.invoke(WRITE, movement(quantity="20"), REPLENISH, **OBO)

    assert held.status == 202
    body = await held.json()
    assert body["policy_ids"] == ["planners-write", "budget:q"]
    # nothing was spent on the held call: 10 more still fit
    assert (await gateway.invoke(WRITE, movement(quantity="10"), REPLENISH, **OBO)).status == 200


async def test_shadow_budget_counts_and_records_but_never_refuses(
    start_guarded: StartGateway,
) -> None:
    gateway = await start_guarded(
        budgets(
            "    - {id: q, operations: ['warehouse.goods_movements.create'],"
            " measure: input.quantity, limit: 15, mode: shadow}\n"
        )
    )
    first = await gateway.invoke(WRITE, movement(quantity="10"), REPLENISH, **OBO)
    second = await gateway.invoke(WRITE, movement(quantity="10"), REPLENISH, **OBO)

    assert first.status == second.status == 200
    [quiet] = await gateway.audit(request_id=first.headers["X-Request-Id"])
    [loud] = await gateway.audit(request_id=second.headers["X-Request-Id"])
    assert quiet.shadow_decision is None
    assert loud.shadow_decision is Decision.DENY
    assert "shadow:budget:q" in loud.policy_ids


async def test_100_concurrent_writes_never_push_a_total_over_its_limit(
    guarded: Guarded,
) -> None:
    before = Decimal(await guarded.stock())

    answers = await asyncio.gather(
        *(guarded.invoke(WRITE, movement(quantity="10"), REPLENISH, **OBO) for _ in range(100))
    )

    statuses = sorted(a.status for a in answers)
    assert statuses.count(200) == 50
    assert statuses.count(429) == 50
    after = Decimal(await guarded.stock())
    assert after - before == Decimal(500)
