"""The console's live view in a fleet: how long after its answer a call served by one
process shows in another process's console stream.

Creates a fresh database on the local PostgreSQL, starts the ACME WMS sandbox and
``--processes`` ``lastmile serve`` processes sharing the audit trail on it, signs an
operator in to the first process's console and opens its live stream, then makes
``--calls`` calls through the other processes in turn, one after another. For each call
it records the time from the agent's answer to the call's row arriving on the stream
(the feed polls the trail every 0.25 s while someone watches). Writes
bench/results/fleet_console.md.

    .venv/bin/python -m bench.fleet_console          # or: make bench-fleet
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import platform
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.fleet_halts import create_database, drop_database, percentile
from bench.processes import free_port, process, wait_until_up
from gateway.demo.session import DEMO_KEYS

RESULTS = Path(__file__).parent / "results" / "fleet_console.md"
OPERATOR = DEMO_KEYS["ops-oncall"]
AGENT = DEMO_KEYS["inventory-bot"]
STOCK = {"material": "100234", "plant": "1000"}

CONFIG = """
server: {{host: 127.0.0.1, port: {port}}}
backends:
  acme_wms:
    kind: rest
    adapter: adapters.acme_warehouse
    base_url: http://127.0.0.1:{wms_port}
    health_path: /health
agents:
  - id: inventory-bot
    owner: team-logistics
    key_sha256: 7d7de57ee5d41a769264cd3872e56f9d50ae1215385a58056e3de437b40b5248
    operations: ["warehouse.stock.*"]
staff:
  - id: ops-oncall
    key_sha256: 97062f7cb3719274eba9f0168cf0ba8a237c906b894e0bdf63cda41f0f79d04b
    roles: [operator]
audit:
  store: postgres
  path: {directory}/audit.sqlite
  checkpoints: {{key: '${{FLEET_KEY}}'}}
postgres: {{dsn: '${{PG_DSN}}'}}
fleet: {{name: gw{index}}}
logging:
  level: warning
"""


async def sign_in(http: aiohttp.ClientSession, url: str) -> None:
    form = await http.get(f"{url}/console/sign-in")
    token = (await form.text()).split('name="csrf_token" value="')[1].split('"')[0]
    signed = await http.post(
        f"{url}/console/sign-in",
        data={"key": OPERATOR, "csrf_token": token},
        allow_redirects=False,
    )
    if signed.status != 303:
        raise RuntimeError(f"sign-in answered {signed.status}")


async def watch(stream: aiohttp.ClientResponse, seen: dict[str, float], calls: int) -> None:
    """Note when each request id arrives on the stream, until ``calls`` have."""
    async for line in stream.content:
        text = line.decode()
        if 'data-request-id="' in text:
            request_id = text.split('data-request-id="', 1)[1].split('"', 1)[0]
            seen.setdefault(request_id, time.perf_counter())
            if len(seen) == calls:
                return


async def drive(urls: list[str], calls: int) -> list[float]:
    """Seconds from each call's answer to its row on the first process's stream."""
    answered: dict[str, float] = {}
    seen: dict[str, float] = {}
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as viewer, aiohttp.ClientSession() as agent:
        await sign_in(viewer, urls[0])
        stream = await viewer.get(f"{urls[0]}/console/now/stream")
        await stream.content.readline()  # ": connected": subscribed from here on
        watcher = asyncio.create_task(watch(stream, seen, calls))
        headers = {"Authorization": f"Bearer {AGENT}"}
        for index in range(calls):
            url = urls[1 + index % (len(urls) - 1)]
            response = await agent.post(
                f"{url}/v1/operations/warehouse.stock.get", json=STOCK, headers=headers
            )
            body = await response.json()
            answered[body["request_id"]] = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watcher, 10)  # a call never shown is reported as missing
        stream.close()
    return [seen[r] - t for r, t in answered.items() if r in seen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    key = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
    name, dsn = asyncio.run(create_database())
    try:
        with tempfile.TemporaryDirectory() as temp, ExitStack() as stack:
            wms_port = free_port()
            stack.enter_context(
                process(["-m", "gateway", "sandbox", "--port", str(wms_port), "--db", f"{temp}/w"])
            )
            urls = []
            for index in range(args.processes):
                directory = Path(temp) / f"gw{index}"
                directory.mkdir()
                port = free_port()
                config = directory / "gateway.yaml"
                config.write_text(
                    CONFIG.format(port=port, wms_port=wms_port, directory=directory, index=index)
                )
                env = {"PG_DSN": dsn, "FLEET_KEY": key}
                stack.enter_context(
                    process(["-m", "gateway", "serve", "--config", str(config)], env)
                )
                urls.append(f"http://127.0.0.1:{port}")
            for url in urls:
                wait_until_up(url + "/healthz")
            delays = asyncio.run(drive(urls, args.calls))
    finally:
        asyncio.run(drop_database(name))
    report(args, delays)


def report(args: argparse.Namespace, delays: list[float]) -> None:
    ms = [d * 1000 for d in delays]
    text = f"""# The console's live view in a fleet

{args.calls} calls, one after another, through {args.processes - 1} `lastmile serve`
processes, watched on the live stream of another process's console (one PostgreSQL
trail; the feed polls it every 0.25 s while someone watches). Time from the agent's
answer to the call's row on the stream. {platform.node()}, {os.cpu_count()} cores,
{time.strftime("%Y-%m-%d")}.

| measure | value |
|---|---:|
| calls seen on the stream | {len(ms)} of {args.calls} |
| answer to row, p50 | {statistics.median(ms):.0f} ms |
| answer to row, p99 | {percentile(ms, 0.99):.0f} ms |
| answer to row, max | {max(ms):.0f} ms |
"""
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
