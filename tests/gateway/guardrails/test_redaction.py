"""Redaction of fields marked Sensitive: generic over any model (nested models, lists,
optionals), per agent scope in responses, always in the audit trail and logs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel

from gateway.app import build_app
from gateway.guardrails.redaction import Redactor
from gateway.outcomes import Refused
from gateway.pipeline import Call, CallRequest
from gateway.stages.record import audit_event
from schemas.common import Sensitive
from schemas.errors import Forbidden
from schemas.warehouse import Item
from tests.conftest import INVENTORY, REPLENISH, make_config
from tests.gateway.guardrails.conftest import Guarded


class BankAccount(BaseModel):
    iban: Annotated[str, Sensitive("bank_account")]
    bank_name: str


class Contact(BaseModel):
    name: str
    email: Annotated[str | None, Sensitive("personal_contact")] = None


class Customer(BaseModel):
    id: str
    tax_id: Annotated[str, Sensitive("tax_id")]
    accounts: list[BankAccount]
    main_contact: Contact | None = None
    contacts_by_role: dict[str, Contact] = {}


CUSTOMER = Customer(
    id="C-1",
    tax_id="DE123456789",
    accounts=[BankAccount(iban="DE89370400440532013000", bank_name="Bank")],
    main_contact=Contact(name="Ann", email="ann@example.com"),
    contacts_by_role={"billing": Contact(name="Bo", email="bo@example.com")},
)


def test_redaction_reaches_nested_models_lists_and_mappings() -> None:
    data = Redactor().redact(Customer, CUSTOMER.model_dump(mode="json"))

    assert data == {
        "id": "C-1",
        "tax_id": "[redacted:tax_id]",
        "accounts": [{"iban": "[redacted:bank_account]", "bank_name": "Bank"}],
        "main_contact": {"name": "Ann", "email": "[redacted:personal_contact]"},
        "contacts_by_role": {"billing": {"name": "Bo", "email": "[redacted:personal_contact]"}},
    }


def test_scopes_reveal_only_their_categories_and_drop_mode_removes() -> None:
    data = Redactor("drop").redact(
        Customer, CUSTOMER.model_dump(mode="json"), frozenset({"bank_account"})
    )

    assert "tax_id" not in data
    assert data["accounts"][0]["iban"] == "DE89370400440532013000"
    assert data["main_contact"] == {"name": "Ann"}
    assert Redactor().categories(Customer) == {"tax_id", "bank_account", "personal_contact"}


def test_the_audit_event_holds_no_sensitive_input_but_its_hash() -> None:
    call = Call(
        CallRequest(
            request_id="req_1",
            protocol="rest",
            operation_name="finance.customers.create",
            input_source=None,  # type: ignore[arg-type]
        )
    )
    call.input = CUSTOMER
    call.input_sha256 = "ab" * 32

    event = audit_event(call, Refused(Forbidden("no")), Redactor())

    assert event.input is not None
    assert event.input["tax_id"] == "[redacted:tax_id]"
    assert "DE89370400440532013000" not in event.model_dump_json()
    assert event.input_sha256 == "ab" * 32


async def test_agent_without_scope_sees_the_field_masked(
    guarded: Guarded, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    response = await guarded.invoke("warehouse.items.get", {"material": "100234"}, INVENTORY)

    assert response.status == 200
    item = (await response.json())["output"]
    assert item["responsible_buyer"] == "[redacted:personal_contact]"
    assert item["description"] == "Hex bolt M8x40 zinc plated"
    assert "jonas.weber" not in json.dumps(log_lines())
    [event] = await guarded.audit(request_id=response.headers["X-Request-Id"])
    assert "jonas.weber" not in event.model_dump_json()


async def test_agent_with_scope_sees_the_field(wms: TestServer, tmp_path: Path) -> None:
    config = make_config(str(wms.make_url("/")).rstrip("/"), tmp_path / "audit.sqlite")
    agents = [
        a.model_copy(update={"may_see": ["personal_contact"]}) if a.id == "replenishment-bot" else a
        for a in config.agents
    ]
    app = build_app(config.model_copy(update={"agents": agents}))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        for key, expected in (
            (REPLENISH, "jonas.weber@acme.example"),
            (INVENTORY, "[redacted:personal_contact]"),
        ):
            answer = await client.post(
                "/v1/operations/warehouse.items.get",
                json={"material": "100234"},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert (await answer.json())["output"]["responsible_buyer"] == expected


def test_the_catalog_marks_the_field_sensitive() -> None:
    schema = Item.model_json_schema(mode="serialization")
    assert schema["properties"]["responsible_buyer"]["x-sensitive"] == "personal_contact"
