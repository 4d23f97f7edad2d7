"""``lastmile demo``: the scripted agent session on loopback."""

from __future__ import annotations

import argparse
import asyncio


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser("demo", help="play a scripted agent session on loopback")
    demo.add_argument("--keep-running", action="store_true", help="stay up and print curl lines")
    demo.add_argument(
        "--warehouse-adapter",
        choices=("handwritten", "openapi"),
        default="handwritten",
        help="openapi: play the warehouse chapter on an adapter generated from the WMS "
        "sandbox's OpenAPI description (docs/openapi.md)",
    )
    demo.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    from gateway.demo.runner import run_demo

    return asyncio.run(
        run_demo(keep_running=args.keep_running, warehouse_adapter=args.warehouse_adapter)
    )
