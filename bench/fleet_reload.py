"""Configuration reload propagation in a fleet: how long until a new version is in force
everywhere.

Creates a fresh database on the local PostgreSQL, starts the ACME WMS sandbox and three
``lastmile serve`` processes on it (as bench/fleet_halts.py does), then sends ``--reloads``
reloads through the processes in turn, alternately revoking an agent and restoring it,
and times each request until its acknowledged answer (every live process adopted the
version: parsed, checked, compiled and swapped in, and confirmed in the registry). Writes
bench/results/fleet_reload.md.

    .venv/bin/python -m bench.fleet_reload
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import aiohttp

from bench.fleet_halts import CONFIG, OPERATOR, create_database, drop_database, percentile
from bench.processes import free_port, process, wait_until_up

RESULTS = Path(__file__).parent / "results" / "fleet_reload.md"
KEPT = '    operations: ["warehouse.stock.*"]\n'


async def drive(urls: list[str], texts: list[str], count: int) -> tuple[list[float], int]:
    """Seconds from sending each reload to its answer; how many were acknowledged."""
    waits, acknowledged = [], 0
    headers = {"Authorization": f"Bearer {OPERATOR}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for index in range(count):
            member = index % len(urls)
            text = texts[member]
            if index % 2 == 0:
                text = text.replace(KEPT, KEPT + "    revoked: true\n")
            started = time.perf_counter()
            response = await http.post(
                f"{urls[member]}/v1/admin/config", json={"text": text, "source": "bench"}
            )
            answer = await response.json()
            waits.append(time.perf_counter() - started)
            acknowledged += bool(answer.get("acknowledged"))
    return waits, acknowledged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--reloads", type=int, default=40)
    args = parser.parse_args()
    name, dsn = asyncio.run(create_database())
    try:
        with tempfile.TemporaryDirectory() as temp, ExitStack() as stack:
            wms_port = free_port()
            wms_db = f"{temp}/wms.sqlite"
            stack.enter_context(
                process(["-m", "gateway", "sandbox", "--port", str(wms_port), "--db", wms_db])
            )
            urls, texts = [], []
            for index in range(args.processes):
                directory = Path(temp) / f"gw{index}"
                directory.mkdir()
                port = free_port()
                text = CONFIG.format(port=port, wms_port=wms_port, directory=directory, index=index)
                config = directory / "gateway.yaml"
                config.write_text(text)
                stack.enter_context(
                    process(["-m", "gateway", "serve", "--config", str(config)], {"PG_DSN": dsn})
                )
                urls.append(f"http://127.0.0.1:{port}")
                texts.append(text)
            for url in urls:
                wait_until_up(url + "/healthz")
            waits, acknowledged = asyncio.run(drive(urls, texts, args.reloads))
    finally:
        asyncio.run(drop_database(name))
    report(args, waits, acknowledged)


def report(args: argparse.Namespace, waits: list[float], acknowledged: int) -> None:
    ms = [w * 1000 for w in waits]
    text = f"""# Configuration reload propagation in a fleet

{args.reloads} reloads (alternately revoking and restoring an agent), in turn through
{args.processes} `lastmile serve` processes on one PostgreSQL database (versions announced
by NOTIFY; each answer waits until every live process has parsed, checked and swapped in
the version and confirmed it in the registry). {platform.node()}, {os.cpu_count()} cores,
{time.strftime("%Y-%m-%d")}.

| measure | value |
|---|---:|
| acknowledged answers | {acknowledged} of {len(ms)} |
| time to in force everywhere, p50 | {statistics.median(ms):.1f} ms |
| time to in force everywhere, p99 | {percentile(ms, 0.99):.1f} ms |
| time to in force everywhere, max | {max(ms):.1f} ms |
"""
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
