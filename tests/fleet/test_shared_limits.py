"""Rate limits and budgets shared by three ``lastmile serve`` processes through one Redis:
one limit of N admits N in all, one budget is never overspent, and each charge is one
script run (no optimistic-retry loop). Counts and commands only, never durations."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from tests.conftest import INVENTORY, REPLENISH
from tests.fleet.conftest import Fleet, FleetFactory
from tests.gateway.guardrails.conftest import movement
from tests.gateway.state.test_stores import REDIS_URL, purge, require_redis
from tests.redis_server import command_calls, private_redis, reset_command_calls

__all__ = ["private_redis"]

STOCK = {"material": "100234", "plant": "1000"}
WRITE = "warehouse.goods_movements.create"


def shared_state(url: str, prefix: str) -> str:
    return f'state: {{store: redis, url: "{url}", prefix: "{prefix}"}}\n'


async def stock(fleet: Fleet) -> Decimal:
    status, body = await fleet.invoke(fleet.members[0], "warehouse.stock.get", STOCK, INVENTORY)
    assert status == 200, body
    return Decimal(body["output"]["quantity"])


async def test_three_processes_share_one_rate_limit_and_admit_exactly_its_limit(
    fleet_of: FleetFactory,
) -> None:
    require_redis()
    prefix = f"lastmile-test-{uuid.uuid4().hex}:"
    # 12 per hour: one call every 300 s, so no slot comes back while the test runs
    limits = (
        "resilience:\n  rate_limits:\n    agents: {inventory-bot: {limit: 12, window_s: 3600}}\n"
    )
    fleet = await fleet_of(3, extra=shared_state(REDIS_URL, prefix) + limits)
    try:
        answers = await asyncio.gather(
            *(
                fleet.invoke(fleet.members[i % 3], "warehouse.stock.get", STOCK, INVENTORY)
                for i in range(36)
            )
        )
        codes = [status if status == 200 else body["code"] for status, body in answers]
        assert codes.count(200) == 12
        assert codes.count("rate_limited") == 24
        # the limit is per agent: another agent is not affected on any process
        for member in fleet.members:
            status, _ = await fleet.invoke(member, "warehouse.stock.get", STOCK, REPLENISH)
            assert status == 200
    finally:
        await purge(prefix)


BUDGET = """  budgets:
    - {id: fleet-quantity, agents: [replenishment-bot], measure: input.quantity,
       operations: [warehouse.goods_movements.create], limit: 500, window: 24h,
       timezone: Europe/Berlin}
"""  # continues the fleet config's guardrails section


async def test_one_budget_is_never_overspent_by_three_processes_and_never_retries(
    fleet_of: FleetFactory, private_redis: str
) -> None:
    fleet = await fleet_of(3, extra=BUDGET + shared_state(private_redis, "lm:"))
    before = await stock(fleet)
    await reset_command_calls(private_redis)

    answers = await asyncio.gather(
        *(
            fleet.invoke(fleet.members[i % 3], WRITE, movement(quantity="10.5"), REPLENISH)
            for i in range(100)
        )
    )

    codes = [status if status == 200 else body["code"] for status, body in answers]
    assert codes.count(200) == 47  # 47 x 10.5 = 493.5; a 48th would pass 500
    assert codes.count("budget_exceeded") == 53
    assert await stock(fleet) - before == Decimal("493.5")
    refusal = next(body for status, body in answers if status != 200)
    assert refusal["budget"] == "fleet-quantity"
    assert refusal["resets_at"].endswith(":00:00Z")
    calls = await command_calls(private_redis)
    # every charge read its total once inside the one script, and wrote only if it fit
    assert calls.get("hmget") == 100
    assert calls.get("hincrby") == 47
    assert not {"watch", "multi", "exec"} & calls.keys()
