"""``lastmile tools export``: each vendor format, filtered to what the agent may call."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from gateway.api.tooldefs import operation_name
from gateway.cli import main

READS = ["warehouse.items.get", "warehouse.stock.get"]
ALL = ["warehouse.goods_movements.create", *READS]
VENDOR_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # what OpenAI and Anthropic accept
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


def test_openai_functions(capsys: pytest.CaptureFixture[str]) -> None:
    tools = export(capsys, "replenishment-bot", "openai")
    functions = {t["function"]["name"]: t["function"] for t in tools}
    assert {t["type"] for t in tools} == {"function"}
    assert sorted(operation_name(name) for name in functions) == ALL
    assert all(VENDOR_NAME.match(name) for name in functions)
    create = functions["warehouse-goods_movements-create"]
    assert create["strict"] is False
    assert "changes the system of record (a write)" in create["description"]
    Draft202012Validator.check_schema(create["parameters"])
    assert "$ref" not in json.dumps(create["parameters"])
    assert Draft202012Validator(create["parameters"]).is_valid(MOVEMENT)
    assert not Draft202012Validator(create["parameters"]).is_valid({**MOVEMENT, "kind": "gift"})


def test_anthropic_tools(capsys: pytest.CaptureFixture[str]) -> None:
    tools = export(capsys, "inventory-bot", "anthropic")
    assert [operation_name(t["name"]) for t in tools] == READS
    stock = tools[1]
    assert set(stock) == {"name", "description", "input_schema"}
    assert stock["input_schema"]["type"] == "object"
    assert stock["input_schema"]["required"] == ["material", "plant"]
    assert "reads only, safe to repeat" in stock["description"]


def test_mcp_tools_match_what_the_server_lists(capsys: pytest.CaptureFixture[str]) -> None:
    document = export(capsys, "inventory-bot", "mcp")
    tools = {t["name"]: t for t in document["tools"]}
    assert sorted(tools) == READS
    stock = tools["warehouse.stock.get"]
    assert stock["annotations"] == {
        "readOnlyHint": True,
        "destructiveHint": False,
        "idempotentHint": True,
        "openWorldHint": False,
    }
    assert stock["outputSchema"]["type"] == "object"
    assert "quantity" in stock["outputSchema"]["properties"]


def test_an_unknown_or_revoked_agent_exports_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "export", "--agent", "nobody", "--format", "openai"]) == 2
    assert "no agent 'nobody'" in capsys.readouterr().err
    assert main(["tools", "export", "--agent", "retired-bot", "--format", "mcp"]) == 2
    assert "revoked" in capsys.readouterr().err
