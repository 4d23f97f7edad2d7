"""``lastmile mcp-stdio`` as a real subprocess relaying to a gateway on a real port.

The official SDK's stdio client launches the relay in an empty working directory, in
both eras (``auto``: 2026-07-28, self-contained requests; ``legacy``: initialize and a
session); every call must land in the gateway's own audit trail with protocol "mcp",
halts placed through the admin API must bind, and the relay must leave no file behind.
Raw JSON lines drive framing, concurrency and failures below JSON-RPC.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from gateway.api.mcp.http import MCP_SESSIONS
from gateway.cli import parser
from gateway.commands.mcp_stdio import mcp_endpoint
from sandbox.acme_warehouse import RELEASE
from tests.conftest import INVENTORY, OPERATOR, REPLENISH
from tests.gateway.guardrails.conftest import (  # the fixture is shared, not copied
    GUARDRAILS,
    Guarded,
    StartGateway,
    start_guarded,
)
from tests.gateway.guardrails.conftest import movement as a_movement
from tests.test_cli_processes import free_port

__all__ = ["start_guarded"]

MODES = ["auto", "legacy"]
STOCK = {"material": "100234", "plant": "1000"}
WRITE = "warehouse.goods_movements.create"
DEADLINE_S = 30
ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}
ROOT = Path(__file__).parents[2]


@pytest.fixture
async def gateway(start_guarded: StartGateway) -> Guarded:
    """A guarded gateway (policies, approvals, halts) listening on a free loopback port."""
    return await start_guarded()


@pytest.fixture
def host_dir(tmp_path: Path) -> Path:
    """The relay's working directory: it must stay empty."""
    directory = tmp_path / "agent-host"
    directory.mkdir()
    return directory


def files_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def base_url(gateway: Guarded) -> str:
    return str(gateway.client.make_url("/"))


def relay_env(key: str | None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if key is not None:
        env["LASTMILE_AGENT_KEY"] = key
    return env


@asynccontextmanager
async def sdk_client(
    url: str, key: str, mode: str, host_dir: Path, errlog: IO[str]
) -> AsyncIterator[Client]:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "gateway", "mcp-stdio", "--url", url],
        env=relay_env(key),
        cwd=str(host_dir),
    )
    async with Client(stdio_client(server, errlog=errlog), mode=mode) as client:
        yield client


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content)


@pytest.mark.parametrize("mode", MODES)
async def test_the_sdk_calls_through_the_relay_into_the_gateways_one_trail(
    gateway: Guarded, host_dir: Path, tmp_path: Path, mode: str
) -> None:
    with (tmp_path / "relay.log").open("w") as errlog:
        async with sdk_client(base_url(gateway), REPLENISH, mode, host_dir, errlog) as client:
            tools = sorted(tool.name for tool in (await client.list_tools()).tools)
            read = await client.call_tool("warehouse_stock_get", STOCK)
            invalid = await client.call_tool("warehouse_stock_get", {"material": "x"})
            held = await client.call_tool(WRITE, a_movement(quantity="150"))
            sessions_open = len(gateway.client.app[MCP_SESSIONS])

    assert tools == [
        "warehouse_goods_movements_create",
        "warehouse_items_get",
        "warehouse_stock_get",
    ]
    assert read.is_error is False
    assert read.structured_content is not None
    assert read.structured_content["quantity"] == "125.000"
    assert invalid.is_error is True
    assert "(validation_failed)" in text_of(invalid)
    assert held.is_error is True
    assert "approval_required" in text_of(held)
    assert "/v1/approvals/apr_" in text_of(held)
    events = await gateway.audit(agent_id="replenishment-bot")
    assert [(e.protocol, e.operation, e.outcome) for e in events] == [
        ("mcp", "warehouse.stock.get", "ok"),
        ("mcp", "warehouse.stock.get", "validation_failed"),
        ("mcp", WRITE, "approval_required"),
    ]
    assert sessions_open == (1 if mode == "legacy" else 0)
    assert len(gateway.client.app[MCP_SESSIONS]) == 0  # the relay ended its session
    assert files_in(host_dir) == []  # no audit log, key or approvals file of its own


async def test_a_halt_placed_through_the_admin_api_binds_calls_through_the_relay(
    gateway: Guarded, host_dir: Path, tmp_path: Path
) -> None:
    halted = await gateway.staff(
        "POST",
        "/v1/admin/halts",
        OPERATOR,
        {"scope": "agent", "target": "inventory-bot", "reason": "runaway reads"},
    )
    assert halted.status == 201
    url = str(gateway.client.make_url("/mcp"))  # the endpoint itself is accepted too
    with (tmp_path / "relay.log").open("w") as errlog:
        async with sdk_client(url, INVENTORY, "auto", host_dir, errlog) as client:
            result = await client.call_tool("warehouse.stock.get", STOCK)

    assert result.is_error is True
    assert "(halted)" in text_of(result)
    assert "runaway reads" in text_of(result)
    [event] = await gateway.audit(agent_id="inventory-bot")
    assert (event.protocol, event.outcome) == ("mcp", "halted")
    assert await gateway.wms_calls() == 0


