"""``lastmile mcp-stdio``: MCP over stdio for agent hosts that launch their servers as
subprocesses, relayed to a running gateway.

lastmile mcp-stdio --url http://gateway.internal:8080   # key in $LASTMILE_AGENT_KEY

The process holds no gateway of its own (no config, audit store, backends or files): it
forwards each message to the gateway's ``/mcp``, so every call is authenticated, halted,
checked and recorded where operators see it. It starts fast and imports nothing heavy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from urllib.parse import urlsplit

from gateway.api.mcp.relay import GatewayRelay, RelaySettings, log
from gateway.api.mcp.stdio import LineReader, serve, standard_streams

KEY_VARIABLE = "LASTMILE_AGENT_KEY"
URL_VARIABLE = "LASTMILE_URL"
DEFAULT_URL = "http://127.0.0.1:8080"
_DEFAULTS = RelaySettings(endpoint="", key="")
_MAX_MESSAGE_BYTES = 1024 * 1024  # the gateway's default server.max_body_bytes


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mcp = commands.add_parser(
        "mcp-stdio", help="relay an agent host's MCP stdio to a running gateway"
    )
    mcp.add_argument(
        "--url",
        default=os.environ.get(URL_VARIABLE, DEFAULT_URL),
        help=f"the gateway, or its /mcp endpoint (default: ${URL_VARIABLE} or {DEFAULT_URL})",
    )
    mcp.add_argument(
        "--agent-key",
        default=None,
        help=f"the agent's API key; prefer ${KEY_VARIABLE}, which keeps it out of ps",
    )
    mcp.add_argument(
        "--timeout",
        type=_positive_float,
        default=_DEFAULTS.timeout_s,
        help=f"seconds to wait for each answer (default {_DEFAULTS.timeout_s:g})",
    )
    mcp.add_argument(
        "--connect-timeout",
        type=_positive_float,
        default=_DEFAULTS.connect_timeout_s,
        help=f"seconds to connect to the gateway (default {_DEFAULTS.connect_timeout_s:g})",
    )
    mcp.add_argument(
        "--max-message-bytes",
        type=_positive_int,
        default=_MAX_MESSAGE_BYTES,
        help=f"longest line read from the host (default {_MAX_MESSAGE_BYTES})",
    )
    mcp.add_argument(
        "--max-answer-bytes",
        type=_positive_int,
        default=_DEFAULTS.max_answer_bytes,
        help=f"largest answer read from the gateway (default {_DEFAULTS.max_answer_bytes})",
    )
    mcp.add_argument(
        "--max-concurrent",
        type=_positive_int,
        default=_DEFAULTS.max_concurrent,
        help=f"requests in flight at once (default {_DEFAULTS.max_concurrent})",
    )
    mcp.set_defaults(run=_run)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _run(args: argparse.Namespace) -> int:
    if args.agent_key:
        log(f"--agent-key shows the key in process lists; prefer ${KEY_VARIABLE}")
    key = args.agent_key or os.environ.get(KEY_VARIABLE)
    if not key:
        log(f"give the agent's key in ${KEY_VARIABLE} (or --agent-key)")
        return 2
    if not 0 < len(key) <= 512 or not all("!" <= char <= "~" for char in key):
        log("the agent key must be 1-512 visible ASCII characters")
        return 2
    endpoint = mcp_endpoint(args.url)
    if endpoint is None:
        log(f"--url must be an http(s) URL without credentials, e.g. {DEFAULT_URL}")
        return 2
    settings = RelaySettings(
        endpoint=endpoint,
        key=key,
        timeout_s=args.timeout,
        connect_timeout_s=args.connect_timeout,
        max_answer_bytes=args.max_answer_bytes,
        max_concurrent=args.max_concurrent,
    )
    return asyncio.run(_relay(settings, args.max_message_bytes))


def mcp_endpoint(url: str) -> str | None:
    """The gateway's MCP endpoint for ``--url`` (the gateway, or already its ``/mcp``)."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    path = parts.path.rstrip("/")
    if not path.endswith("/mcp"):
        path += "/mcp"
    return parts._replace(path=path, fragment="").geturl()


async def _relay(settings: RelaySettings, max_message_bytes: int) -> int:
    """Relay until standard input ends or a signal arrives; 0 either way."""
    read, write = await standard_streams()
    async with GatewayRelay(settings) as relay:
        serving = asyncio.ensure_future(
            serve(relay, LineReader(read, max_message_bytes), write, settings.max_concurrent)
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers
                loop.add_signal_handler(signum, serving.cancel)
        log(f"relaying MCP stdio to {settings.endpoint}")
        with contextlib.suppress(asyncio.CancelledError):
            await serving
    return 0
