"""Schema vocabulary that agents and tooling rely on."""

from __future__ import annotations

from typing import Annotated

from schemas.common import CanonicalModel, Sensitive


class Contact(CanonicalModel):
    name: str
    email: Annotated[str, Sensitive("personal_contact")]


def test_sensitive_fields_are_marked_in_the_json_schema() -> None:
    properties = Contact.model_json_schema()["properties"]
    assert properties["email"]["x-sensitive"] == "personal_contact"
    assert "x-sensitive" not in properties["name"]


def test_sensitive_marker_does_not_change_validation() -> None:
    assert Contact(name="A", email="a@example.com").email == "a@example.com"
