"""gateway.yaml: every error reported with its place; secrets only by reference."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config, parse_config
from gateway.registry import RegistryError, build_registry
from tests.conftest import TEST_CONFIG

ENV = {"WMS_URL": "http://127.0.0.1:1", "AUDIT_DB": "audit.sqlite"}

BAD = """\
server:
  port: 99999
  colour: blue
backends:
  wms:
    kind: rest
    adapter: adapters.acme_warehouse
    base_url: ftp://legacy
    auth:
      type: bearer
      token: hunter2
agents:
  - id: Bad Id
    owner: team
    key_sha256: abc
    operations: ["*"]
"""


def problems_of(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "gw.yaml", env=ENV if env is None else env)
    return caught.value.problems


def test_every_error_is_reported_with_line_and_path() -> None:
    problems = problems_of(BAD)

    assert "gw.yaml:2: server.port: Input should be less than or equal to 65535" in problems
    assert "gw.yaml:3: server.colour: Extra inputs are not permitted" in problems
    assert any(
        p.startswith("gw.yaml:8: backends.wms.base_url:") and "ftp://legacy" in p for p in problems
    )
    assert any(
        p.startswith("gw.yaml:11: backends.wms.auth.token:") and "${ENV_VAR}" in p for p in problems
    )
    assert any(p.startswith("gw.yaml:13: agents[0].id:") for p in problems)
    assert any(p.startswith("gw.yaml:15: agents[0].key_sha256:") for p in problems)
    assert len(problems) == 6


def test_secret_must_be_an_env_reference_and_is_resolved() -> None:
    text = TEST_CONFIG.replace(
        "    health_path: /health\n",
        "    health_path: /health\n"
        "    auth: {type: basic, username: gw, password: '${WMS_PASSWORD}'}\n",
    )
    config = parse_config(text, "gw.yaml", env={**ENV, "WMS_PASSWORD": "s3cret"})
    auth = config.backends["acme_wms"].auth
    assert auth is not None
    assert auth.password.get_secret_value() == "s3cret"  # type: ignore[union-attr]
    assert "s3cret" not in repr(config)

    [problem] = problems_of(text)
    assert "backends.acme_wms.auth.password" in problem
    assert "WMS_PASSWORD is not set" in problem


def test_env_reference_with_default() -> None:
    config = parse_config(TEST_CONFIG.replace("${WMS_URL}", "${NOT_SET:-http://wms:81}"), "x", ENV)
    assert config.backends["acme_wms"].base_url == "http://wms:81"


def test_yaml_syntax_error_names_the_line() -> None:
    [problem] = problems_of("server:\n  port: [1, 2\n")
    assert problem.startswith("gw.yaml:")
    assert "not valid YAML" in problem


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    [problem] = problems_of("- just\n- a list\n")
    assert "mapping" in problem


def test_duplicate_agent_ids_are_refused() -> None:
    agent = TEST_CONFIG[
        TEST_CONFIG.index("  - id: inventory-bot") : TEST_CONFIG.index("  - id: replenishment-bot")
    ]
    text = TEST_CONFIG.replace(agent, agent + agent.replace("7d7d", "0000"))
    problems = problems_of(text)
    assert any("'inventory-bot' appears twice" in p for p in problems)


def test_allow_list_entries_must_match_an_operation() -> None:
    config = parse_config(
        TEST_CONFIG.replace('"warehouse.stock.*"]', '"warehouse.stok.*"]'), "x", ENV
    )
    with pytest.raises(RegistryError, match=r"'warehouse.stok.\*' matches no operation"):
        build_registry(config)


def test_unknown_adapter_module_is_a_clear_error() -> None:
    config = parse_config(TEST_CONFIG.replace("adapters.acme_warehouse", "adapters.nope"), "x", ENV)
    with pytest.raises(RegistryError, match=r"cannot import module 'adapters\.nope'"):
        build_registry(config)


def test_embedded_default_config_is_valid() -> None:
    config = load_config()
    registry = build_registry(config)
    assert set(registry.operations) == {
        "warehouse.goods_movements.create",
        "warehouse.items.get",
        "warehouse.stock.get",
        "finance.customers.get",
        "finance.customers.search",
        "finance.invoices.get",
        "finance.invoices.list",
        "finance.credit_notes.create",
        "finance.payments.post",
        "sales.business_partners.get",
        "sales.business_partners.search",
        "sales.business_partners.update",
        "sales.orders.create",
        "sales.orders.get",
        "sales.orders.release",
        "sales.orders.cancel",
        "sales.open_amounts.get",
    }
    assert registry.operations["warehouse.goods_movements.create"].timeout_s == 15
    assert registry.operations["finance.credit_notes.create"].timeout_s == 15


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "gateway", *args], capture_output=True, text=True, check=False
    )


def test_check_config_cli_reports_errors_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(BAD)

    result = run_cli("check-config", str(path))

    assert result.returncode == 2
    assert f"{path}:2: server.port" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 6


def test_check_config_cli_accepts_the_default() -> None:
    result = run_cli("check-config")
    assert result.returncode == 0, result.stderr
    assert "17 operation(s), 5 agent(s)" in result.stdout


def test_check_config_cli_missing_file(tmp_path: Path) -> None:
    result = run_cli("check-config", str(tmp_path / "absent.yaml"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr


def test_keys_new_prints_a_key_whose_hash_matches() -> None:
    result = run_cli("keys", "new")
    lines = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    key, digest = lines["key"].strip(), lines["key_sha256"].strip()
    hashed = subprocess.run(
        [sys.executable, "-m", "gateway", "keys", "hash"],
        input=key + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert hashed.stdout.strip() == digest
