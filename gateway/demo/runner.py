"""``lastmile demo``: the sandboxes, the gateway and a scripted agent, all on loopback.

Everything goes through real sockets: each sandbox system on a free port, the gateway
on another, and an agent session over HTTP. The story is a sequence of chapters
(:data:`CHAPTERS`), each a module of its own; every step states what it expects, and
the demo exits non-zero if any step sees something else.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TextIO

import aiohttp
from aiohttp import web

from gateway.app import build_app
from gateway.appkeys import AUDIT_STORE
from gateway.config import default_config_text, load_config, parse_config
from gateway.connections.budget import ConnectionBudget, budget_for
from gateway.connections.runner import start_gateway
from gateway.demo import (
    audit_trail,
    finance,
    guardrails,
    mcp,
    resilience,
    sales,
    warehouse,
    warehouse_openapi,
)
from gateway.demo.session import DEMO_KEYS, Chapter, DemoContext, DemoFailed
from gateway.logs import configure_logging
from sandbox import acme_finance, acme_odata, acme_warehouse

SandboxFactory = Callable[[Path], web.Application]

SANDBOXES: tuple[tuple[str, str, SandboxFactory], ...] = (
    # name, environment variable the embedded config reads its URL from, app factory(workdir)
    ("acme_wms", "LASTMILE_ACME_WMS_URL", lambda d: acme_warehouse.create_app(d / "wms.sqlite")),
    ("acme_erp", "LASTMILE_ACME_ERP_URL", lambda d: acme_finance.create_app(d / "erp.sqlite")),
    ("acme_sales", "LASTMILE_ACME_SALES_URL", lambda d: acme_odata.create_app(d / "sales.sqlite")),
)

CHAPTERS: tuple[Chapter, ...] = (
    warehouse.play,
    finance.play,
    sales.play,
    mcp.play,
    resilience.play,
    guardrails.play,
    audit_trail.play,
)


async def start_site(app: web.Application, stack: AsyncExitStack) -> str:
    """Serve ``app`` on a free loopback port; return its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}"


async def start_guarded_site(
    app: web.Application, budget: ConnectionBudget, stack: AsyncExitStack
) -> str:
    """Serve the gateway as ``lastmile serve`` does (read deadlines, connection cap) on a
    free loopback port; return its base URL."""
    runner = await start_gateway(app, budget, "127.0.0.1", 0)
    stack.push_async_callback(runner.cleanup)
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}"


async def run_demo(
    keep_running: bool = False, out: TextIO | None = None, warehouse_adapter: str = "handwritten"
) -> int:
    """Play the story; ``warehouse_adapter="openapi"`` plays only the warehouse chapter, on
    an adapter generated from the WMS sandbox's OpenAPI description."""
    out = out or sys.stdout
    with tempfile.TemporaryDirectory(prefix="lastmile-demo-") as tmp:
        workdir = Path(tmp)
        log_path = workdir / "gateway.log"
        with log_path.open("w") as log_file:
            configure_logging("info", log_file)
            async with AsyncExitStack() as stack:
                env = dict(os.environ)
                urls: dict[str, str] = {}
                for name, variable, factory in SANDBOXES:
                    urls[name] = env[variable] = await start_site(factory(workdir), stack)
                env["LASTMILE_AUDIT_DB"] = str(workdir / "audit.sqlite")
                env["LASTMILE_APPROVALS_DB"] = str(workdir / "approvals.sqlite")
                env["LASTMILE_AUDIT_KEY_FILE"] = str(workdir / "audit-signing.pem")
                chapters = CHAPTERS
                if warehouse_adapter == "openapi":
                    text, summary = await warehouse_openapi.prepare(
                        default_config_text(), urls["acme_wms"], workdir
                    )
                    print(f"lastmile demo: generated from the WMS's OpenAPI: {summary}", file=out)
                    config = parse_config(text, "demo config with the generated adapter", env)
                    chapters = (warehouse_openapi.play,)
                else:
                    config = load_config(env=env)
                app = build_app(config)
                gateway_url = await start_guarded_site(app, budget_for(config), stack)
                systems = ", ".join(f"{name} at {url}" for name, url in urls.items())
                print(f"lastmile demo: sandboxes {systems}; gateway at {gateway_url}", file=out)
                demo = DemoContext(
                    http=await stack.enter_async_context(aiohttp.ClientSession()),
                    gateway_url=gateway_url,
                    out=out,
                    audit=lambda: app[AUDIT_STORE].query(limit=1000),
                    audit_store=app[AUDIT_STORE],
                    sandbox_urls=urls,
                )
                try:
                    for chapter in chapters:
                        await chapter(demo)
                except (DemoFailed, aiohttp.ClientError, KeyError) as exc:
                    log_file.flush()
                    tail = log_path.read_text().splitlines()[-20:]
                    print(f"\nDEMO FAILED: {exc!r}\nlast gateway log lines:", file=out)
                    print("\n".join(tail), file=out)
                    return 1
                print("\nThe demo ran as expected: every call took the guarded path.", file=out)
                if keep_running:
                    _print_curl_lines(gateway_url, out)
                    await _wait_for_signal()
        return 0


def _print_curl_lines(url: str, out: TextIO) -> None:
    key = DEMO_KEYS["inventory-bot"]
    print("\nEverything stays up until Ctrl-C. Try:", file=out)
    print(f"  curl -s {url}/v1/operations -H 'Authorization: Bearer {key}'", file=out)
    print(
        f"  curl -s {url}/v1/operations/warehouse.stock.get -H 'Authorization: Bearer {key}' "
        '-H \'Content-Type: application/json\' -d \'{"material": "100235", "plant": "1000"}\'',
        file=out,
    )
    support = DEMO_KEYS["support-bot"]
    print(
        f"  curl -s {url}/v1/operations/finance.invoices.list -H 'Authorization: Bearer "
        f"{support}' -H 'Content-Type: application/json' -d '{{\"customer_id\": \"100001\"}}'",
        file=out,
    )
    print(
        f"  MCP: point an agent host at {url}/mcp with 'Authorization: Bearer {key}' (docs/mcp.md)",
        file=out,
    )
    print(f"  curl -s {url}/readyz", file=out)
    print(
        f"  The console: open {url}/console and sign in with a staff key: "
        f"{DEMO_KEYS['maria.schmidt']} (approver), {DEMO_KEYS['ops-oncall']} (operator), "
        f"{DEMO_KEYS['kpmg-auditor']} (auditor)",
        file=out,
        flush=True,
    )


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
