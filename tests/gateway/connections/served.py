"""A gateway served the way ``lastmile serve`` serves it, and a raw HTTP/1.1 client.

The client speaks bytes on an ``asyncio.open_connection`` so tests can be the idle,
dripping or greedy clients aiohttp's own client would never be. Every wait on the
server has a generous upper bound and ends on what the server does (EOF, an answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import build_app
from gateway.appkeys import AUDIT_STORE
from gateway.connections.budget import budget_for
from gateway.connections.runner import start_gateway
from tests.conftest import INVENTORY, TEST_CONFIG, make_config

STOCK = json.dumps({"material": "100234", "plant": "1000"}).encode()
CALL_HEADERS = {"Authorization": f"Bearer {INVENTORY}", "Content-Type": "application/json"}
STOCK_PATH = "/v1/operations/warehouse.stock.get"

WAIT_S = 10.0  # upper bound on any wait for the server; never reached when all is well


@dataclass
class Served:
    host: str
    port: int
    app: web.Application
    opened: list[Connection] = field(default_factory=list)

    async def connect(self) -> Connection:
        """A raw connection; :func:`serve` closes it at the end of the test."""
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened.append(Connection(reader, writer))
        return self.opened[-1]

    async def audit(self, **filters: Any) -> list[Any]:
        return await self.app[AUDIT_STORE].query(**filters)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One client connection speaking raw HTTP/1.1."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.dripped = 0
        self._dripping: asyncio.Task[None] | None = None

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self) -> Answer:
        """One response, read by its Content-Length (the connection may stay open)."""
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), WAIT_S)
        status, headers = parse_head(head)
        length = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(self.reader.readexactly(length), WAIT_S)
        return Answer(status, headers, body)

    async def until_closed(self) -> bytes:
        """Everything the server still sends, up to its EOF."""
        return await asyncio.wait_for(self.reader.read(), WAIT_S)

    def start_drip(self, data: bytes, every_s: float) -> None:
        """Send ``data`` a byte at a time in the background (the slow client under test)
        until done or the server closes; ``dripped`` counts the bytes that went out."""
        self._dripping = asyncio.create_task(self._drip(data, every_s))

    async def _drip(self, data: bytes, every_s: float) -> None:
        try:
            for byte in data:
                await self.send(bytes([byte]))
                self.dripped += 1
                await asyncio.sleep(every_s)
        except ConnectionError:
            pass

    async def close(self) -> None:
        if self._dripping is not None:
            self._dripping.cancel()
            await asyncio.gather(self._dripping, return_exceptions=True)
        self.writer.close()
        with contextlib.suppress(ConnectionError):  # the server may have closed first
            await self.writer.wait_closed()


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ")[1]), headers


def parse_answer(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status, headers = parse_head(head + b"\r\n")
    return Answer(status, headers, body)


def request(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def config_text(connections: str, backend_total_s: float = 0.5) -> str:
    """The test config with a ``server.connections`` section (a YAML flow mapping)."""
    text = TEST_CONFIG.replace(
        "  max_body_bytes: 4096\n", f"  max_body_bytes: 4096\n  connections: {connections}\n"
    )
    return text.replace(
        "timeouts: {connect_s: 1, read_s: 1, total_s: 0.5}",
        f"timeouts: {{connect_s: 1, read_s: {backend_total_s}, total_s: {backend_total_s}}}",
    )


@asynccontextmanager
async def serve(
    wms: TestServer, tmp_path: Path, connections: str, **kw: Any
) -> AsyncIterator[Served]:
    """The gateway on a free loopback port, started by the function ``serve`` uses."""
    config = make_config(
        str(wms.make_url("/")).rstrip("/"),
        tmp_path / "audit.sqlite",
        config_text(connections, **kw),
    )
    app = build_app(config)
    runner = await start_gateway(app, budget_for(config), "127.0.0.1", 0)
    try:
        host, port = runner.addresses[0][:2]
        served = Served(host, port, app)
        yield served
    finally:
        for connection in served.opened:
            await connection.close()
        await runner.cleanup()


def assert_closing_problem(answer: Answer, status: int, code: str) -> None:
    """A retryable problem answer after which the server closes the connection."""
    assert answer.status == status
    assert answer.headers["connection"] == "close"
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code
    assert answer.json()["retryable"] is True