async def test_a_session_the_gateway_ended_is_reopened_for_the_host(
    start_guarded: StartGateway, host_dir: Path, tmp_path: Path
) -> None:
    gateway = await start_guarded(GUARDRAILS + "mcp:\n  max_sessions_per_agent: 1\n")
    with (tmp_path / "relay.log").open("w") as errlog:
        async with sdk_client(base_url(gateway), INVENTORY, "legacy", host_dir, errlog) as client:
            await client.list_tools()
            await open_session_over_http(gateway, INVENTORY)  # evicts the relay's session
            result = await client.call_tool("warehouse.stock.get", STOCK)

    assert result.is_error is False
    assert "opening a new one" in (tmp_path / "relay.log").read_text()
    assert len(gateway.client.app[MCP_SESSIONS]) == 0


async def open_session_over_http(gateway: Guarded, key: str) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}},
    }
    response = await gateway.client.post(
        "/mcp", json=initialize, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status == 200
    assert "Mcp-Session-Id" in response.headers


# --- raw JSON lines ------------------------------------------------------------------


def request(rid: int, method: str, params: dict[str, Any] | None = None) -> bytes:
    body = {"jsonrpc": "2.0", "id": rid, "method": method, "params": {**(params or {})}}
    body["params"]["_meta"] = ENVELOPE
    return json.dumps(body).encode() + b"\n"


def call(rid: int, name: str, arguments: dict[str, Any]) -> bytes:
    return request(rid, "tools/call", {"name": name, "arguments": arguments})


@dataclass
class Relay:
    """A relay process driven line by line, with a deadline on every read."""

    process: asyncio.subprocess.Process
    stderr: Path

    async def send(self, *lines: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"".join(lines))
        await self.process.stdin.drain()

    async def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), DEADLINE_S)
        assert line.endswith(b"\n"), f"the relay ended: {self.stderr.read_text()}"
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def finish(self) -> list[dict[str, Any]]:
        """Close stdin; the answers still to come; the relay must exit 0."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        rest = await asyncio.wait_for(self.process.stdout.read(), DEADLINE_S)
        assert await asyncio.wait_for(self.process.wait(), DEADLINE_S) == 0
        return [json.loads(line) for line in rest.splitlines()]


@pytest.fixture
async def start_relay(
    host_dir: Path, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Relay]]]:
    processes: list[asyncio.subprocess.Process] = []

    async def start(url: str, *options: str, key: str | None = INVENTORY) -> Relay:
        stderr = tmp_path / f"relay-{len(processes)}.log"
        with stderr.open("w") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                *["-m", "gateway", "mcp-stdio", "--url", url, *options],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=host_dir,
                env=relay_env(key),
                limit=1024 * 1024,
            )
        processes.append(process)
        return Relay(process, stderr)

    yield start
    for process in processes:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_wrong_key_is_an_unauthenticated_error_that_does_not_echo_it(
    gateway: Guarded, start_relay: Callable[..., Awaitable[Relay]]
) -> None:
    wrong = "lm_wrong_key_7f3a9c1d"
    relay = await start_relay(base_url(gateway), key=wrong)
    await relay.send(request(1, "tools/list"))
    answer = await relay.receive()
    assert await relay.finish() == []

    assert answer["id"] == 1
    assert answer["error"]["code"] == -32030
    assert "401 unauthenticated" in answer["error"]["message"]
    assert answer["error"]["data"] == {"status": 401, "code": "unauthenticated"}
    assert wrong not in json.dumps(answer)
    assert wrong not in relay.stderr.read_text()
    assert await gateway.audit() == []


async def test_a_gateway_that_is_down_is_a_clear_error(
    start_relay: Callable[..., Awaitable[Relay]],
) -> None:
    port = free_port()
    relay = await start_relay(f"http://127.0.0.1:{port}")
    await relay.send(request(7, "tools/list"))
    answer = await relay.receive()
    await relay.finish()

    assert answer["id"] == 7
    assert answer["error"]["message"] == (
        f"Cannot reach the gateway at http://127.0.0.1:{port}/mcp: Connection refused. "
        "Is it running?"
    )
    assert answer["error"]["data"] == {"reason": "unreachable"}


async def test_framing_long_lines_garbage_and_notifications(
    gateway: Guarded, start_relay: Callable[..., Awaitable[Relay]], host_dir: Path
) -> None:
    relay = await start_relay(base_url(gateway), "--max-message-bytes", "2048")
    await relay.send(
        call(1, "warehouse.stock.get", {"material": "x" * 4000, "plant": "1000"}),
        b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n',
        b"\n",
        b"{not json\n",
        call(2, "lager.bestand_pr\u00fcfen", {}),  # the name travels base64 in Mcp-Name
    )
    answers = [await relay.receive() for _ in range(3)]
    assert await relay.finish() == []  # the notification got nothing

    by_id = {a["id"]: a for a in answers if a["id"] is not None}
    errors = sorted(a["error"]["message"] for a in answers if a["id"] is None)
    assert errors == [
        "Message too large: over 2048 bytes (--max-message-bytes); it was not sent.",
        "Parse error: the body is not valid JSON.",
    ]
    assert by_id[2]["result"]["isError"] is True  # the header matched: a tool error
    assert "(unknown_operation)" in by_id[2]["result"]["content"][0]["text"]
    assert files_in(host_dir) == []


async def test_requests_in_flight_are_answered_as_they_complete(
    gateway: Guarded, start_relay: Callable[..., Awaitable[Relay]]
) -> None:
    await gateway.fault("slow", delay_s=60)
    relay = await start_relay(base_url(gateway))
    await relay.send(call(1, "warehouse.stock.get", STOCK), call(2, "warehouse.stock.get", STOCK))
    await gateway.wait_held(2)  # both calls are at the backend at once
    await relay.send(request(3, "tools/list"))
    listed = await relay.receive()
    gateway.wms.app[RELEASE].set()
    calls = [await relay.receive(), await relay.receive()]
    await relay.finish()

    assert listed["id"] == 3  # answered while 1 and 2 were still held
    assert sorted(a["id"] for a in calls) == [1, 2]
    assert all(a["result"]["isError"] is False for a in calls)


async def test_past_max_concurrent_the_relay_waits_before_sending(
    gateway: Guarded, start_relay: Callable[..., Awaitable[Relay]]
) -> None:
    await gateway.fault("slow", delay_s=60)
    relay = await start_relay(base_url(gateway), "--max-concurrent", "1")
    await relay.send(call(1, "warehouse.stock.get", STOCK), request(2, "tools/list"))
    await gateway.wait_held(1)
    gateway.wms.app[RELEASE].set()
    first, second = await relay.receive(), await relay.receive()
    await relay.finish()

    assert (first["id"], second["id"]) == (1, 2)  # the list was sent only once 1 was done


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_a_signal_ends_the_relay_cleanly_and_its_session(
    gateway: Guarded, start_relay: Callable[..., Awaitable[Relay]], signum: int
) -> None:
    relay = await start_relay(base_url(gateway))
    initialize = {"protocolVersion": "2025-06-18", "capabilities": {}}
    await relay.send(
        json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize}
        ).encode()
        + b"\n"
    )
    assert (await relay.receive())["result"]["protocolVersion"] == "2025-06-18"
    assert len(gateway.client.app[MCP_SESSIONS]) == 1

    relay.process.send_signal(signum)
    assert await asyncio.wait_for(relay.process.wait(), DEADLINE_S) == 0
    assert len(gateway.client.app[MCP_SESSIONS]) == 0
    assert "Traceback" not in relay.stderr.read_text()


async def test_a_gateway_slower_than_the_timeout_is_a_clear_error(
    gateway: Guarded, start_relay: Callable[..., Awaitable[Relay]]
) -> None:
    await gateway.fault("slow", delay_s=60)
    relay = await start_relay(base_url(gateway), "--timeout", "0.5")
    await relay.send(call(1, "warehouse.stock.get", STOCK))
    answer = await relay.receive()
    gateway.wms.app[RELEASE].set()
    await relay.finish()

    assert answer["error"]["message"] == (
        f"The gateway at {base_url(gateway)}mcp did not answer within 0.5 s (--timeout)."
    )
    assert answer["error"]["data"] == {"reason": "timeout"}


async def test_an_answer_over_the_limit_is_refused(
    gateway: Guarded, start_relay: Callable[..., Awaitable[Relay]]
) -> None:
    relay = await start_relay(base_url(gateway), "--max-answer-bytes", "1024")
    await relay.send(request(1, "tools/list"))
    answer = await relay.receive()
    await relay.finish()

    assert answer["error"]["message"] == (
        "The gateway's answer is larger than 1024 bytes (--max-answer-bytes)."
    )


# --- what a gateway (or something in front of it) may answer ---------------------------


@pytest.fixture
async def peer() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """An HTTP peer answering the ways the spec and proxies allow; it records headers."""
    seen: list[dict[str, str]] = []

    async def mcp(request: web.Request) -> web.StreamResponse:
        seen.append(dict(request.headers))
        message = json.loads(await request.read())
        method, rid = message["method"], message.get("id")
        if method == "events":
            note = {"jsonrpc": "2.0", "method": "notifications/message", "params": {}}
            result = {"jsonrpc": "2.0", "id": rid, "result": {"ok": True}}
            body = f"event: message\ndata: {json.dumps(note)}\n\ndata: {json.dumps(result)}\n\n"
            return web.Response(body=body.encode(), content_type="text/event-stream")
        if method == "busy":
            problem = {"code": "overloaded", "status": 503, "detail": "Too busy."}
            return web.json_response(
                problem,
                status=503,
                content_type="application/problem+json",
                headers={"Retry-After": "7"},
            )
        if method == "proxy":
            return web.Response(status=502, text="<h1>Bad gateway</h1>", content_type="text/html")
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/mcp", mcp)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/")), seen
    await server.close()


async def test_event_streams_problems_and_foreign_answers(
    peer: tuple[str, list[dict[str, str]]], start_relay: Callable[..., Awaitable[Relay]]
) -> None:
    url, seen = peer
    relay = await start_relay(url, "--max-concurrent", "1")
    await relay.send(request(1, "events"))
    streamed = [await relay.receive(), await relay.receive()]
    await relay.send(request(2, "busy"), request(3, "proxy"), request(4, "silent"))
    busy, proxy, silent = [await relay.receive() for _ in range(3)]
    await relay.finish()

    assert streamed == [
        {"jsonrpc": "2.0", "method": "notifications/message", "params": {}},
        {"jsonrpc": "2.0", "id": 1, "result": {"ok": True}},
    ]
    assert (
        busy["error"]["message"]
        == "The gateway answered 503 overloaded: Too busy. Retry after 7 s."
    )
    assert busy["error"]["data"] == {"status": 503, "code": "overloaded", "retryAfter": 7}
    assert proxy["error"]["message"].startswith("The gateway answered HTTP 502 (text/html)")
    assert silent["error"]["message"] == "The gateway accepted the request but sent no answer."
    headers = seen[0]
    assert headers["Authorization"] == f"Bearer {INVENTORY}"
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"] == "application/json, text/event-stream"
    assert (headers["MCP-Protocol-Version"], headers["Mcp-Method"]) == ("2026-07-28", "events")


# --- the command itself ------------------------------------------------------------------


def run_relay(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "gateway", "mcp-stdio", *args],
        env=env,
        cwd=cwd,
        input="",
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "key", "says"),
    [
        ([], None, "give the agent's key in $LASTMILE_AGENT_KEY"),
        ([], "lm_bad\nkey", "visible ASCII"),
        (["--url", "ftp://gateway"], INVENTORY, "--url must be an http(s) URL"),
        (["--url", "http://user:pw@gateway"], INVENTORY, "without credentials"),
    ],
)
def test_the_relay_refuses_to_start_without_a_usable_key_and_url(
    host_dir: Path, args: list[str], key: str | None, says: str
) -> None:
    done = run_relay(*args, env=relay_env(key), cwd=host_dir)
    assert done.returncode == 2
    assert done.stdout == ""  # stdout belongs to the protocol
    assert says in done.stderr
    assert "lm_bad" not in done.stderr
    assert files_in(host_dir) == []


def test_the_relay_starts_without_the_gateways_heavy_modules(host_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gateway", "mcp-stdio", "--help"],
        cwd=host_dir,
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        check=True,
    )
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
    heavy = {"zeep", "cedarpy", "gateway.app", "gateway.registry", "gateway.config", "pydantic"}
    assert imported & heavy == set()


def docs_stdio_configs() -> Iterator[tuple[str, list[str]]]:
    for doc in ("README.md", "docs/mcp.md"):
        for block in re.findall(r"```json\n(.*?)```", (ROOT / doc).read_text(), re.DOTALL):
            if "mcp-stdio" in block:
                for server in json.loads(block)["mcpServers"].values():
                    yield doc, server["args"]


def test_the_documented_host_configs_are_valid_relay_commands() -> None:
    configs = list(docs_stdio_configs())
    assert "docs/mcp.md" in {doc for doc, _ in configs}
    for _, args in configs:
        parsed = parser(["mcp-stdio"]).parse_args(args)
        assert parsed.agent_key is None  # the key goes in the environment, not in ps
        assert mcp_endpoint(parsed.url) == "http://127.0.0.1:8080/mcp"
