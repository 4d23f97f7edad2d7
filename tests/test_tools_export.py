"""``lastmile tools export``: each vendor format, filtered to what the agent may call, checked
with the vendors' own SDK types and strict-schema helpers, not only our own reading."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import anthropic
import pytest
from agents.strict_schema import ensure_strict_json_schema
from anthropic.types import ToolParam
from jsonschema import Draft202012Validator
from openai.lib._pydantic import _ensure_strict_json_schema
from openai.types.chat import ChatCompletionFunctionToolParam
from openai.types.responses import FunctionToolParam
from pydantic import TypeAdapter

from gateway.api.strict_schema import STRUCTURAL
from gateway.cli import main
from schemas.patterns import TOOL_NAME, is_valid
from tests.conftest import TEST_CONFIG

READS = ["warehouse_items_get", "warehouse_stock_get"]
ALL = ["warehouse_goods_movements_create", *READS]
SUPPORT_TOOLS = [
    "finance_credit_notes_create",
    "finance_customers_get",
    "finance_customers_search",
    "finance_invoices_get",
    "finance_invoices_list",
]
MOVEMENT = {
    "material": "100234",
    "plant": "1000",
    "kind": "receipt",
    "quantity": "5",
    "posting_date": "2026-11-20",
}


def export(capsys: pytest.CaptureFixture[str], agent: str, fmt: str) -> Any:
    assert main(["tools", "export", "--agent", agent, "--format", fmt]) == 0
    return json.loads(capsys.readouterr().out)


def exactly(param_type: Any, value: Any) -> None:
    """``value`` validates as the SDK's TypedDict and has no key the type does not know
    (pydantic drops unknown keys of a TypedDict, so a lossless round trip proves that)."""
    assert TypeAdapter(param_type).validate_python(value) == value


def strict_subset_problems(schema: Any, path: str = "") -> list[str]:
    """Where ``schema`` leaves OpenAI's strict subset, read the way the API documents it."""
    if not isinstance(schema, dict):
        return []
    problems = [f"{path}: {key}" for key in schema if key not in {*STRUCTURAL, "description"}]
    if schema.get("type") == "object":
        if schema.get("additionalProperties") is not False:
            problems.append(f"{path}: additionalProperties is not false")
        if sorted(schema.get("required", [])) != sorted(schema.get("properties", {})):
            problems.append(f"{path}: not every property is required")
    for name, child in schema.get("properties", {}).items():
        problems += strict_subset_problems(child, f"{path}.{name}")
    for index, child in enumerate(schema.get("anyOf", [])):
        problems += strict_subset_problems(child, f"{path}|{index}")
    return problems + strict_subset_problems(schema.get("items"), f"{path}[]")


@pytest.mark.parametrize("agent", ["replenishment-bot", "support-bot"])
def test_openai_tools_are_strict_by_the_sdk_types_and_its_strict_helper(
    capsys: pytest.CaptureFixture[str], agent: str
) -> None:
    tools = export(capsys, agent, "openai")
    assert [t["function"]["name"] for t in tools] == (
        sorted(ALL) if agent == "replenishment-bot" else SUPPORT_TOOLS
    )
    for tool in tools:
        exactly(ChatCompletionFunctionToolParam, tool)
        function = tool["function"]
        assert is_valid(TOOL_NAME, function["name"])
        assert function["strict"] is True
        parameters = function["parameters"]
        assert strict_subset_problems(parameters) == [], function["name"]
        mine = copy.deepcopy(parameters)
        assert _ensure_strict_json_schema(mine, path=(), root=mine) == parameters
        assert ensure_strict_json_schema(copy.deepcopy(parameters)) == parameters
        Draft202012Validator.check_schema(parameters)


def test_an_optional_field_is_required_nullable_and_keeps_its_rules_in_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tools = {t["function"]["name"]: t["function"] for t in export(capsys, "support-bot", "openai")}
    search = tools["finance_customers_search"]["parameters"]
    assert search["required"] == ["name", "country", "limit"]
    assert search["properties"]["limit"]["type"] == ["integer", "null"]
    limit_words = search["properties"]["limit"]["description"]
    assert "at most 100" in limit_words
    assert "null means the default, 20" in limit_words
    country = json.dumps(search["properties"]["country"])
    assert "matches the regular expression ^[A-Z]{2}$" in country
    validator = Draft202012Validator(search)
    assert validator.is_valid({"name": "Baeckerei*", "country": None, "limit": None})
    assert not validator.is_valid({"name": "Baeckerei*"})  # strict: every property is sent


