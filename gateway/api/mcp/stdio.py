"""MCP's stdio transport, relayed: newline-delimited JSON-RPC on standard input and
output, each message forwarded to a running gateway (:mod:`gateway.api.mcp.relay`).

Hosts may send several requests without waiting: up to ``max_concurrent`` are in
flight at once and each answer is written when it arrives (JSON-RPC matches answers by
id, not order); past the bound the relay stops reading, so the host feels the
back-pressure. ``initialize`` is the exception: it is answered before the next line is
read, because what follows needs the session it opens. A line longer than the bound is
skipped whole and answered with an error; standard input's end lets the calls in flight
finish. Nothing but MCP messages goes to stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Final

from gateway.api.mcp.jsonrpc import (
    INTERNAL_ERROR,
    PARSE_ERROR,
    JsonObject,
    RpcError,
    error_message,
)
from gateway.api.mcp.relay import ClientMessage, GatewayRelay, log

Write = Callable[[bytes], Awaitable[None]]
ReadChunk = Callable[[], Awaitable[bytes]]
"""The next bytes of standard input; ``b""`` at its end."""

_CHUNK: Final = 64 * 1024


class TooLong:
    """A line that went past the limit (skipped up to its newline)."""


TOO_LONG: Final = TooLong()


class LineReader:
    """Lines of at most ``limit`` bytes from a source of chunks, newline kept out."""

    def __init__(self, read: ReadChunk, limit: int) -> None:
        self._read = read
        self.limit = limit
        self._buffer = bytearray()
        self._skipping = False
        self._ended = False

    async def next(self) -> bytes | TooLong | None:
        """The next line, :data:`TOO_LONG` for one over the limit, None at the end."""
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                if self._skipping:
                    self._skipping = False
                    continue
                return TOO_LONG if len(line) > self.limit else line
            if len(self._buffer) > self.limit:
                self._buffer.clear()
                if not self._skipping:
                    self._skipping = True
                    return TOO_LONG
            if self._ended:
                rest, skipped = bytes(self._buffer), self._skipping
                self._buffer.clear()
                self._skipping = False
                return None if skipped or not rest else rest
            chunk = await self._read()
            self._ended = not chunk
            self._buffer += chunk


async def serve(relay: GatewayRelay, lines: LineReader, write: Write, max_concurrent: int) -> None:
    """Relay messages until standard input ends (then let the calls in flight finish)."""
    output = _Output(write)
    slots = asyncio.Semaphore(max_concurrent)
    in_flight: set[asyncio.Task[None]] = set()

    async def relay_one(message: ClientMessage) -> None:
        try:
            answers = await relay.forward(message)
        except Exception as exc:  # a bug: the host still gets an answer, stderr the name
            log(f"relaying failed unexpectedly ({type(exc).__name__})")
            failure = RpcError(INTERNAL_ERROR, "The relay failed unexpectedly.")
            answers = [error_message(message.id, failure)] if message.expects_answer else []
        finally:
            slots.release()
        for answer in answers:
            await output.send(answer)

    try:
        while (line := await lines.next()) is not None:
            if isinstance(line, TooLong):
                await output.send(error_message(None, _too_long(lines)))
                continue
            if not line.strip():
                continue
            message = ClientMessage.of(line)
            await slots.acquire()
            if message.method == "initialize":
                await relay_one(message)
                continue
            task = asyncio.create_task(relay_one(message))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.gather(*in_flight)
    finally:
        for task in in_flight:
            task.cancel()


def _too_long(lines: LineReader) -> RpcError:
    return RpcError(
        PARSE_ERROR,
        f"Message too large: over {lines.limit} bytes (--max-message-bytes); it was not sent.",
    )


class _Output:
    """Whole messages to stdout, one per line, one writer at a time. Once the host has
    closed its end nothing more is written; the relay ends when standard input does."""

    def __init__(self, write: Write) -> None:
        self._write = write
        self._lock = asyncio.Lock()
        self._closed = False

    async def send(self, message: JsonObject) -> None:
        data = json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n"
        async with self._lock:
            if self._closed:
                return
            try:
                await self._write(data)
            except (BrokenPipeError, ConnectionResetError):
                self._closed = True
                log("the agent host closed standard output")


async def standard_streams() -> tuple[ReadChunk, Write]:
    """Non-blocking standard input and output: pipes and terminals through the event
    loop, regular files (``< requests.jsonl``) read and written directly."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_CHUNK)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except ValueError:  # a regular file: reads never wait
        stdin = sys.stdin.fileno()

        async def read_file() -> bytes:
            return os.read(stdin, _CHUNK)

        read = read_file
    else:

        async def read_pipe() -> bytes:
            return await reader.read(_CHUNK)

        read = read_pipe
    try:
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, sys.stdout
        )
    except ValueError:
        stdout = sys.stdout.buffer

        async def write_file(data: bytes) -> None:
            stdout.write(data)
            stdout.flush()

        return read, write_file
    writer = asyncio.StreamWriter(transport, protocol, None, loop)

    async def write_pipe(data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    return read, write_pipe
