"""Overload scenario: ten times a backend's concurrency, from a separate process.

Starts the ACME WMS sandbox and the gateway as their own processes (``lastmile sandbox``,
``lastmile serve``) on free loopback ports, makes the warehouse slow (every API call
takes ``--backend-ms``), and drives ``--factor`` x the bulkhead's ``max_concurrent``
concurrent agents at it for ``--seconds``. Reports what the issue asks for: the
backend's maximum observed concurrency (from the sandbox's own counter), the shed rate,
and the latency of rejected calls (client-observed and the gateway's own share from
``Server-Timing``), written to ``bench/results/overload.md``.

    .venv/bin/python -m bench.overload          # or: make bench-overload
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from gateway.demo.session import DEMO_KEYS

KEY = DEMO_KEYS["inventory-bot"]
RESULTS = Path(__file__).parent / "results" / "overload.md"

CONFIG = """
server: {{host: 127.0.0.1, port: {gateway_port}}}
backends:
  acme_wms:
    kind: rest
    adapter: adapters.acme_warehouse
    base_url: http://127.0.0.1:{wms_port}
    health_path: /health
    timeouts: {{connect_s: 2, read_s: 10, total_s: 10}}
agents:
  - id: inventory-bot
    owner: team-logistics
    key_sha256: 7d7de57ee5d41a769264cd3872e56f9d50ae1215385a58056e3de437b40b5248
    operations: ["warehouse.stock.*"]
resilience:
  backends:
    acme_wms:
      bulkhead: {{max_concurrent: {limit}, max_queue: {queue}, queue_timeout_s: 2}}
      retry: {{attempts: 1}}
audit:
  path: {audit}
logging:
  level: warning
