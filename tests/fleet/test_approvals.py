"""Approvals in a fleet: a call held on one process is listed and decided on another, and
runs exactly once however many processes try to approve it at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import APPROVER, REPLENISH
from tests.fleet.conftest import FleetFactory
from tests.gateway.guardrails.conftest import POLICIES, movement


async def test_a_call_held_on_one_process_is_approved_on_another_and_runs_once(
    fleet_of: FleetFactory, tmp_path: Path
) -> None:
    policy = tmp_path / "policies.cedar"
    policy.write_text(POLICIES)
    extra = f'  policies: ["{policy}"]\n  approvals: {{store: postgres}}\n'
    fleet = await fleet_of(3, extra=extra)
    gw0, gw1, gw2 = fleet.members
    status, held = await fleet.invoke(
        gw0, "warehouse.goods_movements.create", movement(quantity="150"), REPLENISH
    )
    assert status == 202, held
    approval = held["approval_id"]

    status, listing = await fleet.send(gw1, "GET", "/v1/approvals?status=pending", APPROVER)
    assert status == 200, listing
    assert [a["id"] for a in listing["approvals"]] == [approval]

    decisions = await asyncio.gather(
        *(
            fleet.send(
                member,
                "POST",
                f"/v1/approvals/{approval}/approve",
                APPROVER,
                {"reason": "PO confirmed"},
            )
            for member in (gw1, gw2, gw1, gw2)
        )
    )
    assert sorted(status for status, _ in decisions) == [200, 409, 409, 409]
    assert {body["code"] for status, body in decisions if status == 409} == {"approval_closed"}

    status, polled = await fleet.send(gw0, "GET", f"/v1/approvals/{approval}", REPLENISH)
    assert status == 200
    assert polled["status"] == "executed"
    assert polled["result"]["quantity"] == "150"
    stats = await fleet.sandbox_stats()
    assert stats["documents"] == 1
