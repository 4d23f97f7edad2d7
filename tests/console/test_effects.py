"""What a held call would do, in the approvals inbox: the budgets it would spend, the
exact legacy request and the state before and after, worked out when it was held and
stored with it, so viewing it never reads the backend."""

from __future__ import annotations

import html
import re

from tests.conftest import APPROVER, REPLENISH
from tests.console.conftest import Console, post_sign_in
from tests.gateway.guardrails.conftest import movement

WRITE = "warehouse.goods_movements.create"


async def hold(console: Console) -> str:
    response = await console.api(
        "POST", f"/v1/operations/{WRITE}", REPLENISH, movement(quantity="150", reference="PO-9")
    )
    assert response.status == 202, await response.text()
    return str((await response.json())["approval_id"])


def row(page: str, attribute: str, name: str) -> list[str]:
    found = page.split(f'{attribute}="{name}"')[1].split("</tr>")[0]
    return [html.unescape(c) for c in re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", found)]


async def test_a_held_call_shows_its_budgets_legacy_request_and_before_after(
    console: Console,
) -> None:
    approval_id = await hold(console)
    assert (await post_sign_in(console.client, "/console/sign-in", APPROVER)).status == 303

    page = await (await console.client.get(f"/console/approvals/{approval_id}")).text()

    assert row(page, "data-budget", "quantity-24h")[:4] == ["quantity-24h", "0", "150", "500"]
    request = html.unescape(page.split('class="backend-request">')[1].split("</pre>")[0])
    assert '"path": "/api/v1/goodsmovement"' in request
    assert '"ERFMG": "150.000"' in request
    assert '"XBLNR": "PO-9"' in request
    assert row(page, "data-field", "quantity") == ["quantity", "125.000", "275.000"]


async def test_viewing_a_held_call_reads_no_backend_and_shows_the_state_when_held(
    console: Console,
) -> None:
    approval_id = await hold(console)
    moved = await console.api("POST", f"/v1/operations/{WRITE}", REPLENISH, movement())
    assert moved.status == 200  # the stock is now 135, after the call was held
    assert (await post_sign_in(console.client, "/console/sign-in", APPROVER)).status == 303
    calls_before = await console.wms_calls()

    inbox = await (await console.client.get("/console/approvals")).text()
    page = await (await console.client.get(f"/console/approvals/{approval_id}")).text()

    assert await console.wms_calls() == calls_before
    for shown in (inbox, page):
        assert row(shown, "data-field", "quantity") == ["quantity", "125.000", "275.000"]
        assert "not read again now" in shown


async def test_a_backend_unreadable_when_held_still_holds_and_says_why(console: Console) -> None:
    await console.fault("error")
    approval_id = await hold(console)
    await console.fault("ok")
    assert (await post_sign_in(console.client, "/console/sign-in", APPROVER)).status == 303

    page = await (await console.client.get(f"/console/approvals/{approval_id}")).text()

    note = page.split('class="muted effects-note">')[1].split("</p>")[0]
    assert "could not be read when the call was held" in note
    assert row(page, "data-budget", "quantity-24h")[:4] == ["quantity-24h", "0", "150", "500"]
    assert 'class="backend-request"' not in page


async def test_the_approvals_api_carries_the_preview_stored_when_held(console: Console) -> None:
    approval_id = await hold(console)
    calls_before = await console.wms_calls()

    response = await console.api("GET", f"/v1/approvals/{approval_id}", APPROVER)

    assert response.status == 200
    preview = (await response.json())["preview"]
    assert await console.wms_calls() == calls_before  # read from the store, not the backend
    assert preview["withheld"] is None
    budget = next(b for b in preview["budgets"] if b["budget"] == "quantity-24h")
    assert (budget["used"], budget["amount"], budget["limit"]) == ("0", "150", "500")
    assert preview["backend_request"]["path"] == "/api/v1/goodsmovement"
    assert preview["before"]["quantity"] == "125.000"
    assert preview["after"]["quantity"] == "275.000"
