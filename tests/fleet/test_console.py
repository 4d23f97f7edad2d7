"""The console across a fleet: processes on one PostgreSQL (trail, approvals, halts, the
registry) and one Redis (sessions). What a person does in one process's console holds
for every process, and what one process did shows in another's console.

The live view is driven in a real browser (Playwright and Debian's Chromium, as in
tests/console/); the rest through a console "browser" that is an HTTP client with its
own cookie jar, the browser path of each page being covered in tests/console/.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession, ClientTimeout, CookieJar

from gateway.audit.export import read_export
from gateway.audit.proofcheck import check_proof
from gateway.audit.verify import verify_log
from tests.conftest import APPROVER, AUDITOR, INVENTORY, OPERATOR, REPLENISH
from tests.console.conftest import browser, next_call_row, post_sign_in
from tests.fleet.conftest import Fleet, FleetFactory, Member, eventually
from tests.fleet.test_shared_limits import shared_state
from tests.gateway.guardrails.conftest import POLICIES, movement
from tests.gateway.state.test_stores import REDIS_URL, purge, require_redis

__all__ = ["browser"]

STOCK = {"material": "100234", "plant": "1000"}
BREAKER = """resilience:
  backends:
    acme_wms: {breaker: {failure_threshold: 1, recovery_s: 600}, retry: {attempts: 1}}
"""


class Viewer:
    """One person's browser: a cookie jar (the console cookie is sent to any process, as
    behind a load balancer) and the session's CSRF token."""

    def __init__(self) -> None:
        self.http = ClientSession(cookie_jar=CookieJar(unsafe=True))  # 127.0.0.1 cookies
        self.csrf = ""

    async def sign_in(self, member: Member, key: str) -> None:
        response = await post_sign_in(self.http, f"{member.url}/console/sign-in", key)
        assert response.status == 303, await response.text()
        async with self.http.get(f"{member.url}/console/") as landing:  # the role's own page
            html = await landing.text()
        self.csrf = html.split('name="csrf_token" value="')[1].split('"')[0]

    async def page(self, member: Member, path: str) -> str:
        async with self.http.get(member.url + path, allow_redirects=False) as response:
            assert response.status == 200, (path, response.status)
            return await response.text()

    async def post(self, member: Member, path: str, **fields: str) -> ClientResponse:
        response = await self.http.post(
            member.url + path,
            data={**fields, "csrf_token": self.csrf},
            allow_redirects=False,
            timeout=ClientTimeout(total=60),
        )
        await response.read()
        return response


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    require_redis()
    prefix = f"lastmile-test-{uuid.uuid4().hex}:"
    yield prefix
    await purge(prefix)


@pytest.fixture
async def viewers() -> AsyncIterator[list[Viewer]]:
    made: list[Viewer] = []
    yield made
    for viewer in made:
        await viewer.http.close()


async def console_fleet(
    fleet_of: FleetFactory, tmp_path: Path, prefix: str, count: int, extra: str = ""
) -> Fleet:
    """Processes sharing everything the console reads: trail, approvals and halts on
    PostgreSQL, sessions on Redis."""
    policy = tmp_path / "policies.cedar"
    policy.write_text(POLICIES)
    guardrails = f'  policies: ["{policy}"]\n  approvals: {{store: postgres}}\n'
    return await fleet_of(
        count,
        extra=guardrails + shared_state(REDIS_URL, prefix) + extra,
        audit_on_postgres=True,
    )


async def signed_in(viewers: list[Viewer], member: Member, key: str) -> Viewer:
    viewer = Viewer()
    viewers.append(viewer)
    await viewer.sign_in(member, key)
    return viewer


async def stock_call(fleet: Fleet, member: Member, key: str = INVENTORY) -> tuple[int, Any]:
    return await fleet.invoke(member, "warehouse.stock.get", STOCK, key)


