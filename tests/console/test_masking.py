"""The approvals inbox masks input fields of categories the approver may not see
(``staff[].may_see``, like an agent's), and says why; other fields show as sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.config import StaffConfig, StaffRole
from gateway.identity import hash_key
from tests.conftest import APPROVER, REPLENISH, TEST_CONFIG, make_config
from tests.console.conftest import post_sign_in
from tests.gateway.guardrails.conftest import GUARDRAILS, POLICIES

CONTACT_READER = "lm_test_console_contact_reader_4f1e"
BACKEND = (
    "  payees:\n    kind: rest\n    adapter: tests.console.payee_ops\n    base_url: ${WMS_URL}\n"
)
HOLD = """
@id("payee-write")
@reason("Finance agents may change payees.")
permit (principal, action == Action::"payee.bank_account.change", resource);

@id("payee-needs-approval")
@decision("approval_required")
@reason("Bank details change only with a person's approval.")
forbid (principal, action == Action::"payee.bank_account.change", resource);
"""
CHANGE = {"payee": "Müller GmbH", "iban": "DE89370400440532013000", "contact": "a@b.example"}


@pytest.fixture
async def gateway(wms: TestServer, tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    policy_file = tmp_path / "policies.cedar"
    policy_file.write_text(POLICIES + HOLD)
    text = (TEST_CONFIG + GUARDRAILS).replace("backends:\n", "backends:\n" + BACKEND, 1)
    text = text.replace('operations: ["warehouse.*"]', 'operations: ["warehouse.*", "payee.*"]')
    text = text.replace("${POLICY_FILE}", str(policy_file))
    text = text.replace("${APPROVALS_DB}", str(tmp_path / "approvals.sqlite"))
    config = make_config(str(wms.make_url("/")).rstrip("/"), tmp_path / "audit.sqlite", text)
    reader = StaffConfig(
        id="carla.contacts",
        key_sha256=hash_key(CONTACT_READER),
        roles=[StaffRole.APPROVER],
        may_see=["personal_contact"],
    )
    config = config.model_copy(update={"staff": [*config.staff, reader]})
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(config), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


async def held(client: TestClient[Any, Any]) -> str:
    response = await client.post(
        "/v1/operations/payee.bank_account.change",
        json=CHANGE,
        headers={"Authorization": f"Bearer {REPLENISH}"},
    )
    assert response.status == 202, await response.text()
    return str((await response.json())["approval_id"])


def cell(html: str, field: str) -> str:
    return html.split(f'<th scope="row">{field}</th>')[1].split("</tr>")[0]


async def test_an_approver_without_may_see_gets_sensitive_fields_masked_with_the_reason(
    gateway: TestClient[Any, Any],
) -> None:
    approval_id = await held(gateway)
    assert (await post_sign_in(gateway, "/console/sign-in", APPROVER)).status == 303

    inbox = await (await gateway.get("/console/approvals")).text()
    detail = await (await gateway.get(f"/console/approvals/{approval_id}")).text()

    for html in (inbox, detail):
        assert "DE89370400440532013000" not in html
        assert "a@b.example" not in html
        assert "[redacted:bank_account]" in cell(html, "iban")
        assert "your may_see does not include &#39;bank_account&#39;" in cell(html, "iban")
        assert "[redacted:personal_contact]" in cell(html, "contact")
        assert "Müller GmbH" in cell(html, "payee")
        assert "masked" not in cell(html, "payee")
        withheld = html.split('class="masked effects-withheld">')[1].split("</p>")[0]
        assert "bank_account, personal_contact" in withheld


async def test_an_approver_sees_the_categories_of_their_may_see(
    gateway: TestClient[Any, Any],
) -> None:
    approval_id = await held(gateway)
    assert (await post_sign_in(gateway, "/console/sign-in", CONTACT_READER)).status == 303

    detail = await (await gateway.get(f"/console/approvals/{approval_id}")).text()

    assert "a@b.example" in cell(detail, "contact")
    assert "masked" not in cell(detail, "contact")
    assert "[redacted:bank_account]" in cell(detail, "iban")
    assert "DE89370400440532013000" not in detail
    withheld = detail.split('class="masked effects-withheld">')[1].split("</p>")[0]
    assert "(bank_account)" in withheld


async def api_view(client: TestClient[Any, Any], path: str, key: str) -> Any:
    response = await client.get(path, headers={"Authorization": f"Bearer {key}"})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_the_approvals_api_masks_input_and_preview_as_the_console_does(
    gateway: TestClient[Any, Any],
) -> None:
    approval_id = await held(gateway)

    one = await api_view(gateway, f"/v1/approvals/{approval_id}", APPROVER)
    listed = (await api_view(gateway, "/v1/approvals?status=pending", APPROVER))["approvals"]

    for body in (one, next(a for a in listed if a["id"] == approval_id)):
        text = str(body)
        assert "DE89370400440532013000" not in text
        assert "a@b.example" not in text
        assert body["input"] == {
            "payee": "Müller GmbH",
            "iban": "[redacted:bank_account]",
            "contact": "[redacted:personal_contact]",
        }
        reasons = {m["field"]: m["reason"] for m in body["masked"]}
        assert reasons == {
            "iban": "sensitive (bank_account); your may_see does not include 'bank_account'",
            "contact": "sensitive (personal_contact); your may_see does not include "
            "'personal_contact'",
        }
        preview = body["preview"]
        assert "bank_account, personal_contact" in preview["withheld"]
        assert preview["backend_request"] is None
        assert preview["before"] is None
        assert preview["after"] is None


async def test_the_api_and_the_console_give_one_person_the_same_reasons(
    gateway: TestClient[Any, Any],
) -> None:
    approval_id = await held(gateway)
    body = await api_view(gateway, f"/v1/approvals/{approval_id}", CONTACT_READER)
    assert (await post_sign_in(gateway, "/console/sign-in", CONTACT_READER)).status == 303
    detail = await (await gateway.get(f"/console/approvals/{approval_id}")).text()

    assert body["input"]["contact"] == "a@b.example"
    assert [m["field"] for m in body["masked"]] == ["iban"]
    assert body["masked"][0]["reason"] in unescape(cell(detail, "iban"))
    withheld = detail.split('class="masked effects-withheld">')[1].split("</p>")[0]
    assert body["preview"]["withheld"] in unescape(withheld)


async def test_the_agent_polling_its_own_call_gets_its_input_as_sent(
    gateway: TestClient[Any, Any],
) -> None:
    approval_id = await held(gateway)

    body = await api_view(gateway, f"/v1/approvals/{approval_id}", REPLENISH)

    assert body["input"] == CHANGE
    assert "preview" not in body
