"""A reload changes agents, keys, policies, budgets and limits in a running gateway, all
or nothing, and refuses to touch what only a restart changes (one process, no fleet)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse

from gateway.audit.entries import render_event
from gateway.cli import main
from gateway.identity import hash_key, new_key
from tests.conftest import APPROVER, INVENTORY, OPERATOR, TEST_CONFIG, Gateway
from tests.gateway.reload.texts import (
    NEW_BOT_KEY,
    adding_agent,
    revoking_inventory,
    with_guardrails,
    with_rate_limit,
)

STOCK = "warehouse.stock.get"
WHERE = {"material": "100234", "plant": "1000"}


@pytest.fixture(autouse=True)
def _environment(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment the gateway's own config was resolved with: a reload's
    ``${ENV}`` references are resolved by the process, as they would be on its host."""
    monkeypatch.setenv("WMS_URL", str(gateway.wms.make_url("/")).rstrip("/"))
    monkeypatch.setenv("AUDIT_DB", str(gateway.audit_db))


async def reload(gateway: Gateway, text: str | None, key: str = OPERATOR) -> ClientResponse:
    body: dict[str, Any] = {} if text is None else {"text": text, "source": "test.yaml"}
    return await gateway.client.post(
        "/v1/admin/config", json=body, headers={"Authorization": f"Bearer {key}"}
    )


async def version_in_force(gateway: Gateway) -> int:
    ready = await gateway.client.get("/readyz")
    return int((await ready.json())["config_version"])


async def test_reload_revokes_one_agent_and_adds_another_without_a_restart(
    gateway: Gateway,
) -> None:
    assert (await gateway.invoke(STOCK, WHERE, INVENTORY)).status == 200
    assert (await gateway.invoke(STOCK, WHERE, NEW_BOT_KEY)).status == 401
    assert await version_in_force(gateway) == 0

    answer = await reload(gateway, adding_agent(revoking_inventory(TEST_CONFIG)))

    assert answer.status == 200, await answer.text()
    body = await answer.json()
    assert body["config_version"] == 1
    assert body["acknowledged"] is True
    assert body["unconfirmed"] == []
    revoked = await gateway.invoke(STOCK, WHERE, INVENTORY)
    assert revoked.status == 401
    assert "revoked" in (await revoked.json())["detail"]
    assert (await gateway.invoke(STOCK, WHERE, NEW_BOT_KEY)).status == 200
    assert await version_in_force(gateway) == 1


async def test_every_audit_event_carries_the_version_in_force(gateway: Gateway) -> None:
    await gateway.invoke(STOCK, WHERE, INVENTORY)
    assert (await reload(gateway, adding_agent(TEST_CONFIG))).status == 200
    await gateway.invoke(STOCK, WHERE, NEW_BOT_KEY)

    events = await gateway.audit()
    calls = [(e.agent_id, e.config_version) for e in events if e.kind.value == "call"]
    assert sorted(calls, key=str) == sorted([("inventory-bot", 0), ("audit-bot", 1)], key=str)
    [admin] = [e for e in events if e.action == "config_reload"]
    assert (admin.actor, admin.config_version, admin.target) == (
        "ops-oncall",
        1,
        "config version 1",
    )


async def test_a_reload_that_changes_fixed_parts_is_refused_with_their_list(
    gateway: Gateway, tmp_path: Path
) -> None:
    moved = TEST_CONFIG.replace("max_body_bytes: 4096", "max_body_bytes: 8192").replace(
        "path: ${AUDIT_DB}", f"path: {tmp_path / 'elsewhere.sqlite'}"
    )

    answer = await reload(gateway, revoking_inventory(moved))

    assert answer.status == 409
    problem = await answer.json()
    assert problem["code"] == "config_not_reloadable"
    assert problem["fixed"] == ["server", "audit"]
    assert (await gateway.invoke(STOCK, WHERE, INVENTORY)).status == 200  # nothing applied
    assert await version_in_force(gateway) == 0


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("agents: [oops", "not valid YAML"),
        (TEST_CONFIG.replace("owner: team-logistics\n", "owner: 7\n", 1), "agents[0].owner"),
        (with_guardrails(TEST_CONFIG, "  policies: [./missing.cedar]\n"), "missing.cedar"),
        (
            with_guardrails(
                TEST_CONFIG,
                "  budgets:\n    - {id: b1, operations: [warehouse.nothing.*], limit: 5}\n",
            ),
            "guardrails.budgets",
        ),
        (TEST_CONFIG.replace("${WMS_URL}", "${NOT_SET_ANYWHERE_42}"), "NOT_SET_ANYWHERE_42"),
        (
            TEST_CONFIG.replace('["warehouse.*"]', '["warehouse.nothing.*"]'),
            "matches no operation",
        ),
        (with_rate_limit(TEST_CONFIG, 5).replace("agent: {", "agents: {ghost: {") + "}", "ghost"),
    ],
)
async def test_a_config_with_problems_changes_nothing(
    gateway: Gateway, text: str, says: str
) -> None:
    answer = await reload(gateway, revoking_inventory(text) if "oops" not in text else text)

    assert answer.status == 422
    problem = await answer.json()
    assert problem["code"] == "config_invalid"
    assert any(says in p for p in problem["problems"]), problem["problems"]
    assert (await gateway.invoke(STOCK, WHERE, INVENTORY)).status == 200  # not revoked
    assert await version_in_force(gateway) == 0


