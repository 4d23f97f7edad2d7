"""The official MCP conformance suite against a real gateway's ``/mcp``.

The suite (``@modelcontextprotocol/conformance``, pinned in ``package.json`` and
installed by ``make test`` with ``npm ci``) connects as an MCP client and runs every
active server scenario. It cannot send an ``Authorization`` header, so it reaches the
gateway through a loopback sidecar that adds an agent's key and passes everything else
(``Host`` and ``Origin`` included) through untouched, as an agent host configured with a
key would. The sidecar is the gateway's public address (``server.public_url``), which is
what the DNS-rebinding scenario's "valid host" request names.

``baseline.txt`` lists the scenarios expected to fail, each because the gateway does not
advertise the capability it exercises. The test fails on any other failing scenario, and
on a baseline entry that now passes (so the baseline only ever shrinks).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from tests.conftest import REPLENISH, TEST_CONFIG, make_config

HERE = Path(__file__).parent
SUITE = HERE / "node_modules" / ".bin" / "conformance"
BASELINE = HERE / "baseline.txt"
SUITE_TIMEOUT_S = 600
_RUN_DIR = re.compile(r"-\d{4}-\d{2}-\d{2}T[0-9Z-]+$")  # the run's timestamp after the scenario
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def _require_suite() -> None:
    if SUITE.exists() and shutil.which("node"):
        return
    reason = "the MCP conformance suite is not installed (run `make test`, which runs npm ci)"
    if os.environ.get("LASTMILE_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def baseline() -> set[str]:
    lines = (line.split("#", 1)[0].strip() for line in BASELINE.read_text().splitlines())
    return {line for line in lines if line}


class KeySidecar:
    """Forwards ``/mcp`` to the gateway with the agent's key added; nothing else changes."""

    def __init__(self, key: str) -> None:
        self.upstream = ""  # set once the gateway, which must know our address, is up
        self._key = key
        self._http: ClientSession | None = None

    async def handle(self, request: web.Request) -> web.Response:
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["Authorization"] = f"Bearer {self._key}"
        headers["Host"] = request.headers.get("Host", "")
        async with self._http.request(
            request.method,
            self.upstream + request.path_qs,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as answer:
            body = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            return web.Response(status=answer.status, body=body, headers=kept)

    async def __aenter__(self) -> KeySidecar:
        self._http = ClientSession(auto_decompress=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._http is not None
        await self._http.close()


@pytest.fixture
async def mcp_url(wms: TestServer, tmp_path: Path) -> AsyncIterator[str]:
    """The sidecar's ``/mcp``, in front of a gateway whose public URL is the sidecar."""
    _require_suite()
    async with KeySidecar(REPLENISH) as sidecar:
        front_app = web.Application()
        front_app.router.add_route("*", "/mcp", sidecar.handle)
        front = TestServer(front_app, host="127.0.0.1")
        await front.start_server()  # bound first, so the gateway's public_url can name it
        public_url = f"http://localhost:{front.port}"
        config = TEST_CONFIG.replace("server:\n", f"server:\n  public_url: {public_url}\n", 1)
        wms_url = str(wms.make_url("/")).rstrip("/")
        gateway: TestClient[Any, Any] = TestClient(
            TestServer(build_app(make_config(wms_url, tmp_path / "audit.sqlite", config)))
        )
        await gateway.start_server()
        sidecar.upstream = str(gateway.make_url("")).rstrip("/")
        yield f"{public_url}/mcp"
        await gateway.close()
        await front.close()


async def run_suite(url: str, output: Path) -> dict[str, list[dict[str, Any]]]:
    """Every scenario's checks, as the suite wrote them to ``output``."""
    process = await asyncio.create_subprocess_exec(
        str(SUITE),
        "server",
        "--url",
        url,
        "--output-dir",
        str(output),
        cwd=HERE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        log, _ = await asyncio.wait_for(process.communicate(), SUITE_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"the conformance suite did not finish within {SUITE_TIMEOUT_S} s")
    results = read_results(output)
    assert results, f"the suite wrote no results:\n{log.decode(errors='replace')[-4000:]}"
    return results


def read_results(output: Path) -> dict[str, list[dict[str, Any]]]:
    """Scenario name -> its checks; each run directory is the scenario and a timestamp."""
    return {
        _RUN_DIR.sub("", checks.parent.name.removeprefix("server-")): json.loads(checks.read_text())
        for checks in output.glob("*/checks.json")
    }


async def test_the_gateway_passes_the_mcp_conformance_suite_but_its_baseline(
    mcp_url: str, tmp_path: Path
) -> None:
    results = await run_suite(mcp_url, tmp_path / "conformance")
    failing = {
        scenario: [c for c in checks if c.get("status") == "FAILURE"]
        for scenario, checks in results.items()
    }
    failing = {scenario: checks for scenario, checks in failing.items() if checks}
    expected = baseline()
    new = {s: [c.get("errorMessage") for c in failing[s]] for s in sorted(set(failing) - expected)}
    assert not new, f"scenarios failing that are not in baseline.txt: {new}"
    passing_now = sorted((expected & set(results)) - set(failing))
    assert not passing_now, f"baseline.txt entries that now pass; remove them: {passing_now}"
    unknown = sorted(expected - set(results))
    assert not unknown, f"baseline.txt names scenarios the suite did not run: {unknown}"
