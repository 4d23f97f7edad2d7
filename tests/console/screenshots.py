"""``make screenshots``: a picture of each console page, written to docs/console/.

Not part of ``make test`` (its file name does not start with ``test_``); run it
explicitly. It fills the gateway with a little traffic, a held call and a halt, then
signs in as each role and photographs what that person sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import INVENTORY, REPLENISH
from tests.console.conftest import Console, signed_in
from tests.gateway.guardrails.conftest import movement

OUT = Path(__file__).resolve().parents[2] / "docs" / "console"
STOCK = {"material": "100234", "plant": "1000"}
PAGES = {
    "now": ("operator", "/now"),
    "approvals": ("approver", "/approvals"),
    "agents": ("operator", "/agents"),
    "halts": ("operator", "/halts"),
    "audit": ("auditor", "/audit"),
}


async def test_screenshots(browser: Any, console: Console) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        await console.api("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
    held = await console.api(
        "POST",
        "/v1/operations/warehouse.goods_movements.create",
        REPLENISH,
        movement(quantity="150", reference="PO-4711"),
        **{"X-On-Behalf-Of": "lea.fischer@acme.example"},
    )
    assert held.status == 202
    for name, (role, path) in PAGES.items():
        page = await signed_in(browser, console, role)
        await page.set_viewport_size({"width": 1280, "height": 800})
        await page.goto(console.url + path)
        await page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
        assert (OUT / f"{name}.png").stat().st_size > 0
