"""Operators see how many held calls wait for a person."""

from __future__ import annotations

from tests.conftest import REPLENISH
from tests.gateway.guardrails.conftest import Guarded, movement

WRITE = "warehouse.goods_movements.create"
OBO = {"X-On-Behalf-Of": "lea.fischer@acme.example"}


async def pending(guarded: Guarded) -> str:
    text = await (await guarded.client.get("/metrics")).text()
    return next(
        line for line in text.splitlines() if line.startswith("lastmile_approvals_pending ")
    )


async def test_metrics_count_calls_held_for_approval(guarded: Guarded) -> None:
    assert await pending(guarded) == "lastmile_approvals_pending 0.0"
    for _ in range(2):
        held = await guarded.invoke(WRITE, movement(quantity="150"), REPLENISH, **OBO)
        assert held.status == 202

    assert await pending(guarded) == "lastmile_approvals_pending 2.0"