async def test_rate_limits_and_policies_change_with_a_reload(
    gateway: Gateway, tmp_path: Path
) -> None:
    assert (await reload(gateway, with_rate_limit(TEST_CONFIG, 1))).status == 200
    assert (await gateway.invoke(STOCK, WHERE, INVENTORY)).status == 200
    assert (await gateway.invoke(STOCK, WHERE, INVENTORY)).status == 429

    policy = tmp_path / "no-stock.cedar"
    policy.write_text(
        "permit (principal, action, resource);\n"
        '@id("no-stock") @reason("stock is closed for inventory")\n'
        'forbid (principal, action == Action::"warehouse.stock.get", resource);\n'
    )
    answer = await reload(gateway, with_guardrails(TEST_CONFIG, f"  policies: [{policy}]\n"))
    assert answer.status == 200, await answer.text()
    denied = await gateway.invoke(STOCK, WHERE, INVENTORY)  # the rate limit is gone too
    assert denied.status == 403
    assert (await denied.json())["code"] == "policy_denied"


async def test_only_operators_reload_and_bad_bodies_are_refused_precisely(
    gateway: Gateway,
) -> None:
    assert (await reload(gateway, TEST_CONFIG, key=APPROVER)).status == 403
    assert (await reload(gateway, TEST_CONFIG, key=INVENTORY)).status == 403
    headers = {"Authorization": f"Bearer {OPERATOR}"}
    not_json = await gateway.client.post("/v1/admin/config", data=b"{", headers=headers)
    assert (not_json.status, (await not_json.json())["code"]) == (422, "validation_failed")
    wrong = await gateway.client.post("/v1/admin/config", json={"text": 7}, headers=headers)
    assert (wrong.status, (await wrong.json())["code"]) == (422, "validation_failed")
    huge = await gateway.client.post(
        "/v1/admin/config", data=io.BytesIO(b"x" * (2 << 20)), headers=headers
    )
    assert (huge.status, (await huge.json())["code"]) == (413, "payload_too_large")
    assert await version_in_force(gateway) == 0


async def test_the_config_in_force_is_shown_with_what_a_reload_may_change(
    gateway: Gateway,
) -> None:
    text = adding_agent(TEST_CONFIG)
    assert (await reload(gateway, text)).status == 200
    shown = await gateway.client.get(
        "/v1/admin/config", headers={"Authorization": f"Bearer {OPERATOR}"}
    )
    body = await shown.json()
    assert body["config_version"] == 1
    assert body["text"] == text  # as written: ${WMS_URL} and ${AUDIT_DB} unresolved
    assert "${WMS_URL}" in body["text"]
    assert "agents" in body["reloadable"]
    assert {"server", "backends", "audit", "state", "postgres", "guardrails.halts"} <= set(
        body["fixed"]
    )


async def test_lastmile_reload_sends_the_file_and_exits_by_the_answer(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = str(gateway.client.make_url("/")).rstrip("/")
    monkeypatch.setenv("LASTMILE_STAFF_KEY", OPERATOR)
    good, fixed = tmp_path / "good.yaml", tmp_path / "fixed.yaml"
    good.write_text(revoking_inventory(TEST_CONFIG))
    fixed.write_text(TEST_CONFIG.replace("max_body_bytes: 4096", "max_body_bytes: 10"))

    assert await asyncio.to_thread(main, ["reload", "--config", str(fixed), "--url", url]) == 1
    assert (await gateway.invoke(STOCK, WHERE, INVENTORY)).status == 200
    assert await asyncio.to_thread(main, ["reload", "--config", str(good), "--url", url]) == 0
    assert (await gateway.invoke(STOCK, WHERE, INVENTORY)).status == 401
    missing = str(tmp_path / "nope.yaml")
    assert await asyncio.to_thread(main, ["reload", "--config", missing, "--url", url]) == 2


async def test_staff_keys_and_revocations_change_with_a_reload(gateway: Gateway) -> None:
    newcomer = new_key()
    entry = f"  - id: new.operator\n    key_sha256: {hash_key(newcomer)}\n    roles: [operator]\n"
    text = TEST_CONFIG.replace("audit:\n", entry + "audit:\n", 1).replace(
        "    roles: [operator]\n", "    roles: [operator]\n    revoked: true\n", 1
    )
    halts = "/v1/admin/halts"

    assert (await reload(gateway, text)).status == 200

    old = await gateway.client.get(halts, headers={"Authorization": f"Bearer {OPERATOR}"})
    new = await gateway.client.get(halts, headers={"Authorization": f"Bearer {newcomer}"})
    assert (old.status, new.status) == (401, 200)


async def test_the_trail_verifies_across_a_reload_and_old_events_keep_their_bytes(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    await gateway.invoke(STOCK, WHERE, INVENTORY)
    assert (await reload(gateway, adding_agent(TEST_CONFIG))).status == 200
    await gateway.invoke(STOCK, WHERE, NEW_BOT_KEY)

    capsys.readouterr()
    code = await asyncio.to_thread(main, ["audit", "verify", "--store", str(gateway.audit_db)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("OK: entries 0..2 (3)")
    [after] = [e for e in await gateway.audit() if e.agent_id == "audit-bot"]
    assert b'"config_version":1' in render_event(after)
    # an event from before the field existed renders as it did then, so its hash holds
    before = after.model_copy(update={"config_version": None})
    assert b"config_version" not in render_event(before)
