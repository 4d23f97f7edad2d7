"""``lastmile serve``: run the gateway."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

import structlog
from aiohttp import web

from gateway.config import load_config


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", type=Path, help="gateway.yaml (default: the embedded one)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    from gateway.app import build_app
    from gateway.logs import configure_logging

    config = load_config(args.config)
    configure_logging(config.logging.level)
    app = build_app(config)
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    asyncio.run(_run(app, host, port))
    return 0


async def _run(app: web.Application, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM; announce ``listening`` only once the socket is bound,
    so whoever waits for that line can connect at once."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        structlog.get_logger("lastmile").info("listening", host=host, port=port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
