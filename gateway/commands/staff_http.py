"""What the staff commands share: they talk to a running gateway over HTTP.

``--url`` names the gateway (default ``$LASTMILE_URL`` or http://127.0.0.1:8080); the
person's key comes from an environment variable (default ``LASTMILE_STAFF_KEY``), never
from the command line, where it would land in shell history and process lists.

The request goes out through the standard library's ``http.client``, not aiohttp: these
commands send one request and wait for one answer, and importing aiohttp's client alone
costs about 0.1 s, which a halt typed during an incident should not pay before it is sent.
Like the aiohttp session it replaced, it ignores ``HTTP(S)_PROXY``: the staff key goes to
the gateway named, nowhere else.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
from typing import Any
from urllib.parse import urlsplit

TIMEOUT_S = 60.0


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
        status, answer = _send(args.url, key, method, path, body)
    except (OSError, http.client.HTTPException) as exc:
        print(f"cannot reach the gateway at {args.url}: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # not an http(s) URL, or an answer that is not JSON
        print(f"no usable answer from {args.url}: {exc}", file=sys.stderr)
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


def _send(url: str, key: str, method: str, path: str, body: Any) -> tuple[int, Any]:
    """One request and its JSON answer (``null`` when the answer is empty)."""
    parts = urlsplit(url.rstrip("/") + path)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=TIMEOUT_S)
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(method, target, body=payload, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    return response.status, json.loads(raw) if raw else None
