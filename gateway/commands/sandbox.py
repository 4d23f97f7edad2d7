"""``lastmile sandbox``: run a simulated legacy system on loopback."""

from __future__ import annotations

import argparse
from pathlib import Path

from aiohttp import web


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = commands.add_parser("sandbox", help="run the ACME WMS sandbox system")
    sandbox.add_argument("--port", type=int, default=8081)
    sandbox.add_argument("--db", type=Path, default=Path("acme_wms.sqlite"))
    sandbox.set_defaults(run=_sandbox)


def _sandbox(args: argparse.Namespace) -> int:
    from sandbox import acme_warehouse

    print(f"ACME WMS sandbox on http://127.0.0.1:{args.port} (data in {args.db})", flush=True)
    web.run_app(acme_warehouse.create_app(args.db), host="127.0.0.1", port=args.port, print=None)
    return 0
