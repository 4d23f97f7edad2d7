"""The auditor's verification continues from the last checkpoint an earlier run matched,
reads the whole trail on request, and forgets its resume point when a run fails."""

from __future__ import annotations

import re

from gateway.appkeys import AUDIT_STORE
from tests.conftest import AUDITOR, INVENTORY
from tests.console.conftest import Console
from tests.console.test_pages import signed
from tests.gateway.audit.helpers import rows

STOCK = {"material": "100234", "plant": "1000"}


async def calls_and_a_checkpoint(console: Console, count: int) -> int:
    for _ in range(count):
        response = await console.api("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
        assert response.status == 200
    signed_checkpoint = await console.client.app[AUDIT_STORE].checkpoint()
    assert signed_checkpoint is not None
    return int(signed_checkpoint["tree_size"])


async def run_verification(console: Console, scope: str) -> str:
    form = await console.client.get("/console/audit/checkpoint")
    csrf = (await form.text()).split('name="csrf_token" value="')[1].split('"')[0]
    response = await console.client.post(
        "/console/audit/verify", data={"csrf_token": csrf, "scope": scope}
    )
    assert response.status == 200
    return await response.text()


def verification(text: str) -> tuple[str, str, str]:
    found = re.search(r'<p id="verification"[^>]*data-ok="(\w+)" data-whole="(\w+)">([^<]*)', text)
    assert found is not None, text
    return found.group(1), found.group(2), found.group(3)


async def test_verification_continues_from_the_last_matched_checkpoint(console: Console) -> None:
    await signed(console, AUDITOR)
    first_size = await calls_and_a_checkpoint(console, 3)

    ok, whole, summary = verification(await run_verification(console, "new"))
    assert (ok, whole) == ("yes", "yes")  # nothing verified before: the whole trail
    page = await (await console.client.get("/console/audit/checkpoint")).text()
    assert f"Verified up to the checkpoint of size {first_size} by kpmg-auditor" in page

    await calls_and_a_checkpoint(console, 2)
    ok, whole, summary = verification(await run_verification(console, "new"))
    assert (ok, whole) == ("yes", "no")
    assert f"continued from the checkpoint of size {first_size}" in summary

    ok, whole, summary = verification(await run_verification(console, "all"))
    assert (ok, whole) == ("yes", "yes")
    assert "continued" not in summary


async def test_a_failed_run_forgets_the_resume_point(console: Console) -> None:
    await signed(console, AUDITOR)
    size = await calls_and_a_checkpoint(console, 3)
    verification(await run_verification(console, "new"))
    await calls_and_a_checkpoint(console, 2)
    path = console.client.app[AUDIT_STORE].path
    with rows(path) as db:  # an entry after the resume point is edited
        db.execute(
            'UPDATE audit_events SET entry = replace(entry, \'"outcome":"ok"\', '
            '\'"outcome":"forbidden"\') WHERE seq = ?',
            (size + 1,),
        )

    ok, whole, summary = verification(await run_verification(console, "new"))
    assert (ok, whole) == ("no", "no")
    assert summary.startswith(f"FAILED at entry {size + 1}")
    page = await (await console.client.get("/console/audit/checkpoint")).text()
    assert 'id="last-verified"' not in page
    ok, whole, _ = verification(await run_verification(console, "new"))
    assert (ok, whole) == ("no", "yes")  # the next run reads everything again
