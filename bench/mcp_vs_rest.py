"""The gateway's own share of a call over MCP versus REST, on loopback.

    .venv/bin/python bench/mcp_vs_rest.py [--calls 300]

Starts the ACME WMS sandbox and the gateway (embedded config) in process, then
alternates the same read (warehouse.stock.get) over REST and over MCP (2026-07-28,
stateless) so both see the same machine load. Reports the gateway's share from
``Server-Timing`` (which includes the durable audit write) and the client round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

from aiohttp import ClientSession, web

from gateway.app import build_app
from gateway.config import load_config
from gateway.demo.runner import start_site
from gateway.demo.session import DEMO_KEYS
from gateway.logs import configure_logging
from sandbox import acme_warehouse

ARGS = {"material": "100234", "plant": "1000"}
VERSION = "2026-07-28"


async def run(calls: int) -> None:
    configure_logging("warning", io.StringIO())
    with tempfile.TemporaryDirectory() as tmp:
        async with AsyncExitStack() as stack, ClientSession() as http:
            wms = await start_site(acme_warehouse.create_app(Path(tmp) / "wms.sqlite"), stack)
            env = {
                **os.environ,
                "LASTMILE_ACME_WMS_URL": wms,
                "LASTMILE_AUDIT_DB": str(Path(tmp) / "audit.sqlite"),
            }
            app: web.Application = build_app(load_config(env=env))
            url = await start_site(app, stack)
            auth = {"Authorization": f"Bearer {DEMO_KEYS['inventory-bot']}"}
            samples: dict[str, tuple[list[float], list[float]]] = {
                "rest": ([], []),
                "mcp": ([], []),
            }
            for i in range(2 * calls):
                face = ("rest", "mcp")[i % 2]
                started = time.perf_counter()
                if face == "rest":
                    request = http.post(
                        f"{url}/v1/operations/warehouse.stock.get", json=ARGS, headers=auth
                    )
                else:
                    meta = {
                        "io.modelcontextprotocol/protocolVersion": VERSION,
                        "io.modelcontextprotocol/clientCapabilities": {},
                    }
                    body = {
                        "jsonrpc": "2.0",
                        "id": i,
                        "method": "tools/call",
                        "params": {"name": "warehouse_stock_get", "arguments": ARGS, "_meta": meta},
                    }
                    headers = {
                        **auth,
                        "MCP-Protocol-Version": VERSION,
                        "Mcp-Method": "tools/call",
                        "Mcp-Name": "warehouse_stock_get",
                    }
                    request = http.post(f"{url}/mcp", json=body, headers=headers)
                async with request as response:
                    await response.read()
                    assert response.status == 200, response.status
                gateway_ms = float(response.headers["Server-Timing"].split(",")[0].split("=")[1])
                samples[face][0].append(gateway_ms)
                samples[face][1].append((time.perf_counter() - started) * 1000)
    for face, (share, trip) in samples.items():
        share.sort()
        trip.sort()
        n, p95 = len(share), int(len(share) * 0.95)
        print(
            f"{face:>4}: gateway share p50 {share[n // 2]:.3f} ms, p95 {share[p95]:.3f} ms;"
            f" round trip p50 {trip[n // 2]:.3f} ms, p95 {trip[p95]:.3f} ms (n={n})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300, help="calls per face")
    asyncio.run(run(parser.parse_args().calls))


if __name__ == "__main__":
    main()
