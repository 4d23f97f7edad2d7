"""``lastmile serve``: run the gateway until SIGINT or SIGTERM.

The server is started by hand rather than with ``web.run_app`` so that the
``listening`` log line comes only once the socket accepts connections: supervisors
and tests can wait for it instead of polling.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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
    gc.freeze()  # what start-up built lives as long as the process: keep it out of collections
    asyncio.run(serve_until_stopped(app, host, port))
    return 0


async def serve_until_stopped(app: web.Application, host: str, port: int) -> None:
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, backlog=1024)
        await site.start()
        log = structlog.get_logger("lastmile")
        log.info("listening", host=host, port=port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()