def test_the_openai_write_tool_still_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    tools = export(capsys, "replenishment-bot", "openai")
    create = next(t["function"] for t in tools if t["function"]["name"] == ALL[0])
    assert "changes the system of record (a write)" in create["description"]
    assert "'warehouse.goods_movements.create'" in create["description"]
    validator = Draft202012Validator(create["parameters"])
    assert validator.is_valid({**MOVEMENT, "reference": None})
    assert not validator.is_valid({**MOVEMENT, "reference": None, "kind": "gift"})


def test_openai_responses_tools_are_flat_and_strict(capsys: pytest.CaptureFixture[str]) -> None:
    tools = export(capsys, "support-bot", "openai-responses")
    chat = export(capsys, "support-bot", "openai")
    assert [t["name"] for t in tools] == SUPPORT_TOOLS
    for tool, nested in zip(tools, chat, strict=True):
        exactly(FunctionToolParam, tool)
        assert set(tool) == {"type", "name", "description", "parameters", "strict"}
        assert tool == {"type": "function", **nested["function"]}


def test_anthropic_tools(capsys: pytest.CaptureFixture[str]) -> None:
    tools = export(capsys, "inventory-bot", "anthropic")
    assert [t["name"] for t in tools] == READS
    for tool in tools:
        exactly(ToolParam, tool)
        anthropic.transform_schema(tool["input_schema"])  # the SDK's strict helper takes it
    stock = tools[1]
    assert set(stock) == {"name", "description", "input_schema"}
    assert stock["input_schema"]["required"] == ["material", "plant"]
    assert "reads only, safe to repeat" in stock["description"]


def test_mcp_tools_match_what_the_server_lists(capsys: pytest.CaptureFixture[str]) -> None:
    document = export(capsys, "inventory-bot", "mcp")
    tools = {t["name"]: t for t in document["tools"]}
    assert sorted(tools) == READS
    stock = tools["warehouse_stock_get"]
    assert stock["title"] == "warehouse.stock.get"
    assert stock["_meta"]["dev.lastmile/operation"] == "warehouse.stock.get"
    assert stock["annotations"] == {
        "readOnlyHint": True,
        "destructiveHint": False,
        "idempotentHint": True,
        "openWorldHint": False,
    }
    assert stock["outputSchema"]["type"] == "object"
    assert "quantity" in stock["outputSchema"]["properties"]


def test_a_schema_with_no_strict_form_is_exported_non_strict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A map with arbitrary keys cannot be strict without refusing what the gateway takes:
    that one tool is exported as it is, ``strict: false``; its neighbours stay strict."""
    backend = (
        "  echo:\n    kind: rest\n    adapter: tests.gateway.echo_ops\n    base_url: ${WMS_URL}\n"
    )
    text = TEST_CONFIG.replace("backends:\n", "backends:\n" + backend).replace(
        'operations: ["warehouse.*"]', 'operations: ["echo.*"]'
    )
    config = tmp_path / "gateway.yaml"
    config.write_text(text, "utf-8")
    env = {"WMS_URL": "http://127.0.0.1:9", "AUDIT_DB": str(tmp_path / "audit.sqlite")}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        argv = ["tools", "export", "--agent", "replenishment-bot", "--format", "openai"]
        assert main([*argv, "--config", str(config)]) == 0
    tools = {t["function"]["name"]: t["function"] for t in json.loads(capsys.readouterr().out)}
    assert {name: f["strict"] for name, f in tools.items()} == {
        "echo_input_get": True,
        "echo_labels_get": False,
    }
    labels = tools["echo_labels_get"]["parameters"]["properties"]["labels"]
    assert labels["additionalProperties"] == {"type": "string"}
    echo = tools["echo_input_get"]["parameters"]
    assert strict_subset_problems(echo) == []
    discount = echo["properties"]["discount"]  # a decimal: number or numeric string, or null
    assert [v.get("type") for v in discount["anyOf"]] == ["number", "string", "null"]
    assert 'null means the default, "0"' in discount["description"]
    line = echo["properties"]["lines"]["items"]
    assert line["required"] == ["sku", "quantity", "note"]
    assert line["properties"]["quantity"]["type"] == ["integer", "null"]


def test_an_unknown_or_revoked_agent_exports_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "export", "--agent", "nobody", "--format", "openai"]) == 2
    assert "no agent 'nobody'" in capsys.readouterr().err
    assert main(["tools", "export", "--agent", "retired-bot", "--format", "mcp"]) == 2
    assert "revoked" in capsys.readouterr().err