async def test_a_call_served_by_one_process_streams_live_to_anothers_console(
    fleet_of: FleetFactory, tmp_path: Path, prefix: str, viewers: list[Viewer]
) -> None:
    fleet = await console_fleet(fleet_of, tmp_path, prefix, 3)
    gw0, gw1, gw2 = fleet.members
    operator = await signed_in(viewers, gw0, OPERATOR)
    async with operator.http.get(f"{gw0.url}/console/now/stream") as stream:
        assert stream.status == 200
        assert await stream.content.readline() == b": connected\n"

        served = []
        for member in (gw1, gw2, gw0):
            status, body = await stock_call(fleet, member)
            assert status == 200, body
            served.append(body["request_id"])

        rows = [await asyncio.wait_for(next_call_row(stream), 30) for _ in served]
    for row, request_id in zip(rows, served, strict=True):
        assert request_id in row  # in the order the trail holds them
        assert "inventory-bot" in row


async def test_in_a_browser_a_call_through_one_process_appears_live_on_anothers_console(
    fleet_of: FleetFactory, tmp_path: Path, prefix: str, browser: Any
) -> None:
    from playwright.async_api import expect

    fleet = await console_fleet(fleet_of, tmp_path, prefix, 2)
    gw0, gw1 = fleet.members
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{gw0.url}/console/sign-in")
    await page.fill("#key", OPERATOR)
    await page.click("button[type=submit]")
    await page.wait_for_selector("#who")
    await page.goto(f"{gw0.url}/console/now")  # the stream resumes from the page's end

    status, body = await stock_call(fleet, gw1)
    assert status == 200, body

    row = page.locator(f'tr.call[data-request-id="{body["request_id"]}"]')
    await expect(row).to_be_visible(timeout=15_000)
    await expect(row).to_contain_text("inventory-bot")
    await expect(page.locator('#backends tr[data-process="gw1"]')).to_contain_text("closed")


async def test_a_session_signed_in_on_one_process_is_honoured_by_the_others(
    fleet_of: FleetFactory, tmp_path: Path, prefix: str, viewers: list[Viewer]
) -> None:
    fleet = await console_fleet(fleet_of, tmp_path, prefix, 2)
    gw0, gw1 = fleet.members
    auditor = await signed_in(viewers, gw0, AUDITOR)

    html = await auditor.page(gw1, "/console/audit")
    assert "kpmg-auditor" in html

    out = await auditor.post(gw1, "/console/sign-out")
    assert out.status == 303
    async with auditor.http.get(f"{gw0.url}/console/audit", allow_redirects=False) as gone:
        assert gone.status == 303  # signed out on one process: out on every process
        assert gone.headers["Location"].startswith("/console/sign-in")


async def test_a_halt_placed_in_one_console_stops_the_agent_on_every_process(
    fleet_of: FleetFactory, tmp_path: Path, prefix: str, viewers: list[Viewer]
) -> None:
    fleet = await console_fleet(fleet_of, tmp_path, prefix, 3)
    gw0, gw1, _ = fleet.members
    operator = await signed_in(viewers, gw0, OPERATOR)

    placed = await operator.post(
        gw0,
        "/console/halts",
        scope="agent",
        target_agent="inventory-bot",
        reason="fleet console test",
        confirm="yes",
    )
    assert placed.status == 201
    page = await placed.text()
    assert 'data-acknowledged="yes"' in page
    assert "Acknowledged by every live gateway process (3)" in page

    status, body = await stock_call(fleet, gw1)
    assert (status, body["code"]) == (503, "halted")
    status, _ = await stock_call(fleet, gw1, REPLENISH)
    assert status == 200  # only the halted agent is refused

    resumed = await operator.post(gw0, "/console/halts/resume", halt_id="agent:inventory-bot")
    assert resumed.status == 200
    assert 'data-acknowledged="yes"' in await resumed.text()
    status, body = await stock_call(fleet, gw1)
    assert status == 200, body


