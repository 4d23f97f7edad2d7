"""What a person sees of a held call (the one view the console and the approvals API
share): masked input leaves with their reasons, a nested value masked as a whole, the
result masked too, the preview withheld, and an operation gone from the catalog."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Annotated, Any

from pydantic import BaseModel

from adapters.base import Operation
from gateway.guardrails.approval_store import HeldCall
from gateway.guardrails.held_view import held_view
from schemas.common import Effect, Risk, Sensitive


class Address(BaseModel):
    street: str
    city: str


class ChangeIn(BaseModel):
    payee: str
    iban: Annotated[str, Sensitive("bank_account")]
    home: Annotated[Address, Sensitive("personal_contact")]
    tags: list[str] = []


class ChangeOut(BaseModel):
    payee: str
    iban: Annotated[str, Sensitive("bank_account")]


CHANGE = Operation(
    "payee.change", "", ChangeIn, ChangeOut, Effect.WRITE, False, Risk.HIGH, "finance", "erp"
)
INPUT = {
    "payee": "Müller GmbH",
    "iban": "DE89370400440532013000",
    "home": {"street": "Hauptstr. 1", "city": "Köln"},
    "tags": ["urgent"],
}
PREVIEW = {
    "budgets": [{"budget": "changes", "used": "1", "amount": "1", "limit": "5"}],
    "backend": "erp",
    "backend_request": {"path": "/payees/1", "body": {"IBAN": "DE89370400440532013000"}},
    "before": {"IBAN": "DE00"},
    "after": {"IBAN": "DE89370400440532013000"},
    "note": None,
}


def held(**changes: Any) -> HeldCall:
    base = HeldCall(
        "apr_1", "executed", 0.0, 60.0, "req_1", "bot", "lea", "payee.change",
        json.dumps(INPUT), "0" * 64, preview=PREVIEW,
        result={"payee": "Müller GmbH", "iban": "DE89370400440532013000"},
    )  # fmt: skip
    return replace(base, **changes)


def test_each_masked_leaf_says_why_and_a_nested_value_masked_whole_names_its_category() -> None:
    view = held_view(held(), CHANGE, frozenset())

    assert view.input == {
        "payee": "Müller GmbH",
        "iban": "[redacted:bank_account]",
        "home": "[redacted:personal_contact]",
        "tags": ["urgent"],
    }
    rows = {f.name: (f.value, f.hidden) for f in view.fields}
    assert rows["payee"] == ("Müller GmbH", None)
    assert rows["tags[0]"] == ("urgent", None)
    assert rows["iban"][0] == "[redacted:bank_account]"
    for leaf in ("home.street", "home.city"):
        assert rows[leaf] == (
            "[redacted:personal_contact]",
            "sensitive (personal_contact); your may_see does not include 'personal_contact'",
        )
    assert view.result == {"payee": "Müller GmbH", "iban": "[redacted:bank_account]"}
    assert view.preview is not None
    assert view.preview.withheld is not None
    assert "bank_account, personal_contact" in view.preview.withheld
    assert view.preview.backend_request is None
    assert view.preview.budgets == PREVIEW["budgets"]
    assert "DE89370400440532013000" not in json.dumps(view.as_json())


def test_a_person_who_may_see_every_category_sees_all_and_the_preview() -> None:
    view = held_view(held(), CHANGE, frozenset({"bank_account", "personal_contact"}))

    assert view.input == INPUT
    assert all(f.hidden is None for f in view.fields)
    assert view.as_json()["masked"] == []
    assert view.preview is not None
    assert view.preview.backend_request == PREVIEW["backend_request"]
    assert view.preview.changes() == [("IBAN", "DE00", "DE89370400440532013000", True)]


def test_an_operation_gone_from_the_catalog_shows_no_value() -> None:
    view = held_view(held(), None, frozenset({"bank_account", "personal_contact"}))

    assert {f.value for f in view.fields} == {"[masked]"}
    assert "Müller" not in json.dumps(view.as_json())
    assert view.preview is not None
    assert view.preview.withheld is not None


def test_a_call_held_before_previews_has_none() -> None:
    assert held_view(held(preview=None), CHANGE, frozenset()).preview is None
