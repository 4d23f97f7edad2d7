"""Cedar policy decisions through the HTTP API: allow, deny (by forbid and by default),
approval required, shadow mode; and bad policy files that must never half-load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from gateway.app import build_app
from gateway.cli import main
from gateway.guardrails.policy import PolicyError
from schemas.audit import Decision
from tests.conftest import APPROVER, INVENTORY, OPERATOR, REPLENISH
from tests.gateway.guardrails.conftest import (
    POLICIES,
    Guarded,
    StartGateway,
    guarded_config,
    movement,
)

WRITE = "warehouse.goods_movements.create"
OBO = {"X-On-Behalf-Of": "lea.fischer@acme.example"}


async def test_permitted_write_records_the_permitting_policy(guarded: Guarded) -> None:
    response = await guarded.invoke(WRITE, movement(), REPLENISH, **OBO)

    assert response.status == 200
    [event] = await guarded.audit(request_id=response.headers["X-Request-Id"])
    assert event.decision is Decision.ALLOW
    assert event.policy_ids == ["planners-write"]
    assert event.reasons == ["Planning agents may post goods movements."]
    assert event.shadow_decision is None


async def test_forbid_policy_denies_with_its_id_and_reason(guarded: Guarded) -> None:
    calls_before = await guarded.wms_calls()
    response = await guarded.invoke(WRITE, movement(kind="scrap"), REPLENISH, **OBO)

    assert response.status == 403
    problem = await response.json()
    assert problem["code"] == "policy_denied"
    assert problem["policy_ids"] == ["no-scrap"]
    assert "Agents may not scrap stock." in problem["detail"]
    assert await guarded.wms_calls() == calls_before
    [event] = await guarded.audit(request_id=response.headers["X-Request-Id"])
    assert event.decision is Decision.DENY
    assert event.outcome == "policy_denied"
    assert event.policy_ids == ["no-scrap"]


async def test_nothing_permits_means_deny_by_default(start_guarded: StartGateway) -> None:
    gateway = await start_guarded(
        policies='@id("reads") permit (principal, action in Action::"read", resource);'
    )

    response = await gateway.invoke(WRITE, movement(), REPLENISH, **OBO)

    assert response.status == 403
    problem = await response.json()
    assert problem["code"] == "policy_denied"
    assert problem["policy_ids"] == []
    assert "deny by default" in problem["detail"]


async def test_principal_attributes_reach_the_policy(guarded: Guarded) -> None:
    # inventory-bot's allow-list admits reads only; its owner is not ops-planning either,
    # so a policy keyed on the owner admits reads for it and nothing else.
    response = await guarded.invoke(
        "warehouse.stock.get", {"material": "100234", "plant": "1000"}, INVENTORY
    )
    assert response.status == 200
    [event] = await guarded.audit(request_id=response.headers["X-Request-Id"])
    assert event.policy_ids == ["read-all"]


async def test_approval_policy_holds_the_call(guarded: Guarded) -> None:
    postings_before = guarded.wms_postings()
    response = await guarded.invoke(WRITE, movement(quantity="150"), REPLENISH, **OBO)

    assert response.status == 202
    body = await response.json()
    assert body["status"] == "approval_required"
    assert body["policy_ids"] == ["big-needs-approval"]
    assert body["status_url"] == f"/v1/approvals/{body['approval_id']}"
    assert response.headers["Location"] == body["status_url"]
    assert guarded.wms_postings() == postings_before  # held: nothing written
    [event] = await guarded.audit(request_id=response.headers["X-Request-Id"])
    assert event.decision is Decision.APPROVAL_REQUIRED
    assert event.status == 202
    assert event.approval is not None
    assert event.approval.status == "pending"


async def test_deny_wins_over_approval(guarded: Guarded) -> None:
    response = await guarded.invoke(WRITE, movement(kind="scrap", quantity="150"), REPLENISH, **OBO)

    assert response.status == 403
    assert (await response.json())["policy_ids"] == ["no-scrap"]


async def test_shadow_policy_only_records_what_it_would_do(guarded: Guarded) -> None:
    response = await guarded.invoke(WRITE, movement(), REPLENISH)  # no end user named

    assert response.status == 200
    [event] = await guarded.audit(request_id=response.headers["X-Request-Id"])
    assert event.decision is Decision.ALLOW
    assert event.shadow_decision is Decision.DENY
    assert "shadow:name-the-user" in event.policy_ids
    assert any(r.startswith("shadow mode, would deny") for r in event.reasons)


async def test_shadow_approval_policy_records_would_need_approval(
    start_guarded: StartGateway,
) -> None:
    policies = POLICIES.replace(
        '@decision("approval_required")', '@decision("approval_required")\n@mode("shadow")'
    )
    gateway = await start_guarded(policies=policies)

    response = await gateway.invoke(WRITE, movement(quantity="150"), REPLENISH, **OBO)

    assert response.status == 200
    [event] = await gateway.audit(request_id=response.headers["X-Request-Id"])
    assert event.shadow_decision is Decision.APPROVAL_REQUIRED
    assert any("would need approval" in r for r in event.reasons)


BAD_POLICIES = {
    "syntax": ("permit (principal, action, resource", "not valid Cedar"),
    "unknown attribute": (
        'permit (principal, action == Action::"warehouse.goods_movements.create", resource) '
        'when { context.input.colour == "red" };',
        "colour",
    ),
    "unknown action": (
        'permit (principal, action == Action::"erp.nothing.here", resource);',
        "erp.nothing.here",
    ),
    "bad decision": (
        '@decision("maybe") forbid (principal, action, resource);',
        "@decision must be one of",
    ),
    "decision on permit": (
        '@decision("approval_required") permit (principal, action, resource);',
        "only applies to forbid",
    ),
    "bad mode": ('@mode("loud") forbid (principal, action, resource);', "@mode must be one of"),
    "duplicate id": (
        '@id("a") permit (principal, action, resource);\n'
        '@id("a") forbid (principal, action, resource);',
        "used more than once",
    ),
    "template": ("permit (principal == ?principal, action, resource);", "templates"),
}


@pytest.mark.parametrize("case", sorted(BAD_POLICIES))
def test_a_bad_policy_file_stops_start_up_naming_file_and_reason(
    case: str, wms: TestServer, tmp_path: Path
) -> None:
    text, expected = BAD_POLICIES[case]
    config = guarded_config("http://127.0.0.1:9", tmp_path, policies=POLICIES + "\n" + text)

    with pytest.raises(PolicyError) as raised:
        build_app(config)

    assert any(expected in problem for problem in raised.value.problems), raised.value.problems
    assert all(
        str(tmp_path / "policies.cedar") in p or "used more than once" in p
        for p in raised.value.problems
    )


def test_a_missing_policy_file_stops_start_up(tmp_path: Path) -> None:
    config = guarded_config("http://127.0.0.1:9", tmp_path)
    config = config.model_copy(
        update={
            "guardrails": config.guardrails.model_copy(
                update={"policies": [str(tmp_path / "nope.cedar")]}
            )
        }
    )
    with pytest.raises(PolicyError, match=r"nope\.cedar"):
        build_app(config)


def test_policy_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check"]) == 0
    assert "OK" in capsys.readouterr().out

    bad = tmp_path / "bad.cedar"
    bad.write_text("permit (principal, action, resource) when { context.nope };")
    config = tmp_path / "gateway.yaml"
    default = Path("gateway/defaults/gateway.yaml").read_text()
    config.write_text(default.replace("${LASTMILE_POLICIES:-builtin:warehouse.cedar}", str(bad)))
    assert main(["policy", "check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "nope" in err


async def test_reload_swaps_policies_all_or_nothing(guarded: Guarded, tmp_path: Path) -> None:
    policy_file = tmp_path / "policies.cedar"
    policy_file.write_text(
        POLICIES.replace('context.input.kind == "scrap"', 'context.input.kind == "issue"')
    )

    reloaded = await guarded.staff("POST", "/v1/admin/policies/reload", OPERATOR)

    assert reloaded.status == 200
    assert (await reloaded.json())["policies"] == 5
    assert (await guarded.invoke(WRITE, movement(kind="issue"), REPLENISH, **OBO)).status == 403
    assert (await guarded.invoke(WRITE, movement(kind="scrap"), REPLENISH, **OBO)).status == 200

    policy_file.write_text("permit (principal, action, resource")
    broken = await guarded.staff("POST", "/v1/admin/policies/reload", OPERATOR)

    assert broken.status == 422
    assert (await broken.json())["code"] == "policy_invalid"
    assert (await guarded.invoke(WRITE, movement(kind="issue"), REPLENISH, **OBO)).status == 403
    [event] = [e for e in await guarded.audit() if e.action == "policy_reload"]
    assert event.actor == "ops-oncall"
    assert (await guarded.staff("POST", "/v1/admin/policies/reload", APPROVER)).status == 403


def test_serve_refuses_to_start_on_a_bad_policy_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.cedar"
    bad.write_text('forbid (principal, action == Action::"nope.nope.nope", resource);')
    config = tmp_path / "gateway.yaml"
    default = Path("gateway/defaults/gateway.yaml").read_text()
    config.write_text(default.replace("${LASTMILE_POLICIES:-builtin:warehouse.cedar}", str(bad)))

    assert main(["serve", "--config", str(config), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "nope.nope.nope" in err


async def test_decisions_are_logged_for_calibration(
    guarded: Guarded, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    await guarded.invoke(WRITE, movement(), REPLENISH)  # no end user: the shadow policy fires

    [line] = [entry for entry in log_lines() if entry.get("event") == "call"]
    assert line["decision"] == "allow"
    assert line["shadow_decision"] == "deny"
    assert "shadow:name-the-user" in line["policy_ids"]
