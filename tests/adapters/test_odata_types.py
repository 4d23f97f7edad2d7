"""OData literals, filters and Edm values: rendered from typed values only, by the ABNF of
each protocol version, so no input can leave its literal; wire values read faithfully."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from adapters.http import HttpReply
from adapters.odata_errors import error_for
from adapters.odata_query import Query, all_of, any_of, contains, eq, gt, key_predicate, startswith
from adapters.odata_types import (
    ODataBinary,
    ODataDate,
    ODataDateTime,
    edm_decimal,
    literal,
    parse_v2_date,
    to_wire,
)
from schemas.errors import (
    BackendConflict,
    BackendError,
    BackendNotFound,
    BackendRejected,
    BackendUnavailable,
)

GUID = uuid.UUID("7b370c1a-141f-5605-9d45-f2826c0aa971")
NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "edm", "v4", "v2"),
    [
        ("it's", "Edm.String", "'it''s'", "'it''s'"),
        ("x' or 1 eq 1 or 'a", "Edm.String", "'x'' or 1 eq 1 or ''a'", "'x'' or 1 eq 1 or ''a'"),
        (True, "Edm.Boolean", "true", "true"),
        (42, "Edm.Int32", "42", "42"),
        (42, "Edm.Int64", "42", "42L"),
        (Decimal("12.50"), "Edm.Decimal", "12.50", "12.50M"),
        (GUID, "Edm.Guid", str(GUID), f"guid'{GUID}'"),
        (NOON, "Edm.DateTimeOffset", "2026-11-30T12:00:00Z",
         "datetimeoffset'2026-11-30T12:00:00Z'"),
        (NOON, "Edm.DateTime", "2026-11-30T12:00:00Z", "datetime'2026-11-30T12:00:00'"),
        (date(2026, 11, 30), "Edm.Date", "2026-11-30", "datetime'2026-11-30T00:00:00'"),
        (b"\xff\x00", "Edm.Binary", "binary'_wA='", "binary'FF00'"),
        ("Person", "AcmeSales.PartnerCategory", "AcmeSales.PartnerCategory'Person'", None),
        (None, "Edm.String", "null", "null"),
    ],
)  # fmt: skip
def test_literals_follow_each_versions_abnf(value: Any, edm: str, v4: str, v2: str | None) -> None:
    assert literal(value, edm, "4.0") == v4
    if v2 is not None:
        assert literal(value, edm, "2.0") == v2


@pytest.mark.parametrize(
    ("value", "edm"),
    [
        ("1 or 1 eq 1", "Edm.Int32"),  # text for a number is refused, never str()-ed
        (True, "Edm.Int32"),
        (Decimal("NaN"), "Edm.Decimal"),
        (1.5, "Edm.Decimal"),  # a float would lose digits
        ("not-a-guid') or true or ('", "Edm.Guid"),
        ("2026-01-01", "Edm.DateTimeOffset"),
        ("Person' or 1 eq 1 or 'x", "AcmeSales.PartnerCategory"),  # enum members are names
        ("x", "Edm.Stream"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(value: Any, edm: str) -> None:
    with pytest.raises(ValueError, match=r"expected|finite|literal|GUID|badly formed|identifier"):
        literal(value, edm, "4.0")


@pytest.mark.parametrize("name", ["Name eq 'x' or true", "Name)", "", "Na me", "A/../B", "1Name"])
def test_a_hostile_property_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        eq(name, "x")
    with pytest.raises(ValueError, match="identifier"):
        Query(select=[name]).params("4.0")
    with pytest.raises(ValueError, match="identifier"):
        Query(orderby=[(name, False)]).params("4.0")


def test_filters_render_per_version() -> None:
    tree = all_of(
        contains("Name", "O'Brien"),
        any_of(eq("Category", "Person"), gt("CreditLimit", Decimal("10"), "Edm.Decimal")),
        startswith("Address/City", "M"),
        None,
    )
    assert tree is not None
    assert tree.text("4.0") == (
        "(contains(Name,'O''Brien')) and ((Category eq 'Person') or (CreditLimit gt 10)) "
        "and (startswith(Address/City,'M'))"
    )
    assert tree.text("2.0") == (
        "(substringof('O''Brien',Name)) and ((Category eq 'Person') or (CreditLimit gt 10M)) "
        "and (startswith(Address/City,'M') eq true)"
    )
    assert all_of(None, None) is None


def test_query_options_are_built_from_names_and_numbers() -> None:
    query = Query(
        select=["Name", "Address/City"],
        expand=["Items"],
        orderby=[("Name", True)],
        top=5,
        skip=10,
        count=True,
    )
    assert query.params("4.0") == [
        ("$select", "Name,Address/City"),
        ("$expand", "Items"),
        ("$orderby", "Name desc"),
        ("$top", "5"),
        ("$skip", "10"),
        ("$count", "true"),
    ]
    assert ("$inlinecount", "allpages") in query.params("2.0")
    with pytest.raises(ValueError, match="non-negative"):
        Query(top=-1).params("4.0")


def test_key_predicates_quote_and_percent_encode() -> None:
    assert key_predicate({"ID": "4711"}, {}, "4.0") == "('4711')"
    assert key_predicate({"ID": "a/b'c d"}, {}, "4.0") == "('a%2Fb''c%20d')"
    compound = key_predicate({"SalesOrderID": "1", "ItemNo": 10}, {"ItemNo": "Edm.Int32"}, "2.0")
    assert compound == "(SalesOrderID='1',ItemNo=10)"
    with pytest.raises(ValueError, match="at least one"):
        key_predicate({}, {}, "4.0")


class Wire(BaseModel):
    at: ODataDateTime
    on: ODataDate | None = None
    blob: ODataBinary | None = None
    price: edm_decimal(15, 2)  # type: ignore[valid-type]
    weight: edm_decimal(13, "variable") | None = None  # type: ignore[valid-type]


def test_edm_values_are_read_faithfully() -> None:
    model = Wire.model_validate(
        {
            "at": "/Date(1796040000000)/",
            "on": "/Date(1796040000000)/",
            "blob": "_wA=",
            "price": "12.50",
            "weight": "4.12345",
        }
    )
    assert model.at == NOON
    assert model.on == date(2026, 11, 30)
    assert model.blob == b"\xff\x00"
    assert model.price == Decimal("12.50")
    assert model.weight == Decimal("4.12345")  # Scale=variable: any scale within Precision
    assert model.model_dump(mode="json")["blob"] == "/wA="
    assert Wire.model_validate({"at": "2026-11-30T12:00:00Z", "price": 1}).at == NOON
    with pytest.raises(ValidationError):
        Wire.model_validate({"at": NOON, "price": "12.505"})  # Scale=2
    with pytest.raises(ValidationError):
        Wire.model_validate({"at": NOON, "price": "1", "weight": "12345678901234"})  # Precision


def test_v2_dates_with_an_offset_keep_it() -> None:
    moment = parse_v2_date("/Date(1796040000000+0060)/")
    assert moment == NOON
    assert moment.utcoffset() == timedelta(minutes=60)
    assert parse_v2_date("not a date") == "not a date"
    assert parse_v2_date("/Date(-1000)/") == datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_payloads_go_out_in_wire_form() -> None:
    payload = {
        "Price": Decimal("12.50"),
        "Big": 2**60,
        "At": NOON,
        "On": date(2026, 11, 30),
        "Id": GUID,
        "Blob": b"\xff",
        "Items": [{"Quantity": Decimal("2.000")}],
        "Address": {"City": "Köln"},
    }
    v4 = to_wire(payload, "4.0", {"Big": "Edm.Int64"})
    assert v4 == {
        "Price": "12.50",
        "Big": str(2**60),
        "At": "2026-11-30T12:00:00Z",
        "On": "2026-11-30",
        "Id": str(GUID),
        "Blob": "/w==",
        "Items": [{"Quantity": "2.000"}],
        "Address": {"City": "Köln"},
    }
    v2 = to_wire(payload, "2.0")
    assert v2["At"] == "/Date(1796040000000)/"
    assert v2["On"] == "/Date(1795996800000)/"  # midnight UTC


V2_ERROR = '{"error": {"code": "X", "message": {"lang": "en", "value": "No such partner"}}}'
V4_ERROR = (
    '{"error": {"code": "SO/2", "message": "Bad order", '
    '"details": [{"message": "Item 10: no product"}]}}'
)
SAP_ERROR = (
    '{"error": {"code": "SO/2", "message": {"value": "Bad"}, '
    '"innererror": {"errordetails": [{"message": "Customer 9 unknown"}]}}}'
)


def _reply(status: int, body: str, **headers: str) -> HttpReply:
    return HttpReply(status, body.encode(), None, None, headers)


@pytest.mark.parametrize(
    ("status", "body", "error", "said"),
    [
        (404, V2_ERROR, BackendNotFound, "No such partner [X]"),
        (400, V4_ERROR, BackendRejected, "Bad order; Item 10: no product [SO/2]"),
        (400, SAP_ERROR, BackendRejected, "Bad; Customer 9 unknown [SO/2]"),
        (412, '{"error": {"code": "P", "message": "changed"}}', BackendConflict, "Read it again"),
        (428, "", BackendRejected, "If-Match"),
        (401, "<html>login</html>", BackendError, "credentials"),
        (500, "<html>boom</html>", BackendError, "HTTP 500"),
        (503, '{"error": {"code": "M", "message": "maintenance"}}', BackendUnavailable,
         "maintenance"),
    ],
)  # fmt: skip
def test_odata_error_bodies_become_stable_problems(
    status: int, body: str, error: type[BackendError], said: str
) -> None:
    found = error_for(_reply(status, body))
    assert type(found) is error
    assert said in found.detail


def test_a_backend_message_is_made_safe() -> None:
    """Control characters and line breaks go and the length is bounded (secrets are the
    job of the gateway's one scrubber, at the boundary)."""
    message = 'forged\n{"level": "x"}\u0000' + "a" * 900
    body = json.dumps({"error": {"code": "X", "message": message}})
    found = error_for(_reply(400, body))
    assert "forged" in found.detail
    assert "\n" not in found.detail
    assert "\x00" not in found.detail
    assert len(found.detail) < 600
