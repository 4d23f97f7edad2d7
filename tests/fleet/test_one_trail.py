"""One audit trail written by three ``lastmile serve`` processes: a process killed under
load loses nothing it acknowledged, the auditor verifies one view holding every
acknowledged call, and the registry shows the killed writer as lost. Without PostgreSQL
the processes refuse to acknowledge anything, and they resume when it returns."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from aiohttp import ClientError

from tests.conftest import INVENTORY
from tests.cuttable_proxy import CuttableProxy
from tests.fleet.conftest import Fleet, FleetFactory, Member, eventually

STOCK = {"material": "100234", "plant": "1000"}
READ = "/v1/operations/warehouse.stock.get"


async def acknowledged(fleet: Fleet, member: Member) -> str | None:
    """The request id of one read the process answered 200, or None if it did not."""
    try:
        async with fleet.http.post(
            member.url + READ, json=STOCK, headers={"Authorization": f"Bearer {INVENTORY}"}
        ) as answer:
            await answer.read()
            return answer.headers["X-Request-Id"] if answer.status == 200 else None
    except (ClientError, OSError):
        return None  # the killed process: nothing acknowledged


async def lastmile_audit(fleet: Fleet, *args: str) -> subprocess.CompletedProcess[str]:
    config = str(fleet.root / "gw0" / "gateway.yaml")
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gateway", "audit", *args, "--config", config],
        capture_output=True,
        text=True,
        env=fleet.environment("auditor"),
        check=False,
        timeout=120,
    )


async def test_a_process_killed_under_load_loses_nothing_it_acknowledged(
    fleet_of: FleetFactory,
) -> None:
    fleet = await fleet_of(3, audit_on_postgres=True)
    gw0, _, gw2 = fleet.members
    ids: list[str | None] = []

    async def load(rounds: int) -> None:
        for _ in range(rounds):
            ids.extend(await asyncio.gather(*(acknowledged(fleet, m) for m in fleet.members)))

    await load(10)
    loading = asyncio.create_task(load(20))
    await eventually(lambda: _at_least(ids, 45), "load under way")
    fleet.kill(gw2)
    await loading

    answered = {i for i in ids if i is not None}
    assert len(answered) >= 60  # two processes kept answering after the kill

    async def gw2_lost() -> bool:
        return (await fleet.processes(gw0))["gw2"] == "lost"

    await eventually(gw2_lost, "the killed writer marked lost")

    verified = await lastmile_audit(fleet, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    exported = await lastmile_audit(fleet, "export", "--format", "jsonl")
    assert exported.returncode == 0, exported.stderr
    recorded = requests_in(exported.stdout)
    assert answered <= set(recorded)  # every acknowledged call is in the one trail
    assert len(recorded) == len(set(recorded))  # and each exactly once
    writers = await lastmile_audit(fleet, "writers")
    assert writers.returncode == 0, writers.stderr
    for name in ("gw0", "gw1", "gw2"):
        assert name in writers.stdout


def requests_in(export: str) -> list[str]:
    """The request ids of the calls in a JSON-lines export, in trail order."""
    lines = [json.loads(line) for line in export.splitlines() if line.strip()]
    return [
        line["event"]["request_id"]
        for line in lines
        if line["type"] == "entry" and line["event"]["kind"] == "call"
    ]


async def _at_least(ids: list[str | None], count: int) -> bool:
    return len(ids) >= count


async def test_without_postgres_nothing_is_acknowledged_and_service_resumes(
    fleet_of: FleetFactory, postgres_dsn: str
) -> None:
    proxy = CuttableProxy.before(postgres_dsn)
    await proxy.start()
    try:
        fleet = await fleet_of(2, dsn=proxy.dsn(postgres_dsn), audit_on_postgres=True)
        before = [await acknowledged(fleet, m) for m in fleet.members]
        assert None not in before

        proxy.cut()
        refused = []
        for member in fleet.members:
            async with fleet.http.post(
                member.url + READ, json=STOCK, headers={"Authorization": f"Bearer {INVENTORY}"}
            ) as answer:
                refused.append((answer.status, (await answer.json())["code"]))
        assert {status for status, _ in refused} == {503}
        assert {code for _, code in refused} <= {"audit_unavailable", "halt_state_unknown"}

        proxy.restore()

        async def serving() -> bool:
            return None not in [await acknowledged(fleet, m) for m in fleet.members]

        await eventually(serving, "service resumes once PostgreSQL is back")
        verified = await lastmile_audit(fleet, "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        exported = await lastmile_audit(fleet, "export", "--format", "jsonl")
        assert set(before) <= set(
            requests_in(exported.stdout)
        )  # what was acknowledged before the outage is kept
    finally:
        await proxy.close()
