"""What the real corpus does not exercise, on a small WSDL of our own (``wsdl/orders.wsdl``):
xs:choice, a chameleon xs:include beside an xs:import, odd XSD names, abstract types with
subtypes, simple content with attributes, lists, int enumerations, nillable and xs:any.
Peers drop choices and enumerations (WSO2) or refuse imports (Azure API Management).
"""

from __future__ import annotations

import inspect
import json
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.codegen.emit_adapter import classify, resource_name
from adapters.codegen.naming import class_name, field_name
from adapters.codegen.pytypes import translate_pattern
from schemas.common import Effect, Risk
from tests.adapters.codegen.conftest import Generated

LINE = {"Item": "A-1", "Quantity": "2.5"}
ORDER = {
    "OrderNo": "SO-000123",
    "status": "open",
    "Total": {"_value_1": "10.00", "currency": "EUR"},
    "Line": [LINE],
}


@pytest.fixture
def orders(generated: Generated) -> ModuleType:
    return generated.models("gen_orders")


def _check(model: Any, data: dict[str, Any]) -> Any:
    return model.model_validate_json(json.dumps(data), strict=True)


def test_choice_allows_exactly_one_branch(orders: ModuleType) -> None:
    assert _check(orders.GetOrder, {"OrderNo": "SO-000001"}).order_no == "SO-000001"
    by_customer = _check(orders.GetOrder, {"Customer": "C100", "PurchaseOrder": "PO-9"})
    assert by_customer.purchase_order == "PO-9"
    # named as the schema names them, not by their Python names (order_no)
    with pytest.raises(ValidationError, match=r"one of the choice \(OrderNo \| Customer\+Purch"):
        _check(orders.GetOrder, {"OrderNo": "SO-000001", "Customer": "C100"})
    with pytest.raises(ValidationError, match="give one of the choice"):
        _check(orders.GetOrder, {})


def test_optional_choice_allows_none_but_not_two(orders: ModuleType) -> None:
    payment = {"Amount": {"_value_1": "5.00", "currency": "EUR"}, "currency": "EUR"}
    assert _check(orders.Payment, payment).iban is None
    assert _check(orders.Payment, {**payment, "Card": "4111"}).card == "4111"
    with pytest.raises(ValidationError, match="only one"):
        _check(orders.Payment, {**payment, "Card": "4111", "Iban": "DE00"})


def test_included_and_imported_types_keep_their_restrictions(orders: ModuleType) -> None:
    assert _check(orders.Order, ORDER).total.currency == "EUR"
    for broken, message in [
        ({**ORDER, "OrderNo": "SO-12"}, "should match pattern"),  # included pattern
        ({**ORDER, "status": "lost"}, "'open', 'shipped' or '_blank_'"),  # included enum
        ({**ORDER, "Total": {"_value_1": "1.001", "currency": "EUR"}}, "2 decimal places"),
        ({**ORDER, "Total": {"_value_1": "1.00", "currency": "eur"}}, "should match pattern"),
        ({**ORDER, "Line": []}, "at least 1 item"),  # minOccurs=1
        ({**ORDER, "Line": [LINE] * 51}, "at most 50 items"),  # maxOccurs=50
        ({**ORDER, "Line": [{"Item": "A", "Quantity": "0"}]}, "greater than 0"),
        ({**ORDER, "Priority": 3}, "1 or 2"),  # int enumeration
    ]:
        with pytest.raises(ValidationError, match=message):
            _check(orders.Order, broken)


def test_odd_xsd_names_become_valid_unique_fields_with_the_xsd_name_as_alias(
    orders: ModuleType,
) -> None:
    odd = {"class": "A", "model_config": "B", "_2ndAddress": "C", "e-mail": "D", "Status": "E"}
    order = _check(orders.Order, {**ORDER, **odd})
    assert (order.class_, order.xsd_model_config, order.f_2_nd_address) == ("A", "B", "C")
    assert (order.e_mail, order.status, order.status2) == ("D", "open", "E")
    dumped = order.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert {**ORDER, **odd} == dumped  # the XSD names go back to the backend
    assert orders.OrderStatus.__args__ == ("open", "shipped", "_blank_")  # `order.status`


def test_abstract_type_accepts_its_subtypes_only(orders: ModuleType) -> None:
    person = _check(orders.Order, {**ORDER, "Party": {"Name": "Ada", "BirthDate": "1815-12-10"}})
    assert type(person.party) is orders.Person
    company = _check(orders.Order, {**ORDER, "Party": {"Name": "ACME", "VatId": "DE1"}})
    assert type(company.party) is orders.Company
    assert issubclass(orders.Company, orders.Party)
    assert "Abstract in the schema" in (orders.Party.__doc__ or "")


def test_nillable_required_element_takes_null_but_not_absence(orders: ModuleType) -> None:
    assert _check(orders.GetOrderResponse, {"Order": None}).order is None
    with pytest.raises(ValidationError, match="Field required"):
        _check(orders.GetOrderResponse, {})


