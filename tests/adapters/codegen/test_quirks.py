"""The generator's defects found on real WSDLs (issue 15), each reproduced by a minimal
fixture, ``wsdl/quirks.wsdl``: a field named like an imported type, patterns with an
escaped hyphen, SAP's sensitive field names, a required choice deep in a reply, and
output that must pass ruff wherever the package is generated."""

from __future__ import annotations

import json
import subprocess
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.codegen.sensitive import guess_sensitive
from schemas.common import Sensitive
from tests.adapters.codegen.conftest import Generated
from tests.adapters.codegen.test_corpus import _tool

PARTNER = {"KUNNR": "0000100001", "STCD1": "DE123456789", "ADDRESS": {"CITY": "Köln"}}


@pytest.fixture
def quirks(generated: Generated) -> ModuleType:
    return generated.models("gen_quirks")


def _check(model: Any, data: dict[str, Any]) -> Any:
    return model.model_validate_json(json.dumps(data), strict=True)


def test_a_field_named_like_an_imported_type_keeps_the_type(quirks: ModuleType) -> None:
    """Element ``Date`` of ``xs:date`` became ``date: date | None`` and failed to import."""
    read = _check(quirks.ZqPartnerGet, {"KUNNR": "0000100001", "Date": "2026-11-30"})
    assert read.date_.isoformat() == "2026-11-30"
    assert read.model_dump(by_alias=True, exclude_unset=True)["Date"].year == 2026


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("Plate", "DE-12", "DE12"),
        ("Guid", "0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5bd9cb469fa16570867728950e"),
    ],
)
def test_patterns_with_an_escaped_hyphen_are_enforced(
    quirks: ModuleType, generated: Generated, field: str, good: str, bad: str
) -> None:
    assert not [d for d in generated.results["gen_quirks"].dropped if "\\-" in d]
    base = {"KUNNR": "0000100001"}
    assert _check(quirks.ZqPartnerGet, {**base, field: good})
    with pytest.raises(ValidationError, match="pattern"):
        _check(quirks.ZqPartnerGet, {**base, field: bad})


def test_sap_field_names_and_documented_contact_data_are_sensitive(quirks: ModuleType) -> None:
    def category(name: str) -> str | None:
        found = [m for m in quirks.Partner.model_fields[name].metadata if isinstance(m, Sensitive)]
        return found[0].category if found else None

    assert category("stcd_1") == "tax_id"  # STCD1, documented "Tax number (VAT id)"
    assert category("smtp_addr") == category("telf_1") == "personal_contact"
    assert category("zzcontact") == "personal_contact"  # by its documentation alone
    assert category("remark") is None
    assert category("kunnr") is None


def test_the_sensitive_guess_reads_documentation_but_not_every_mention() -> None:
    assert guess_sensitive("STCEG") == "tax_id"
    assert guess_sensitive("ZZ_FIELD", "IBAN of the payee's bank account") == "bank_account"
    assert guess_sensitive("HKONT", "General ledger account") == ""
    assert guess_sensitive("NAME1", "Name 1") == ""


def test_a_required_choice_deep_in_a_reply_is_in_its_sample(generated: Generated) -> None:
    cases = json.loads((generated.root / "gen_quirks" / "contract_samples.json").read_text())
    reply = next(c for c in cases if c["model"] == "ZqPartnerGetResponse")
    location = reply["valid"]["PARTNER"]["ADDRESS"]["LOCATION"]
    assert set(location) in ({"STREET"}, {"POBOX"})
    quirks = generated.models("gen_quirks")
    assert quirks.ZqPartnerGetResponse.model_validate(reply["valid"])


def test_generated_code_passes_ruff_outside_the_clone(generated: Generated) -> None:
    """Beside the clone ruff does not know ``adapters`` as first-party; the import order
    and line lengths must hold there too (and with the project's config, test_corpus)."""
    result = subprocess.run(  # noqa: S603 - our own ruff on our own output
        [_tool("ruff"), "check", "--isolated", "--line-length", "100", "--select", "E,F,I,W",
         str(generated.root / "gen_quirks"), str(generated.root / "gen_orders")],
        cwd=generated.root,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