"""


@dataclass
class Tally:
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    gateway_ms: dict[str, list[float]] = field(default_factory=dict)
    codes: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: str, latency_ms: float, gateway_ms: float | None) -> None:
        self.codes[outcome] += 1
        self.latencies_ms.setdefault(outcome, []).append(latency_ms)
        if gateway_ms is not None:
            self.gateway_ms.setdefault(outcome, []).append(gateway_ms)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def lastmile(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def wait_until_up(http: aiohttp.ClientSession, url: str) -> None:
    for _ in range(200):
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(url) as response:
                if response.status < 500:
                    return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * p / 100), len(ordered) - 1)]


def gateway_share(server_timing: str | None) -> float | None:
    if not server_timing:
        return None
    for part in server_timing.split(","):
        name, _, duration = part.strip().partition(";dur=")
        if name == "gateway":
            return float(duration)
    return None


async def agent(
    http: aiohttp.ClientSession, url: str, until: float, tally: Tally, polite: bool
) -> None:
    """One agent calling in a loop; a polite one waits out Retry-After after a 503, plus
    up to a second of jitter (as a well-behaved client would, so retries do not arrive
    in lockstep)."""
    body = {"material": "100234", "plant": "1000"}
    headers = {"Authorization": f"Bearer {KEY}"}
    while time.perf_counter() < until:
        started = time.perf_counter()
        async with http.post(url, json=body, headers=headers) as response:
            payload = await response.json()
            outcome = "ok" if response.status == 200 else str(payload.get("code"))
            share = gateway_share(response.headers.get("Server-Timing"))
            retry_after = float(response.headers.get("Retry-After", 0))
        tally.add(outcome, (time.perf_counter() - started) * 1000, share)
        if polite and retry_after:
            await asyncio.sleep(retry_after + random.random())  # noqa: S311 - jitter


AUDIT_PLACES = (  # tmpfs shows the gateway's own cost of a rejection, without the disk
    (None, "audit trail on disk"),
    (
        Path("/dev/shm"),  # noqa: S108 - a fresh private temporary directory inside it
        "audit trail on tmpfs: the gateway's own cost, without the fsync",
    ),
)


async def run(args: argparse.Namespace) -> str:
    agents = args.limit * args.factor
    sections = [header(args, agents)]
    for place, label in AUDIT_PLACES:
        if place is not None and not place.is_dir():
            continue
        with tempfile.TemporaryDirectory(prefix="lastmile-bench-", dir=place) as audit_dir:
            sections += await run_processes(args, Path(audit_dir) / "audit.sqlite", label)
    sections.append(
        "Client-observed latency includes the load generator's own scheduling on a shared "
        "2-core machine; the gateway's share (Server-Timing) is what a rejection costs the "
        "gateway, including its durable audit event (SQLite WAL, synchronous=FULL, one fsync "
        "per group commit; a call arriving during a commit waits for that one and its own). "
        "Backend calls and max concurrency are the sandbox's own counters, cumulative over "
        "a gateway's two scenarios.\n"
    )
    return "\n".join(sections)


async def run_processes(args: argparse.Namespace, audit: Path, label: str) -> list[str]:
    wms_port, gateway_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="lastmile-bench-") as tmp:
        config = Path(tmp) / "gateway.yaml"
        config.write_text(
            CONFIG.format(
                gateway_port=gateway_port,
                wms_port=wms_port,
                limit=args.limit,
                queue=args.queue,
                audit=audit,
            )
        )
        wms = lastmile("sandbox", "--port", str(wms_port), "--db", str(Path(tmp) / "wms.sqlite"))
        gateway = lastmile("serve", "--config", str(config))
        try:
            return await drive(args, wms_port, gateway_port, label)
        finally:
            for process in (gateway, wms):
                process.terminate()
                process.wait(timeout=10)


async def drive(
    args: argparse.Namespace, wms_port: int, gateway_port: int, label: str
) -> list[str]:
    wms_url, gateway_url = f"http://127.0.0.1:{wms_port}", f"http://127.0.0.1:{gateway_port}"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        await wait_until_up(http, f"{wms_url}/health")
        await wait_until_up(http, f"{gateway_url}/healthz")
        delay = {"mode": "slow", "delay_s": args.backend_ms / 1000}
        async with http.post(f"{wms_url}/_sandbox/faults", json=delay) as response:
            response.raise_for_status()
        agents = args.limit * args.factor
        url = f"{gateway_url}/v1/operations/warehouse.stock.get"
        sections = []
        for polite, title in (
            (True, f"Agents that wait out Retry-After, {label}"),
            (False, f"Misbehaving agents that call again at once, {label}"),
        ):
            tally = Tally()
            until = time.perf_counter() + args.seconds
            await asyncio.gather(*(agent(http, url, until, tally, polite) for _ in range(agents)))
            async with http.get(f"{wms_url}/_sandbox/stats") as response:
                stats = await response.json()
            sections.append(report(args, title, tally, stats))
    return sections


def header(args: argparse.Namespace, agents: int) -> str:
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return "\n".join(
        [
            "# Overload: 10x a backend's concurrency",
            "",
            f"`make bench-overload` on {platform.machine()} {platform.system()}, Python "
            f"{platform.python_version()}, {now}. Gateway and ACME WMS sandbox run in their own "
            f"processes; {agents} concurrent agents (the load generator, a third process) call "
            f"`warehouse.stock.get` for {args.seconds:g} s per scenario against a bulkhead of "
            f"max_concurrent={args.limit}, max_queue={args.queue}; every backend call takes "
            f"{args.backend_ms:g} ms.",
            "",
        ]
    )


def report(args: argparse.Namespace, title: str, tally: Tally, stats: dict[str, int]) -> str:
    total = sum(tally.codes.values())
    shed = tally.codes.get("backend_busy", 0)
    rejected = tally.latencies_ms.get("backend_busy", [])
    rejected_gw = tally.gateway_ms.get("backend_busy", [])
    ok = tally.latencies_ms.get("ok", [])
    lines = [
        f"## {title}",
        "",
        "| measure | value |",
        "|---|---|",
        f"| calls | {total} ({', '.join(f'{k}: {v}' for k, v in tally.codes.most_common())}) |",
        f"| backend max observed concurrency | **{stats['max_in_flight']}** (limit {args.limit}) |",
        f"| backend calls | {stats['api_calls']} |",
        f"| shed rate (503 backend_busy) | **{shed / total:.1%}** |",
        f"| rejected calls: p50 / p99 latency, client-observed | "
        f"{percentile(rejected, 50):.2f} ms / **{percentile(rejected, 99):.2f} ms** |",
        f"| rejected calls: p50 / p99 gateway time (Server-Timing) | "
        f"{percentile(rejected_gw, 50):.2f} ms / {percentile(rejected_gw, 99):.2f} ms |",
        f"| served calls: p50 / p99 latency | {percentile(ok, 50):.1f} ms / "
        f"{percentile(ok, 99):.1f} ms |",
        f"| served calls: mean | {statistics.fmean(ok) if ok else float('nan'):.1f} ms |",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=8, help="bulkhead max_concurrent")
    parser.add_argument("--queue", type=int, default=8, help="bulkhead max_queue")
    parser.add_argument("--factor", type=int, default=10, help="agents = factor x limit")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--backend-ms", type=float, default=50.0)
    args = parser.parse_args()
    text = asyncio.run(run(args))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
