"""XML safety and error translation of the SOAP adapter, on real attack payloads."""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal

import pytest
from lxml import etree
from zeep.exceptions import Fault

from adapters.soap_faults import business_errors, fault_error
from adapters.soap_xml import parse_untrusted, to_plain, zeep_settings
from sandbox.acme_finance import SOAP11, SOAP12
from sandbox.acme_finance_hostile import hostile_body
from schemas.errors import BackendRejected, ContractViolation


def test_every_forbid_setting_is_explicit() -> None:
    settings = zeep_settings(forbid_external=True)
    assert settings.forbid_dtd is True
    assert settings.forbid_entities is True
    assert settings.forbid_external is True
    assert settings.xml_huge_tree is False
    assert settings.strict is True


@pytest.mark.parametrize("version", [SOAP11, SOAP12])
@pytest.mark.parametrize("mode", ["xxe", "billion_laughs"])
def test_doctype_payloads_are_refused_before_parsing(version: str, mode: str) -> None:
    with pytest.raises(ContractViolation, match="DOCTYPE"):
        parse_untrusted(hostile_body(mode, version, "ZFI_CUSTOMER_GET", 0))


def test_a_doctype_behind_comments_and_a_bom_is_still_found() -> None:
    body = hostile_body("xxe", SOAP11, "ZFI_CUSTOMER_GET", 0)
    declaration, rest = body.split(b"\n", 1)
    sneaky = b"\xef\xbb\xbf" + declaration + b"\n<!-- hello -->\n<?pi x?>" + rest
    with pytest.raises(ContractViolation, match="DOCTYPE"):
        parse_untrusted(sneaky)


def test_a_doctype_in_utf16_is_caught_after_parsing_without_expanding() -> None:
    body = hostile_body("billion_laughs", SOAP11, "ZFI_CUSTOMER_GET", 0)
    utf16 = body.replace(b'encoding="utf-8"', b'encoding="utf-16"').decode().encode("utf-16")
    with pytest.raises(ContractViolation):
        parse_untrusted(utf16)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty body"),
        (b"<soap:Envelope", "malformed XML"),
        (hostile_body("malformed", SOAP11, "ZFI_CUSTOMER_GET", 0), "malformed XML"),
    ],
)
def test_broken_replies_are_contract_violations(raw: bytes, message: str) -> None:
    with pytest.raises(ContractViolation, match=message):
        parse_untrusted(raw)


def test_well_formed_replies_parse() -> None:
    root = parse_untrusted(hostile_body("huge", SOAP11, "ZFI_CUSTOMER_GET", 10))
    assert etree.QName(root).localname == "Envelope"


def test_to_plain_leaves_no_foreign_objects() -> None:
    element = etree.fromstring(b"<any>text <b>bold</b></any>")
    value = OrderedDict(a=[Decimal("1.50"), b"raw"], b=element, c=(1, None))
    assert to_plain(value) == {"a": [Decimal("1.50"), "raw"], "b": "text bold", "c": [1, None]}


@pytest.mark.parametrize(
    ("code", "subcodes", "shown", "retryable"),
    [
        ("soap:Server", None, "Server", True),
        ("SOAP-ENV:Server.Busy", None, "Server.Busy", True),
        ("{http://www.w3.org/2003/05/soap-envelope}Receiver", None, "Receiver", True),
        ("soap:Client", None, "Client", False),
        ("env:Sender", [etree.QName("urn:x", "Invalid")], "Sender/Invalid", False),
        ("soap:MustUnderstand", None, "MustUnderstand", False),
        (None, None, "Server", True),
    ],
)
def test_fault_codes_decide_retryability(
    code: str | None, subcodes: list[etree.QName] | None, shown: str, retryable: bool
) -> None:
    error = fault_error(Fault("Work processes\nexhausted", code=code, subcodes=subcodes), "1.1")
    assert error.fault_code == shown
    assert error.retryable is retryable
    assert "Work processes exhausted" in error.detail  # line break folded


@pytest.mark.parametrize(
    "table",
    [
        {"item": [{"TYPE": "S", "MESSAGE": "ok"}, {"TYPE": "E", "MESSAGE": "No\x07 way"}]},
        [{"TYPE": "A", "MESSAGE": "No way"}],
        {"TYPE": "E", "ID": "F5", "NUMBER": "201", "MESSAGE": "No way"},
    ],
)
def test_error_rows_in_return_are_rejections(table: object) -> None:
    with pytest.raises(BackendRejected, match=r"rejected the request: No way$"):
        business_errors({"RETURN": table})


@pytest.mark.parametrize(
    "reply",
    [
        {"RETURN": {"item": [{"TYPE": "S", "MESSAGE": "ok"}, {"TYPE": "W", "MESSAGE": "hm"}]}},
        {"RETURN": None},
        {"OTHER": 1},
        "not a mapping",
    ],
)
def test_success_warning_and_missing_return_tables_pass(reply: object) -> None:
    business_errors(reply)
