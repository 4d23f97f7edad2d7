"""The console in Chromium: each role's job done from the browser alone, and the
refusals the role matrix, the CSRF check and the escaping promise."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.conftest import INVENTORY, REPLENISH
from tests.console.conftest import Console, csrf_of, signed_in
from tests.gateway.guardrails.conftest import movement

WRITE = "warehouse.goods_movements.create"
STOCK = {"material": "100234", "plant": "1000"}


async def hold(
    console: Console, on_behalf_of: str = "lea.fischer@acme.example", **extra: Any
) -> str:
    response = await console.api(
        "POST",
        f"/v1/operations/{WRITE}",
        REPLENISH,
        movement(quantity="150", **{"reference": "PO-1", **extra}),
        **{"X-On-Behalf-Of": on_behalf_of},
    )
    assert response.status == 202, await response.text()
    return str((await response.json())["approval_id"])


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("approver", ["Approvals"], ["Now", "Agents", "Halts", "Audit"]),
        ("operator", ["Now", "Approvals", "Agents", "Halts"], ["Audit"]),
        ("auditor", ["Now", "Approvals", "Agents", "Halts", "Audit"], []),
        ("both", ["Now", "Approvals", "Agents", "Halts", "Audit"], []),
    ],
)
async def test_each_role_signs_in_and_is_shown_its_pages(
    browser: Any, console: Console, role: str, shown: list[str], hidden: list[str]
) -> None:
    page = await signed_in(browser, console, role)

    nav = page.locator("header nav")
    for name in shown:
        await expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    for name in hidden:
        await expect(nav.get_by_role("link", name=name, exact=True)).to_have_count(0)


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("approver", "/now"),
        ("approver", "/halts"),
        ("approver", "/audit"),
        ("operator", "/audit"),
        ("operator", "/audit/checkpoint"),
    ],
)
async def test_each_role_is_refused_pages_the_matrix_forbids(
    browser: Any, console: Console, role: str, path: str
) -> None:
    page = await signed_in(browser, console, role)

    response = await page.goto(console.url + path)

    assert response.status == 403
    await expect(page.locator("#problem")).to_have_attribute("data-code", "forbidden")


@pytest.mark.parametrize(
    ("role", "path", "form"),
    [
        ("operator", "/approvals/{id}/decide", {"decision": "approve", "comment": "ok"}),
        ("auditor", "/approvals/{id}/decide", {"decision": "approve", "comment": "ok"}),
        ("auditor", "/halts", {"scope": "all", "reason": "x", "confirm": "yes"}),
        ("approver", "/halts", {"scope": "all", "reason": "x", "confirm": "yes"}),
        ("approver", "/audit/verify", {}),
        ("auditor", "/halts/drill", {}),
        ("approver", "/halts/drill", {}),
        ("operator", "/audit/verify", {}),
    ],
)
async def test_each_role_is_refused_changes_the_matrix_forbids(
    browser: Any, console: Console, role: str, path: str, form: dict[str, str]
) -> None:
    approval_id = await hold(console)
    page = await signed_in(browser, console, role)
    token = await csrf_of(page)

    response = await page.request.post(
        console.url + path.format(id=approval_id), form={**form, "csrf_token": token}
    )

    assert response.status == 403
    status = await console.api("GET", f"/v1/approvals/{approval_id}", REPLENISH)
    assert (await status.json())["status"] == "pending"
    halts = await console.api("GET", "/v1/admin/halts", "lm_demo_operator_93b7d04e1c")
    assert (await halts.json())["halts"] == []


async def test_a_call_made_through_the_api_appears_live(browser: Any, console: Console) -> None:
    page = await signed_in(browser, console, "operator")
    await page.goto(console.url + "/now")
    await page.wait_for_function("document.querySelector('#calls').hasAttribute('sse-connect')")

    response = await console.api("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
    assert response.status == 200
    request_id = response.headers["X-Request-Id"]

    row = page.locator(f'tr.call[data-request-id="{request_id}"]')
    await expect(row).to_be_visible(timeout=10_000)
    await expect(row).to_contain_text("inventory-bot")
    await expect(row).to_contain_text("warehouse.stock.get")


async def test_an_approved_call_runs_once_and_its_outcome_is_shown(
    browser: Any, console: Console
) -> None:
    approval_id = await hold(console)
    before = await console.wms_calls()
    page = await signed_in(browser, console, "approver")
    await page.goto(console.url + "/approvals")
    card = page.locator(f"section#{approval_id}")
    await expect(card).to_contain_text("150")

    await card.get_by_label("Comment (required)").fill("PO confirmed by phone")
    await card.get_by_role("button", name="Approve").click()

    await expect(page.locator("#status")).to_have_text("executed")
    await expect(page.locator("#result")).to_be_visible()
    await expect(page.locator("#decided-by")).to_have_text("maria.schmidt")
    assert await console.wms_calls() == before + 1
    again = await page.request.post(
        console.url + f"/approvals/{approval_id}/decide",
        form={"decision": "approve", "comment": "twice", "csrf_token": await csrf_of(page)},
    )
    assert again.status == 409
    assert await console.wms_calls() == before + 1


async def test_a_rejected_call_never_runs(browser: Any, console: Console) -> None:
    approval_id = await hold(console)
    before = await console.wms_calls()
    page = await signed_in(browser, console, "approver")
    await page.goto(console.url + f"/approvals/{approval_id}")

    await page.get_by_label("Comment (required)").fill("No PO for this")
    await page.get_by_role("button", name="Reject").click()

    await expect(page.locator("#status")).to_have_text("rejected")
    assert await console.wms_calls() == before


async def test_a_decision_needs_a_comment(browser: Any, console: Console) -> None:
    approval_id = await hold(console)
    page = await signed_in(browser, console, "approver")
    await page.goto(console.url + "/approvals")

    response = await page.request.post(
        console.url + f"/approvals/{approval_id}/decide",
        form={"decision": "approve", "comment": " ", "csrf_token": await csrf_of(page)},
    )

    assert response.status == 422
    status = await console.api("GET", f"/v1/approvals/{approval_id}", REPLENISH)
    assert (await status.json())["status"] == "pending"


async def test_self_approval_is_refused_with_a_clear_message(
    browser: Any, console: Console
) -> None:
    approval_id = await hold(console, on_behalf_of="maria.schmidt@acme.example")
    page = await signed_in(browser, console, "approver")
    await page.goto(console.url + f"/approvals/{approval_id}")

    await page.get_by_label("Comment (required)").fill("looks fine")
    await page.get_by_role("button", name="Approve").click()

    problem = page.locator("#problem")
    await expect(problem).to_have_attribute("data-code", "self_approval")
    await expect(problem).to_contain_text("another approver must decide")


async def test_halting_an_agent_refuses_its_next_call_until_resumed(
    browser: Any, console: Console
) -> None:
    page = await signed_in(browser, console, "operator")
    await page.goto(console.url + "/halts")
    form = page.locator("form.halt-form")
    await form.locator("input[name=scope][value=agent]").check()
    await form.locator("select[name=target_agent]").select_option("inventory-bot")
    await form.get_by_label("Reason").fill("runaway loop")
    await form.get_by_label("I understand").check()
    await form.get_by_role("button", name="Halt").click()

    ack = page.locator("#ack")
    await expect(ack).to_have_attribute("data-acknowledged", "yes")
    await expect(page.locator("#elapsed")).to_contain_text("ms")
    refused = await console.api("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
    assert refused.status == 503
    assert (await refused.json())["code"] == "halted"

    await page.get_by_role("button", name="Resume agent:inventory-bot").click()

    await expect(page.locator("#no-halts")).to_be_visible()
    admitted = await console.api("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
    assert admitted.status == 200


async def test_a_halt_needs_its_confirmation(browser: Any, console: Console) -> None:
    page = await signed_in(browser, console, "operator")
    await page.goto(console.url + "/halts")

    response = await page.request.post(
        console.url + "/halts",
        form={"scope": "all", "reason": "test", "csrf_token": await csrf_of(page)},
    )

    assert response.status == 422
    admitted = await console.api("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
    assert admitted.status == 200


async def test_the_auditor_verifies_the_trail(browser: Any, console: Console) -> None:
    await console.api("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
    page = await signed_in(browser, console, "auditor")
    await page.goto(console.url + "/audit/checkpoint")

    await page.get_by_role("button", name="Verify the whole trail").click()

    verification = page.locator("#verification")
    await expect(verification).to_have_attribute("data-ok", "yes")
    await expect(verification).to_contain_text("chain intact")


async def test_the_auditor_searches_and_reads_one_calls_story(
    browser: Any, console: Console
) -> None:
    response = await console.api("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
    request_id = response.headers["X-Request-Id"]
    await console.api("POST", "/v1/operations/warehouse.stock.get", REPLENISH, STOCK)
    page = await signed_in(browser, console, "auditor")
    await page.goto(console.url + "/audit")

    await page.get_by_label("agent", exact=True).fill("inventory-bot")
    await page.get_by_role("button", name="Search").click()

    rows = page.locator("tr.event")
    await expect(rows).to_have_count(1)
    await rows.get_by_role("link", name=request_id).click()
    await expect(page.locator("h1")).to_contain_text(request_id)
    await expect(page.locator("main")).to_contain_text("inventory-bot (owner team-logistics)")


async def test_hostile_agent_input_is_shown_but_never_runs(browser: Any, console: Console) -> None:
    # the warehouse keeps references to 16 characters: one payload per held call
    planted = ["<svg onload=a()>", "'\"><i id=pwned>", "javascript:a()\u202e"]
    for reference in planted:
        await hold(console, reference=reference)
    page = await signed_in(browser, console, "approver")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    await page.goto(console.url + "/approvals")

    values = page.locator("td.value")
    await expect(values.filter(has_text="<svg onload=a()>")).to_have_count(1)
    await expect(values.filter(has_text="'\"><i id=pwned>")).to_have_count(1)
    await expect(values.filter(has_text="javascript:a()U+202E")).to_have_count(1)
    assert await page.locator("main svg, main img, main script, #pwned").count() == 0
    assert await page.locator("a[href^='javascript']").count() == 0
    assert errors == []


async def test_a_state_change_without_the_csrf_token_is_refused(
    browser: Any, console: Console
) -> None:
    page = await signed_in(browser, console, "operator")

    response = await page.request.post(
        console.url + "/halts", form={"scope": "all", "reason": "forged", "confirm": "yes"}
    )

    assert response.status == 403
    assert "CSRF" in await response.text()
    admitted = await console.api("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
    assert admitted.status == 200


async def test_the_agents_page_names_owners_budgets_halts_and_revoked_keys(
    browser: Any, console: Console
) -> None:
    spent = await console.api(
        "POST",
        f"/v1/operations/{WRITE}",
        REPLENISH,
        movement(quantity="40"),
        **{"X-On-Behalf-Of": "lea.fischer@acme.example"},
    )
    assert spent.status == 200, await spent.text()
    page = await signed_in(browser, console, "operator")
    await page.goto(console.url + "/halts")
    form = page.locator("form.halt-form")
    await form.locator("select[name=target_agent]").select_option("inventory-bot")
    await form.get_by_label("Reason").fill("checking")
    await form.get_by_label("I understand").check()
    await form.get_by_role("button", name="Halt").click()
    await expect(page.locator("#ack")).to_be_visible()

    await page.goto(console.url + "/agents")

    inventory = page.locator('tr.agent[data-agent="inventory-bot"]')
    await expect(inventory).to_contain_text("team-logistics")
    await expect(inventory).to_contain_text("warehouse.items.*")
    await expect(inventory).to_contain_text("halted")
    replenish = page.locator('tr.agent[data-agent="replenishment-bot"]')
    await expect(replenish).to_contain_text("ops-planning")
    await expect(replenish.locator('[data-budget="quantity-24h"]')).to_contain_text("40 of 500")
    await expect(replenish).not_to_contain_text("halted")
    await expect(page.locator('tr.agent[data-agent="retired-bot"]')).to_contain_text("revoked")


async def test_one_person_with_two_roles_halts_and_verifies(browser: Any, console: Console) -> None:
    approval_id = await hold(console)
    page = await signed_in(browser, console, "both")
    await page.goto(console.url + "/halts")
    form = page.locator("form.halt-form")
    await form.locator("input[name=scope][value=all]").check()
    await form.get_by_label("Reason").fill("incident 42")
    await form.get_by_label("I understand").check()
    await form.get_by_role("button", name="Halt").click()
    await expect(page.locator("#ack")).to_have_attribute("data-acknowledged", "yes")

    await page.goto(console.url + "/audit/checkpoint")
    await page.get_by_role("button", name="Verify the whole trail").click()

    await expect(page.locator("#verification")).to_have_attribute("data-ok", "yes")
    refused = await console.api("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
    assert (await refused.json())["code"] == "halted"
    decide = await page.request.post(
        console.url + f"/approvals/{approval_id}/decide",
        form={"decision": "approve", "comment": "x", "csrf_token": await csrf_of(page)},
    )
    assert decide.status == 403  # neither role decides approvals


async def test_the_halt_drill_measures_and_keeps_its_history(
    browser: Any, console: Console
) -> None:
    page = await signed_in(browser, console, "operator")
    await page.goto(console.url + "/halts")

    await page.get_by_role("button", name="Run a halt drill").click()
    await page.get_by_role("button", name="Run a halt drill").click()

    drills = page.locator("tr.drill")
    await expect(drills).to_have_count(2)
    await expect(drills.first).to_contain_text("ops-oncall")
    await expect(drills.first.locator(".halt-ms")).to_contain_text("ms")
    await expect(drills.first).to_contain_text("yes")
    await expect(page.locator("#no-halts")).to_be_visible()  # the drill left nothing halted
    admitted = await console.api("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
    assert admitted.status == 200
    auditor = "lm_demo_auditor_6fa2c9e815"
    events = await console.api("GET", "/v1/audit/events?operation=admin.halt_drill", auditor)
    assert len((await events.json())["events"]) == 2
