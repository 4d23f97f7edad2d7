"""The stdio transport's message loop, in process: framing, order and protocol errors.
(The SDK's stdio client drives the real subprocess in test_mcp_client.py.)"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from gateway.api.mcp import stdio
from gateway.api.mcp.protocol import McpHandler
from gateway.app import build_app
from gateway.appkeys import AGENTS, PIPELINE, REGISTRY
from tests.conftest import INVENTORY, make_config


async def converse(tmp_path: Path, *lines: bytes, limit: int = 4096) -> list[dict[str, Any]]:
    app = build_app(make_config("http://127.0.0.1:9", tmp_path / "audit.sqlite"))
    handler = McpHandler(app[REGISTRY], app[AGENTS], app[PIPELINE])
    reader = asyncio.StreamReader(limit=limit)
    for line in lines:
        reader.feed_data(line)
    reader.feed_eof()
    written: list[bytes] = []

    async def write(data: bytes) -> None:
        written.append(data)

    await stdio.serve(handler, f"Bearer {INVENTORY}", reader, write)
    assert all(chunk.endswith(b"\n") and chunk.count(b"\n") == 1 for chunk in written)
    return [json.loads(chunk) for chunk in written]


def message(rid: int | None, method: str, params: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params or {}}
    if rid is not None:
        body["id"] = rid
    return json.dumps(body).encode() + b"\n"


async def test_a_handshake_session_on_stdio(tmp_path: Path) -> None:
    answers = await converse(
        tmp_path,
        message(1, "tools/list"),
        message(2, "initialize", {"protocolVersion": "2025-06-18"}),
        message(None, "notifications/initialized"),
        b"\n",
        message(3, "tools/list"),
    )
    assert [a["id"] for a in answers] == [1, 2, 3]
    assert answers[0]["error"]["code"] == -32600
    assert "initialize" in answers[0]["error"]["message"]
    assert answers[1]["result"]["protocolVersion"] == "2025-06-18"
    assert len(answers[2]["result"]["tools"]) == 2
    assert "resultType" not in answers[2]["result"]


async def test_modern_requests_on_stdio_need_no_handshake(tmp_path: Path) -> None:
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    old = {**meta, "io.modelcontextprotocol/protocolVersion": "2024-01-01"}
    [listed, refused] = await converse(
        tmp_path, message(1, "tools/list", {"_meta": meta}), message(2, "ping", {"_meta": old})
    )
    assert listed["result"]["resultType"] == "complete"
    assert refused["error"]["code"] == -32022


async def test_garbage_lines_get_errors_and_the_loop_goes_on(tmp_path: Path) -> None:
    answers = await converse(
        tmp_path,
        b"{not json\n",
        b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": NaN}}\n',
        b"[1, 2]\n",
        b'{"jsonrpc": "2.0", "id": 2, "method": "ping", "params": "' + b"x" * 5000 + b'"}\n',
        message(3, "ping"),
        limit=1024,
    )
    codes = [a.get("error", {}).get("code") for a in answers]
    assert codes == [-32700, -32700, -32600, -32700, None]
    assert answers[-1] == {"jsonrpc": "2.0", "id": 3, "result": {}}


def test_mcp_stdio_refuses_to_start_without_a_valid_key(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "LASTMILE_AUDIT_DB": str(tmp_path / "audit.sqlite")}
    for args in (["--agent-key", "lm_wrong"], []):
        done = subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "gateway", "mcp-stdio", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 2
        assert done.stdout == ""  # stdout belongs to the protocol
        assert "lastmile mcp-stdio:" in done.stderr
