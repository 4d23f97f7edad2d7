"""Halts in a fleet of three ``lastmile serve`` processes on one PostgreSQL database:
acknowledged only once every live process has them in force, listed wherever they were
placed, kept across restarts, and never failing open when PostgreSQL goes away."""

from __future__ import annotations

import asyncio

from tests.conftest import INVENTORY, REPLENISH
from tests.cuttable_proxy import CuttableProxy
from tests.fleet.conftest import Fleet, FleetFactory, Member, eventually

STOCK = {"material": "100234", "plant": "1000"}
READ = "warehouse.stock.get"


async def codes(fleet: Fleet, members: list[Member], key: str, count: int) -> list[object]:
    """The outcome codes of ``count`` reads spread over ``members`` (200 for answers)."""
    answers = await asyncio.gather(
        *(fleet.invoke(members[i % len(members)], READ, STOCK, key) for i in range(count))
    )
    return [status if status == 200 else body["code"] for status, body in answers]


async def test_a_halt_acknowledged_through_one_process_stops_the_agent_on_every_process(
    fleet_of: FleetFactory,
) -> None:
    fleet = await fleet_of(3)
    _, gw1, gw2 = fleet.members
    assert await fleet.processes(gw2) == {"gw0": "live", "gw1": "live", "gw2": "live"}
    assert await codes(fleet, fleet.members, INVENTORY, 6) == [200] * 6

    status, halt = await fleet.send(
        gw1,
        "POST",
        "/v1/admin/halts",
        body={"scope": "agent", "target": "inventory-bot", "reason": "runaway reads"},
    )
    assert status == 201, halt
    assert halt["acknowledged"] is True
    assert halt["confirmed_by"] == ["gw0", "gw1", "gw2"]
    assert halt["unconfirmed"] == []

    assert set(await codes(fleet, fleet.members, INVENTORY, 30)) == {"halted"}
    assert await codes(fleet, fleet.members, REPLENISH, 3) == [200] * 3  # another agent

    status, resumed = await fleet.send(gw2, "DELETE", "/v1/admin/halts/agent:inventory-bot")
    assert status == 200, resumed
    assert resumed["acknowledged"] is True
    assert await codes(fleet, fleet.members, INVENTORY, 6) == [200] * 6


async def test_halts_placed_at_once_through_two_processes_are_all_listed(
    fleet_of: FleetFactory,
) -> None:
    fleet = await fleet_of(3)
    gw0, gw1, gw2 = fleet.members
    placed = await asyncio.gather(
        *(
            fleet.send(member, "POST", "/v1/admin/halts", body=body)
            for member, body in (
                (gw0, {"scope": "agent", "target": "inventory-bot", "reason": "a"}),
                (gw1, {"scope": "operation", "target": READ, "reason": "b"}),
            )
        )
    )
    assert [status for status, _ in placed] == [201, 201]
    status, listing = await fleet.send(gw2, "GET", "/v1/admin/halts")
    assert status == 200
    assert [h["id"] for h in listing["halts"]] == ["agent:inventory-bot", f"operation:{READ}"]


async def test_a_halt_survives_a_restart_and_a_killed_process_is_marked_lost(
    fleet_of: FleetFactory,
) -> None:
    fleet = await fleet_of(3)
    gw0, gw1, gw2 = fleet.members
    status, _ = await fleet.send(
        gw0, "POST", "/v1/admin/halts", body={"scope": "all", "reason": "incident 4711"}
    )
    assert status == 201

    fleet.kill(gw2)

    async def gw2_lost() -> bool:
        return (await fleet.processes(gw0))["gw2"] == "lost"

    await eventually(gw2_lost, "the killed process marked lost")
    status, readiness = await fleet.send(gw1, "GET", "/readyz")
    assert readiness["fleet"] == {
        "process": "gw1",
        "live": ["gw0", "gw1"],
        "lost": ["gw2"],
        "detail": None,
    }
    restarted = await fleet.start("gw2")  # the same host comes back
    assert set(await codes(fleet, [restarted], REPLENISH, 3)) == {"halted"}
    assert (await fleet.processes(gw1))["gw2"] == "live"

    status, resumed = await fleet.send(gw1, "DELETE", "/v1/admin/halts/all")
    assert status == 200, resumed
    assert resumed["confirmed_by"] == ["gw0", "gw1", "gw2"]


async def test_without_postgres_calls_fail_closed_and_the_halts_hold_when_it_returns(
    fleet_of: FleetFactory, postgres_dsn: str
) -> None:
    proxy = CuttableProxy.before(postgres_dsn)
    await proxy.start()
    try:
        fleet = await fleet_of(2, dsn=proxy.dsn(postgres_dsn))
        gw0, gw1 = fleet.members
        status, _ = await fleet.send(
            gw0,
            "POST",
            "/v1/admin/halts",
            body={"scope": "agent", "target": "inventory-bot", "reason": "before the outage"},
        )
        assert status == 201

        proxy.cut()

        async def refusing() -> bool:
            return set(await codes(fleet, fleet.members, REPLENISH, 4)) == {"halt_state_unknown"}

        await eventually(refusing, "both processes refuse calls without PostgreSQL")
        status, readiness = await fleet.send(gw0, "GET", "/readyz")
        assert status == 503
        assert readiness["halts_fresh"] is False
        status, problem = await fleet.send(
            gw1, "POST", "/v1/admin/halts", body={"scope": "all", "reason": "during"}
        )
        assert (status, problem["code"]) == (503, "state_unavailable")

        proxy.restore()

        async def serving() -> bool:
            return await codes(fleet, fleet.members, REPLENISH, 4) == [200] * 4

        await eventually(serving, "service resumes once PostgreSQL is back")
        assert set(await codes(fleet, fleet.members, INVENTORY, 4)) == {"halted"}
    finally:
        await proxy.close()
