"""Error locations in the names the schema advertises, through nested models, lists and
unions, whichever names the input used."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.stages.wire_names import wire_location, wire_names


class Wire(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, extra="forbid")


class Line(Wire):
    item: str = Field(alias="MATNR")
    quantity: Annotated[int, Field(gt=0)] = Field(alias="MENGE")


class Card(Wire):
    kind: Literal["card"] = Field(alias="KIND")
    number: Annotated[str, Field(max_length=4)] = Field(alias="CARDNO")


class Transfer(Wire):
    kind: Literal["transfer"] = Field(alias="KIND")
    iban: str = Field(alias="IBAN")


class Order(Wire):
    external_key: str = Field(alias="EXTKEY")
    lines: list[Line] = Field(alias="ITEMS")
    payment: Card | Transfer | None = Field(default=None, alias="PAYMENT")


def _locations(data: object) -> list[tuple[int | str, ...]]:
    with pytest.raises(ValidationError) as caught:
        Order.model_validate(data)
    return [wire_location(Order, tuple(e["loc"])) for e in caught.value.errors()]


def test_python_names_in_the_input_are_reported_by_alias() -> None:
    assert _locations({"external_key": 1, "lines": []}) == [("EXTKEY",)]


def test_nested_models_and_list_items_are_followed() -> None:
    data = {"EXTKEY": "k", "lines": [{"item": "A", "quantity": 0}]}
    assert _locations(data) == [("ITEMS", 0, "MENGE")]


def test_union_members_are_followed_under_the_name_pydantic_gives_them() -> None:
    data = {"EXTKEY": "k", "ITEMS": [], "payment": {"kind": "card", "number": "12345"}}
    assert ("PAYMENT", "Card", "CARDNO") in _locations(data)


def test_the_allowed_fields_are_the_aliases() -> None:
    assert wire_names(Order) == ["EXTKEY", "ITEMS", "PAYMENT"]