async def test_a_call_held_on_one_process_is_approved_in_anothers_console_and_runs_once(
    fleet_of: FleetFactory, tmp_path: Path, prefix: str, viewers: list[Viewer]
) -> None:
    fleet = await console_fleet(fleet_of, tmp_path, prefix, 2)
    gw0, gw1 = fleet.members
    status, held = await fleet.invoke(
        gw1, "warehouse.goods_movements.create", movement(quantity="150"), REPLENISH
    )
    assert status == 202, held
    approval = held["approval_id"]
    approver = await signed_in(viewers, gw0, APPROVER)
    assert approval in await approver.page(gw0, "/console/approvals")

    decided = await approver.post(
        gw0, f"/console/approvals/{approval}/decide", decision="approve", comment="PO 4711"
    )
    assert decided.status == 303
    again = await approver.post(
        gw0, f"/console/approvals/{approval}/decide", decision="approve", comment="twice"
    )
    assert again.status == 409

    status, polled = await fleet.send(gw1, "GET", f"/v1/approvals/{approval}", REPLENISH)
    assert (status, polled["status"]) == (200, "executed")
    assert (await fleet.sandbox_stats())["documents"] == 1


async def breaker_of(viewer: Viewer, member: Member, process: str) -> str | None:
    html = await viewer.page(member, "/console/now")
    found = re.search(
        rf'<tr data-process="{process}" data-backend="acme_wms">.*?<td class="breaker">(\w+)<',
        html,
    )
    return found.group(1) if found else None


async def test_the_now_page_of_one_process_shows_the_breakers_of_every_live_process(
    fleet_of: FleetFactory, tmp_path: Path, prefix: str, viewers: list[Viewer]
) -> None:
    fleet = await console_fleet(fleet_of, tmp_path, prefix, 2, BREAKER)
    gw0, gw1 = fleet.members
    operator = await signed_in(viewers, gw0, OPERATOR)

    async def reported(process: str, state: str) -> bool:
        return await breaker_of(operator, gw0, process) == state

    await eventually(lambda: reported("gw1", "closed"), "gw1's closed breaker listed on gw0")
    async with fleet.http.post(f"{fleet.wms_url}/_sandbox/faults", json={"mode": "error"}):
        pass
    try:
        status, _ = await stock_call(fleet, gw1)
        assert status >= 500
    finally:
        async with fleet.http.post(f"{fleet.wms_url}/_sandbox/faults", json={"mode": "ok"}):
            pass

    await eventually(lambda: reported("gw1", "open"), "gw1's open breaker listed on gw0")
    assert await breaker_of(operator, gw0, "gw0") == "closed"  # gw0 never failed
    status, listing = await fleet.send(gw0, "GET", "/v1/admin/processes")
    assert status == 200
    by_name = {p["name"]: p for p in listing["processes"]}
    assert by_name["gw1"]["breakers"] == {"acme_wms": "open"}
    assert by_name["gw0"]["bulkheads"] == {"acme_wms": {"in_flight": 0, "waiting": 0}}


async def test_auditors_verify_export_and_prove_a_trail_on_postgres_in_the_console(
    fleet_of: FleetFactory, tmp_path: Path, prefix: str, viewers: list[Viewer]
) -> None:
    fleet = await console_fleet(fleet_of, tmp_path, prefix, 2)
    gw0, gw1 = fleet.members
    status, body = await stock_call(fleet, gw1)
    assert status == 200
    request_id = body["request_id"]
    auditor = await signed_in(viewers, gw0, AUDITOR)
    proof_url = f"{gw0.url}/console/audit/requests/{request_id}/proof"

    async def covered() -> bool:  # checkpoints are signed every second
        async with auditor.http.get(proof_url) as response:
            return response.status == 200

    await eventually(covered, "a checkpoint covering the call")

    verified = await auditor.post(gw0, "/console/audit/verify")
    assert verified.status == 200
    page = await verified.text()
    assert 'data-ok="yes"' in page, page
    status, published = await fleet.send(gw0, "GET", "/v1/audit/checkpoint", AUDITOR)
    assert status == 200
    key = base64.b64decode(published["public_key"])

    async with auditor.http.get(f"{gw0.url}/console/audit/export.jsonl") as export:
        assert export.status == 200
        exported = tmp_path / "trail.jsonl"
        exported.write_bytes(await export.read())
    snapshot = read_export(exported)
    report = verify_log(snapshot, [key])
    assert report.ok, report.summary()
    assert request_id in [s.entry.event["request_id"] for s in snapshot.entries]

    async with auditor.http.get(proof_url) as proof:
        assert proof.status == 200
        assert "entry" in check_proof(json.loads(await proof.read()), [key])
