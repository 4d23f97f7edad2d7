"""``server.connections`` is validated like every section: each bad value named with
its line, before anything starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, parse_config
from tests.conftest import TEST_CONFIG
from tests.gateway.connections.served import config_text

ENV = {"WMS_URL": "http://127.0.0.1:1", "AUDIT_DB": "audit.sqlite"}


def problems_of(connections: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(config_text(connections), "gw.yaml", env=ENV)
    return caught.value.problems


def test_the_defaults_are_safe() -> None:
    connections = parse_config(TEST_CONFIG, "gw.yaml", env=ENV).server.connections
    assert (connections.header_s, connections.body_s, connections.idle_s) == (10, 30, 75)
    assert connections.max_open == "auto"


@pytest.mark.parametrize(
    ("connections", "problem"),
    [
        ("{header_s: 0}", "server.connections.header_s: Input should be greater than 0"),
        ("{body_s: -1}", "server.connections.body_s: Input should be greater than 0"),
        ("{idle_s: 0}", "server.connections.idle_s: Input should be greater than 0"),
        ("{max_open: 0}", "server.connections.max_open: Value error, expected 'auto' or a"),
        ("{max_open: lots}", "server.connections.max_open: Value error, expected 'auto' or"),
        ("{idle: 5}", "server.connections.idle: Extra inputs are not permitted"),
    ],
)
def test_bad_values_are_refused_with_their_place(connections: str, problem: str) -> None:
    [reported] = problems_of(connections)
    assert reported.startswith(f"gw.yaml:4: {problem}"), reported


def test_check_config_refuses_a_cap_below_one(tmp_path: Path) -> None:
    path = tmp_path / "gw.yaml"
    path.write_text(
        config_text("{max_open: 0}")
        .replace("${WMS_URL}", "http://127.0.0.1:1")
        .replace("${AUDIT_DB}", "audit.sqlite")
    )
    result = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "gateway", "check-config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "server.connections.max_open" in result.stderr
