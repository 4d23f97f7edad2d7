"""What the staff commands share: they talk to a running gateway over HTTP.

``--url`` names the gateway (default ``$LASTMILE_URL`` or http://127.0.0.1:8080); the
person's key comes from an environment variable (default ``LASTMILE_STAFF_KEY``), never
from the command line, where it would land in shell history and process lists.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

import aiohttp


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", default=os.environ.get("LASTMILE_URL", "http://127.0.0.1:8080"), help="gateway"
    )
    parser.add_argument(
        "--key-env",
        default="LASTMILE_STAFF_KEY",
        help="environment variable holding your staff key (default LASTMILE_STAFF_KEY)",
    )


def request(args: argparse.Namespace, method: str, path: str, body: Any = None) -> int:
    """Send one request; print the JSON answer; exit 0 on 2xx, 1 otherwise, 2 on setup,
    3 when a halt or resume is recorded but not yet confirmed by every gateway process."""
    key = os.environ.get(args.key_env)
    if not key:
        print(f"set {args.key_env} to your staff key", file=sys.stderr)
        return 2
    try:
        status, answer = asyncio.run(_send(args.url, key, method, path, body))
    except aiohttp.ClientError as exc:
        print(f"cannot reach the gateway at {args.url}: {exc}", file=sys.stderr)
        return 2
    stream = sys.stdout if status < 300 else sys.stderr
    print(json.dumps(answer, indent=2), file=stream)
    if isinstance(answer, dict) and answer.get("acknowledged") is False:
        waiting = ", ".join(answer.get("unconfirmed") or [])
        print(f"recorded, but not confirmed in time by: {waiting}", file=sys.stderr)
        for name, reason in (answer.get("refused_by") or {}).items():
            print(f"{name} could not adopt it: {reason}", file=sys.stderr)
        return 3
    return 0 if status < 300 else 1


async def _send(url: str, key: str, method: str, path: str, body: Any) -> tuple[int, Any]:
    timeout = aiohttp.ClientTimeout(total=60)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.request(
            method,
            url.rstrip("/") + path,
            json=body,
            headers={"Authorization": f"Bearer {key}"},
        ) as response,
    ):
        return response.status, await response.json(content_type=None)
