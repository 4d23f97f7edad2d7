"""Configuration reloads in a fleet of three ``lastmile serve`` processes on one database:
in force on every process once acknowledged, adopted by a process that starts later, and
a process that cannot adopt a version is named with its reason and keeps the old one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import INVENTORY, REPLENISH
from tests.fleet.conftest import FLEET_CONFIG, Fleet, FleetFactory, Member
from tests.gateway.reload.texts import NEW_BOT_KEY, adding_agent, revoking_inventory

STOCK = {"material": "100234", "plant": "1000"}
READ = "warehouse.stock.get"

CLOSED_STOCK = (
    "permit (principal, action, resource);\n"
    '@id("stock-closed") @reason("stock counts are closed")\n'
    'forbid (principal, action == Action::"warehouse.stock.get", resource);\n'
)


async def reload(fleet: Fleet, member: Member, text: str) -> tuple[int, Any]:
    return await fleet.send(
        member, "POST", "/v1/admin/config", body={"text": text, "source": "fleet.yaml"}
    )


async def statuses(fleet: Fleet, key: str) -> list[int]:
    """One read through each process, in order."""
    answers = await asyncio.gather(*(fleet.invoke(m, READ, STOCK, key) for m in fleet.members))
    return [status for status, _ in answers]


async def readiness(fleet: Fleet) -> list[tuple[int, str | None]]:
    found = []
    for member in fleet.members:
        async with fleet.http.get(member.url + "/readyz") as answer:
            body = await answer.json()
        found.append((body["config_version"], body["config_error"]))
    return found


async def test_a_reload_acknowledged_through_one_process_is_in_force_on_all_three(
    fleet_of: FleetFactory,
) -> None:
    fleet = await fleet_of(3)
    assert await statuses(fleet, INVENTORY) == [200, 200, 200]
    assert await statuses(fleet, NEW_BOT_KEY) == [401, 401, 401]

    status, answer = await reload(
        fleet, fleet.members[1], adding_agent(revoking_inventory(FLEET_CONFIG))
    )

    assert status == 200, answer
    assert answer["acknowledged"] is True
    assert answer["config_version"] == 1
    assert answer["confirmed_by"] == ["gw0", "gw1", "gw2"]
    assert await statuses(fleet, INVENTORY) == [401, 401, 401]
    assert await statuses(fleet, NEW_BOT_KEY) == [200, 200, 200]
    assert await readiness(fleet) == [(1, None)] * 3

    late = await fleet.start("gw3")  # starts on the newest version, not on its file
    assert (await fleet.invoke(late, READ, STOCK, INVENTORY))[0] == 401
    assert (await fleet.invoke(late, READ, STOCK, NEW_BOT_KEY))[0] == 200


async def test_a_process_that_cannot_adopt_a_version_is_named_and_keeps_its_config(
    fleet_of: FleetFactory,
) -> None:
    fleet = await fleet_of(3)
    gw0, gw1, _ = fleet.members
    for member in (gw0, gw1):  # the policy file reached two hosts of three
        (member.directory / "stock-closed.cedar").write_text(CLOSED_STOCK)
    text = revoking_inventory(FLEET_CONFIG) + "  policies: [./stock-closed.cedar]\n"

    status, answer = await reload(fleet, gw0, text)

    assert status == 202, answer
    assert answer["acknowledged"] is False
    assert answer["confirmed_by"] == ["gw0", "gw1"]
    assert answer["unconfirmed"] == ["gw2"]
    assert list(answer["refused_by"]) == ["gw2"]
    assert "stock-closed.cedar" in answer["refused_by"]["gw2"]
    # gw0 and gw1 run version 1 whole; gw2 runs version 0 whole, not a mixture
    assert await statuses(fleet, REPLENISH) == [403, 403, 200]
    assert await statuses(fleet, INVENTORY) == [401, 401, 200]
    (v0, e0), (v1, e1), (v2, e2) = await readiness(fleet)
    assert (v0, e0, v1, e1, v2) == (1, None, 1, None, 0)
    assert e2 is not None
    assert "stock-closed.cedar" in e2
    status, listed = await fleet.send(gw1, "GET", "/v1/admin/processes")
    errors = {p["name"]: p["config_error"] for p in listed["processes"]}
    assert errors["gw0"] is None
    assert errors["gw2"] is not None
    assert "stock-closed.cedar" in errors["gw2"]

    # a host started later without the file does not serve the version it cannot adopt
    with pytest.raises(AssertionError, match="process ended") as refused:
        await fleet.start("gw3")
    assert "stock-closed.cedar" in str(refused.value)
    assert fleet.members[-1].name == "gw2"


async def test_a_reload_changing_a_fixed_part_is_refused_everywhere(
    fleet_of: FleetFactory,
) -> None:
    fleet = await fleet_of(2)
    text = revoking_inventory(FLEET_CONFIG).replace("heartbeat_every: 0.2s", "heartbeat_every: 1s")

    status, problem = await reload(fleet, fleet.members[0], text)

    assert status == 409, problem
    assert problem["fixed"] == ["fleet"]
    assert await statuses(fleet, INVENTORY) == [200, 200]
    assert await readiness(fleet) == [(0, None)] * 2
