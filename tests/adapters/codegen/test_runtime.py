"""The helpers generated adapters call at run time."""

from __future__ import annotations

import pytest

from adapters.codegen.runtime import reply_mapping
from schemas.errors import ContractViolation


def test_reply_mapping_puts_back_the_wrapper_zeep_removed() -> None:
    assert reply_mapping({"No": "1"}, ("Customer",)) == {"Customer": {"No": "1"}}
    assert reply_mapping(None, ("Customer",)) == {"Customer": None}
    assert reply_mapping(True, ("IsUpdated_Result",)) == {"IsUpdated_Result": True}
    customers = [{"No": "1"}, {"No": "2"}]
    path = ("Customer_List", "Customer")
    assert reply_mapping(customers, path) == {"Customer_List": {"Customer": customers}}
    assert reply_mapping(None, path) == {"Customer_List": None}


def test_reply_mapping_takes_the_body_of_an_envelope() -> None:
    reply = {"header": {"documentInfo": {}}, "body": {"writeResponse": {"status": {}}}}
    assert reply_mapping(reply, envelope=True) == {"writeResponse": {"status": {}}}
    assert reply_mapping({"header": None, "body": None}, envelope=True) == {}


def test_reply_mapping_passes_records_and_rejects_bare_values() -> None:
    assert reply_mapping({"a": 1}) == {"a": 1}
    assert reply_mapping(None) == {}
    with pytest.raises(ContractViolation, match="reply body is a str"):
        reply_mapping("surprise")
