"""``lastmile mcp-stdio``: serve one agent's tools over MCP's stdio transport.

For agent hosts that launch their MCP servers as subprocesses. The process builds the
same application as ``lastmile serve`` (adapters, audit store, pipeline) without
listening on a port, and answers on stdin/stdout; logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.config import Config, load_config

if TYPE_CHECKING:
    from gateway.api.mcp.stdio import Write

KEY_VARIABLE = "LASTMILE_AGENT_KEY"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mcp = commands.add_parser("mcp-stdio", help="serve an agent's tools over MCP stdio")
    mcp.add_argument(
        "--agent-key",
        default=None,
        help=f"the agent's API key (default: ${KEY_VARIABLE}, which keeps it out of ps)",
    )
    mcp.add_argument("--config", type=Path, help="gateway.yaml (default: the embedded one)")
    mcp.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    key = args.agent_key or os.environ.get(KEY_VARIABLE)
    if not key:
        print(f"lastmile mcp-stdio: give --agent-key or set {KEY_VARIABLE}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(load_config(args.config), key))


async def _serve(config: Config, key: str) -> int:
    from aiohttp import web

    from gateway.api.mcp import stdio
    from gateway.api.mcp.protocol import McpHandler
    from gateway.app import build_app
    from gateway.appkeys import AGENTS, PIPELINE, REGISTRY
    from gateway.logs import configure_logging
    from schemas.errors import Unauthenticated

    configure_logging(config.logging.level, sys.stderr)
    app = build_app(config)
    handler = McpHandler(app[REGISTRY], app[AGENTS], app[PIPELINE])
    try:
        handler.authenticate(f"Bearer {key}")
    except Unauthenticated as exc:
        print(f"lastmile mcp-stdio: {exc.detail}", file=sys.stderr)
        return 2
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()  # opens the audit store and the adapters
    try:
        reader, write = await _standard_streams(config.server.max_body_bytes)
        await stdio.serve(handler, f"Bearer {key}", reader, write)
    finally:
        await runner.cleanup()
    return 0


async def _standard_streams(limit: int) -> tuple[asyncio.StreamReader, Write]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=limit)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, sys.stdout
    )
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)

    async def write(data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    return reader, write
