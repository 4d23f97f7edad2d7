"""Halt acknowledgement in a fleet: how long an operator waits for "in force everywhere".

Creates a fresh database on the local PostgreSQL, starts the ACME WMS sandbox and three
``lastmile serve`` processes on it (halts on PostgreSQL, as in docs/fleet.md), then places
and lifts ``--halts`` halts through the processes in turn, timing each request until its
acknowledged answer (every live process confirmed). Writes bench/results/fleet_halts.md.

    .venv/bin/python -m bench.fleet_halts          # or: make bench-fleet
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import aiohttp
import asyncpg

from bench.processes import free_port, process, wait_until_up
from gateway.demo.session import DEMO_KEYS

RESULTS = Path(__file__).parent / "results" / "fleet_halts.md"
SERVER_DSN = os.environ.get("LASTMILE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
OPERATOR = DEMO_KEYS["ops-oncall"]

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
  path: {directory}/audit.sqlite
postgres: {{dsn: '${{PG_DSN}}'}}
fleet: {{name: gw{index}}}
guardrails:
  halts: {{store: postgres}}
logging:
  level: warning
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def drive(urls: list[str], count: int) -> tuple[list[float], int]:
    """Seconds from sending each halt or resume to its answer; how many were acknowledged."""
    waits, acknowledged = [], 0
    headers = {"Authorization": f"Bearer {OPERATOR}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for index in range(count):
            url = urls[index % len(urls)]
            started = time.perf_counter()
            if index % 2 == 0:
                body = {"scope": "agent", "target": "inventory-bot", "reason": f"bench {index}"}
                response = await http.post(f"{url}/v1/admin/halts", json=body)
            else:
                response = await http.delete(f"{url}/v1/admin/halts/agent:inventory-bot")
            answer = await response.json()
            waits.append(time.perf_counter() - started)
            acknowledged += bool(answer.get("acknowledged"))
    return waits, acknowledged


async def create_database() -> tuple[str, str]:
    name = f"lastmile_bench_{uuid.uuid4().hex[:12]}"
    server = await asyncpg.connect(SERVER_DSN)
    await server.execute(f'CREATE DATABASE "{name}"')
    await server.close()
    return name, SERVER_DSN.rpartition("/")[0] + f"/{name}"


async def drop_database(name: str) -> None:
    server = await asyncpg.connect(SERVER_DSN)
    await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--halts", type=int, default=100)
    args = parser.parse_args()
    name, dsn = asyncio.run(create_database())
    try:
        with tempfile.TemporaryDirectory() as temp, ExitStack() as stack:
            wms_port = free_port()
            stack.enter_context(
                process(
                    [
                        "-m",
                        "gateway",
                        "sandbox",
                        "--port",
                        str(wms_port),
                        "--db",
                        f"{temp}/wms.sqlite",
                    ]
                )
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
                stack.enter_context(
                    process(["-m", "gateway", "serve", "--config", str(config)], {"PG_DSN": dsn})
                )
                urls.append(f"http://127.0.0.1:{port}")
            for url in urls:
                wait_until_up(url + "/healthz")
            waits, acknowledged = asyncio.run(drive(urls, args.halts))
    finally:
        asyncio.run(drop_database(name))
    report(args, waits, acknowledged)


def report(args: argparse.Namespace, waits: list[float], acknowledged: int) -> None:
    ms = [w * 1000 for w in waits]
    text = f"""# Halt acknowledgement in a fleet

{args.halts} halts and resumes, in turn through {args.processes} `lastmile serve` processes on
one PostgreSQL database (halts pushed by NOTIFY, each answer waiting until every live
process confirmed). {platform.node()}, {os.cpu_count()} cores, {time.strftime("%Y-%m-%d")}.

| measure | value |
|---|---:|
| acknowledged answers | {acknowledged} of {len(ms)} |
| time to acknowledged, p50 | {statistics.median(ms):.1f} ms |
| time to acknowledged, p99 | {percentile(ms, 0.99):.1f} ms |
| time to acknowledged, max | {max(ms):.1f} ms |
"""
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
