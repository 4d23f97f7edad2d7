"""The staff commands that only send HTTP start without the gateway's heavy parts.

A halt typed during an incident is late by however long ``lastmile`` takes to start, so
``halt``, ``resume``, ``halts``, ``processes``, ``approvals``, ``reload`` and
``--version`` must not load zeep, Cedar, the adapters, the configuration models or
aiohttp. What is asserted is the set of modules a fresh interpreter has imported once the
command has run, not a timing (``bench/cli_start.py`` measures the time).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from gateway.cli import COMMANDS

HEAVY = ("zeep", "lxml", "cedarpy", "adapters", "sandbox", "pydantic", "aiohttp", "gateway.config")
"""Packages (and everything below them) a light command must leave unloaded."""

PROBE = """
import json, sys
from gateway.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _closed_port() -> int:
    """A loopback port nothing listens on, so the request fails fast and the run ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(argv: list[str]) -> tuple[object, set[str]]:
    done = subprocess.run(  # noqa: S603 - our own CLI in a fresh interpreter
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"LASTMILE_STAFF_KEY": "lm_staff_not_a_real_key", "PATH": ""},
    )
    report = json.loads(done.stdout.splitlines()[-1])
    return report["code"], set(report["modules"])


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


URL = ["--url", "http://127.0.0.1:{port}"]
LIGHT = [
    ["--version"],
    ["halts", "--help"],
    ["halt", "all", "--reason", "incident", *URL],
    ["resume", "agent", "support-bot", *URL],
    ["halts", *URL],
    ["processes", *URL],
    ["approvals", "list", *URL],
    ["reload", *URL],
]


@pytest.mark.parametrize("argv", LIGHT, ids=lambda argv: " ".join(argv[:2]))
def test_a_staff_command_loads_none_of_the_heavy_parts(argv: list[str]) -> None:
    port = _closed_port()
    code, modules = _run([arg.format(port=port) for arg in argv])
    assert _heavy(modules) == []
    if "--url" in argv:  # it did run: the request was sent and found nobody listening
        assert code == 2
        assert "gateway.commands.staff_http" in modules
    else:
        assert code == 0


def test_the_probe_sees_heavy_parts_when_a_command_loads_them() -> None:
    """The same probe on ``check-config --help`` (which loads the config models) finds them,
    so an empty list above means the parts were absent, not that the probe was blind."""
    assert "check-config" in COMMANDS
    code, modules = _run(["check-config", "--help"])
    assert code == 0
    assert "gateway.config" in _heavy(modules)
