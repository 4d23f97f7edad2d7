"""``lastmile serve``: run the gateway."""

from __future__ import annotations

import argparse
from collections.abc import Callable
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
    web.run_app(app, host=host, port=port, access_log=None, print=_announce(host, port))
    return 0


def _announce(host: str, port: int) -> Callable[..., None]:
    """Logs "listening" once the sockets are bound: aiohttp calls ``print`` after the sites
    start, whereas ``on_startup`` runs before, so a client could be refused after the line."""

    def announce(*_message: object) -> None:
        structlog.get_logger("lastmile").info("listening", host=host, port=port)

    return announce
