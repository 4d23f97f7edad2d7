"""Identifiers are checked in full and people compared on normalised names."""

from __future__ import annotations

import pytest

from schemas.patterns import END_USER, IDEMPOTENCY_KEY, is_valid, same_person


@pytest.mark.parametrize("value", ["lea\n", "lea\r\n", " lea", "lea fischer", "", "x" * 201, 7])
def test_end_users_with_any_extra_character_are_invalid(value: object) -> None:
    assert not is_valid(END_USER, value)


def test_end_users_and_keys_that_fit_are_valid() -> None:
    assert is_valid(END_USER, "lea.fischer@acme.example")
    assert is_valid(IDEMPOTENCY_KEY, "4f1c-9a")
    assert not is_valid(IDEMPOTENCY_KEY, "4f1c-9a\n")
    assert not is_valid(IDEMPOTENCY_KEY, "k" * 256)


@pytest.mark.parametrize(
    ("user", "staff_id"),
    [
        ("maria.schmidt", "maria.schmidt"),
        ("Maria.Schmidt@acme.example", "maria.schmidt"),
        ("MARIA.SCHMIDT", "maria.schmidt@acme.example"),
        ("ｍａｒｉａ.schmidt", "maria.schmidt"),  # full-width letters normalise (NFKC)
        (" maria.schmidt ", "maria.schmidt"),
    ],
)
def test_the_same_person_is_recognised_however_the_name_is_written(
    user: str, staff_id: str
) -> None:
    assert same_person(user, staff_id)


def test_different_people_and_empty_names_are_not_the_same() -> None:
    assert not same_person("maria.schmidt2", "maria.schmidt")
    assert not same_person("", "")