def test_documentation_becomes_descriptions(orders: ModuleType) -> None:
    schema = orders.GetOrder.model_json_schema()
    assert schema["description"] == "Which order to read."
    assert schema["properties"]["OrderNo"]["description"] == "The order number, e.g. SO-000123."
    assert orders.Order.__doc__ == "A sales order. Lines are kept in entry order."


def test_personal_data_is_marked_sensitive_by_name_for_the_engineer_to_confirm(
    orders: ModuleType,
) -> None:
    properties = orders.Order.model_json_schema()["properties"]
    assert properties["e-mail"]["x-sensitive"] == "personal_contact"
    assert "x-sensitive" not in properties["status"]


def test_xs_any_is_a_field_of_its_own_and_every_model_stays_closed(orders: ModuleType) -> None:
    extension = {"_value_1": {"Colour": "red"}}  # zeep's name for xs:any content
    assert _check(orders.Order, {**ORDER, **extension}).any_content == {"Colour": "red"}
    for model, data in [(orders.Order, ORDER), (orders.OrderLine, LINE)]:
        with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
            _check(model, {**data, "Colour": "red"})


def test_generated_operations_carry_documentation_and_guesses(generated: Generated) -> None:
    adapter = generated.adapter("gen_orders")
    ops = {d.operation.name: d.operation for d in adapter.operations}
    get, post = ops["gen_orders.orders.get_order"], ops["gen_orders.orders.post_payment"]
    assert (get.effect, get.idempotent, get.risk) == (Effect.READ, True, Risk.LOW)
    assert get.description == "Read one sales order with its lines."
    assert (post.effect, post.idempotent) == (Effect.WRITE, False)
    source = inspect.getsource(adapter)
    assert source.count("# TODO confirm") == 8


async def test_handler_sends_xsd_names_and_puts_back_the_unwrapped_reply(
    generated: Generated, orders: ModuleType
) -> None:
    """zeep answers the only child of GetOrderResponse; the handler rebuilds the wrapper."""
    adapter = generated.adapter("gen_orders")
    calls: list[tuple[str, dict[str, Any]]] = []

    class RecordingClient:
        async def call(self, operation: str, /, **params: Any) -> Any:
            calls.append((operation, params))
            return {"OrderNo": "SO-000001", "status": "open"}

    payload = _check(orders.GetOrder, {"OrderNo": "SO-000001"})
    reply = await adapter.operations.handler("gen_orders.orders.get_order")(
        RecordingClient(), payload
    )
    assert calls == [("GetOrder", {"OrderNo": "SO-000001"})]
    assert reply == {"Order": {"OrderNo": "SO-000001", "status": "open"}}


@pytest.mark.parametrize(
    ("operation", "effect", "risk"),
    [
        ("GetRecIdFromKey", Effect.READ, Risk.LOW),
        ("ReadMultiple", Effect.READ, Risk.LOW),
        ("IsUpdated", Effect.READ, Risk.LOW),
        ("searchMoreWithId", Effect.READ, Risk.LOW),
        ("BAPI_SALESORDER_GETLIST", Effect.READ, Risk.LOW),
        ("BAPI_SALESORDER_CREATE", Effect.WRITE, Risk.MEDIUM),
        ("ZBAPI_SALESORDER_CREATE", Effect.WRITE, Risk.MEDIUM),
        ("Delete", Effect.WRITE, Risk.HIGH),
        ("upsertList", Effect.WRITE, Risk.MEDIUM),
        ("login", Effect.WRITE, Risk.MEDIUM),  # unknown verbs are writes: the safe default
        ("Getaway", Effect.WRITE, Risk.MEDIUM),  # a word, not the verb "get"
    ],
)
def test_read_write_heuristic(operation: str, effect: Effect, risk: Risk) -> None:
    guess = classify(operation)
    assert (Effect[guess.effect], Risk[guess.risk]) == (effect, risk)


def test_names_are_valid_identifiers() -> None:
    assert class_name("curr11.2") == "Curr11_2"
    assert class_name("ZBAPIRET_T") == "ZbapiretT"
    assert class_name("2fast") == "T2Fast"
    assert [field_name(n) for n in ("class", "json", "_blank_", "l")] == [
        "class_",
        "json_",
        "blank",
        "l_",
    ]
    assert resource_name("Customer_Port") == "customer"
    assert resource_name("NetSuitePortType") == "net_suite"


def test_xsd_patterns_are_anchored_and_xsd_specific_escapes_translated() -> None:
    assert translate_pattern(r"\d*") == r"^(?:\d*)$"
    assert translate_pattern("a$b^") == r"^(?:a\$b\^)$"  # anchors are literals in XSD
    assert translate_pattern(r"[^a]\i\c*") == r"^(?:[^a][A-Za-z_:][-A-Za-z0-9._:]*)$"
    assert translate_pattern(r"[a-z-[aeiou]]") is None  # class subtraction: reported, dropped
    assert translate_pattern(r"\p{IsBasicLatin}+") is None
