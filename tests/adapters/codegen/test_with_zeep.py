"""The generated adapters against the real SOAP client: zeep accepts what the handlers send,
and what zeep answers comes back through the handlers valid for the output models.

For every contract sample of an operation: the input model's XSD-named dump must make a
SOAP message with ``zeep.Client.create_message``; the output sample, serialised by zeep
into a reply envelope and deserialised as zeep does for a live call (including its
unwrapping of single-child replies), must pass the generated handler and validate as the
same output model. Samples that put a subtype in an abstract type's place (NetSuite's
``BaseRef``) are left out: zeep can only send those with an ``xsi:type`` that a plain mapping
does not carry (see docs/codegen.md, limitations).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import zeep
from zeep.helpers import serialize_object

from tests.adapters.codegen.conftest import FIXTURES, Generated, corpus_wsdls

SETTINGS = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
PACKAGES = {**corpus_wsdls(), "gen_orders": FIXTURES / "orders.wsdl"}


class ReplayingClient:
    """A SoapClient that answers what zeep made of a reply, as a live call would."""

    def __init__(self, reply: Any) -> None:
        self.reply = reply

    async def call(self, operation: str, /, **params: Any) -> Any:
        return self.reply


def _present(value: Any) -> Any:
    """Only what is there: zeep reads absent optional elements back as None or []."""
    if isinstance(value, dict):
        return {k: _present(v) for k, v in value.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_present(v) for v in value]
    return value


def _cases(generated: Generated, package: str) -> list[dict[str, Any]]:
    path = generated.root / package / "contract_samples.json"
    cases: list[dict[str, Any]] = json.loads(path.read_text())
    return cases


@pytest.mark.parametrize("package", sorted(PACKAGES))
async def test_zeep_sends_and_answers_what_the_models_describe(
    generated: Generated, package: str
) -> None:
    client = zeep.Client(str(PACKAGES[package]), settings=SETTINGS)
    binding = client.service._binding
    models = generated.models(package)
    declared = {d.operation.output_model.__name__: d for d in generated.adapter(package).operations}
    cases = _cases(generated, package)
    for case in cases:
        if case["polymorphic"]:
            continue
        model = getattr(models, case["model"])
        value = model.model_validate_json(json.dumps(case["valid"]), strict=True)
        params = value.model_dump(by_alias=True, exclude_unset=True)
        if case["role"] == "input":
            message = client.create_message(client.service, case["operation"], **params)
            assert message.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"
            continue
        output = binding.get(case["operation"]).output
        reply = serialize_object(output.deserialize(output.serialize(**params).content), dict)
        op = declared[case["model"]]
        payload = op.operation.input_model.model_construct()  # the reply is replayed
        answer = await op.handler(ReplayingClient(reply), payload)
        parsed = model.model_validate(answer, strict=False)
        assert _present(parsed.model_dump(mode="json")) == _present(value.model_dump(mode="json"))
    polymorphic = sum(case["polymorphic"] for case in cases)
    assert len(cases) - polymorphic > 0, "no sample went through zeep"
    assert polymorphic <= len(cases) // 5, "most samples must go through zeep"
