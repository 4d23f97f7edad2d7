"""Limiter cost per check and memory per key: flat whatever the window, the goal of O(1).

At one call rate (``--rate`` calls per second on the stores' injected clock), each rate
limit of 1 s, 60 s and 1 h (limit = rate x window, so the window is always full) is first
pre-filled to steady state (a window's worth of calls), then ``--checks`` further checks
are timed one by one, in memory and in Redis (a private ``redis-server`` on a free port,
so its ``INFO commandstats`` also give the script's own time on Redis's thread, without
the round trip). Budgets (one exact charge per call) are timed the same way. Memory per
key: Python heap per rate key and per budget key in memory (tracemalloc), and Redis's
``MEMORY USAGE`` of each. Writes bench/results/fleet_limits.md.

    .venv/bin/python -m bench.fleet_limits          # or: make bench-fleet
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import subprocess
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bench.processes import free_port
from gateway.state import BudgetWindow, MemoryStateStore, Rate, RedisStateStore, StateStore

RESULTS = Path(__file__).parent / "results" / "fleet_limits.md"
WINDOWS_S = (1, 60, 3600)


class SteppedClock:
    """Time that moves one call interval per call: a steady rate, however fast we run."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Row:
    store: str
    window_s: int
    prefilled: int
    p50_us: float
    p99_us: float
    mean_us: float
    server_us: float | None = None  # the script's own time on Redis's thread, per call


async def timed(checks: int, step: Callable[[], Awaitable[object]]) -> list[float]:
    costs = []
    for _ in range(checks):
        started = time.perf_counter_ns()
        await step()
        costs.append((time.perf_counter_ns() - started) / 1000)
    return costs


async def rate_row(
    name: str,
    store: StateStore,
    clock: SteppedClock,
    window_s: int,
    args: argparse.Namespace,
    url: str | None = None,
) -> Row:
    rate_hz, checks = args.rate, args.checks
    rate = Rate(rate_hz * window_s, window_s)
    key = f"bench:{window_s}"
    for _ in range(rate_hz * window_s):  # pre-fill: a window's worth of calls at the rate
        await store.take(key, rate)
        clock.now += 1 / rate_hz

    async def step() -> None:
        await store.take(key, rate)
        clock.now += 1 / rate_hz

    await reset_server_stats(url)
    costs = await timed(checks, step)
    return Row(name, window_s, rate_hz * window_s, *summary(costs), await server_us(url))


async def reset_server_stats(url: str | None) -> None:
    if url is not None:
        client = Redis.from_url(url)
        await client.config_resetstat()
        await client.aclose()


async def server_us(url: str | None) -> float | None:
    """The scripts' mean time per call on Redis's thread since the last reset."""
    if url is None:
        return None
    client = Redis.from_url(url)
    stats = await client.info("commandstats")
    await client.aclose()
    return float(stats["cmdstat_evalsha"]["usec_per_call"])


def summary(costs: list[float]) -> tuple[float, float, float]:
    ordered = sorted(costs)
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)], statistics.mean(costs)


async def budget_row(
    name: str, store: StateStore, clock: SteppedClock, checks: int, url: str | None = None
) -> Row:
    window = BudgetWindow("2027-01-15T00:00:00Z", clock.now + 86400)

    async def step() -> None:
        await store.charge("bench:budget", window, 10_500_000, None)
        clock.now += 0.01

    await timed(1000, step)  # pre-fill
    await reset_server_stats(url)
    costs = await timed(checks, step)
    return Row(name, 86400, 1000, *summary(costs), await server_us(url))


async def memory_per_key(keys: int) -> tuple[float, float]:
    """Bytes of Python heap per rate key and per budget key in the memory store."""
    clock = SteppedClock()
    results = []
    for kind in ("rate", "budget"):
        store = MemoryStateStore(clock)
        window = BudgetWindow("w", clock.now + 86400)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for index in range(keys):
            if kind == "rate":
                await store.take(f"rl:agent:bot-{index}", Rate(600, 60))
            else:
                await store.charge(f"budget:b:agent:bot-{index}", window, 10_500_000, None)
        results.append((tracemalloc.get_traced_memory()[0] - before) / keys)
        tracemalloc.stop()
    return results[0], results[1]


async def redis_memory(url: str) -> tuple[int, int]:
    """``MEMORY USAGE`` of one rate key and one budget key, right after they were written
    (a rate key expires in Redis once its quota is whole again)."""
    store = RedisStateStore(url, prefix="memory:")
    client = Redis.from_url(url)
    try:
        await store.open()
        await store.take("rl:agent:bot", Rate(600, 60))
        await store.charge("budget:b:agent:bot", BudgetWindow("w", time.time() + 86400), 7, None)
        rate = await client.memory_usage("memory:rate:rl:agent:bot")
        budget = await client.memory_usage("memory:budget:budget:b:agent:bot")
    finally:
        await client.aclose()
        await store.close()
    return int(rate or 0), int(budget or 0)


async def wait_for(url: str) -> None:
    """Until the private server answers (bounded: 10 s)."""
    client = Redis.from_url(url)
    try:
        for _ in range(200):
            try:
                await client.ping()
                return
            except (RedisError, OSError):
                await asyncio.sleep(0.05)
        raise SystemExit(f"redis-server at {url} did not start")
    finally:
        await client.aclose()


async def warm_up(store: StateStore) -> None:
    """Connections, the loaded scripts and the interpreter's caches, before any row."""
    for _ in range(2000):
        await store.take("warm-up", Rate(10**6, 1))


async def measure(args: argparse.Namespace, url: str) -> str:
    rows: list[Row] = []
    clock = SteppedClock()
    memory = MemoryStateStore(clock)
    await warm_up(memory)
    for window_s in WINDOWS_S:
        rows.append(await rate_row("memory", memory, clock, window_s, args))
    rows.append(await budget_row("memory", memory, clock, args.checks))
    await wait_for(url)
    redis = RedisStateStore(url, clock, "bench:", server_clock=False)
    await redis.open()
    await warm_up(redis)
    for window_s in WINDOWS_S:
        rows.append(await rate_row("redis", redis, clock, window_s, args, url))
    rows.append(await budget_row("redis", redis, clock, args.checks, url))
    on_server = RedisStateStore(url, clock, "server:")
    await on_server.open()
    await reset_server_stats(url)
    costs = await timed(args.checks, lambda: on_server.take("bench", Rate(10**6, 3600)))
    rows.append(Row("redis, Redis's clock", 3600, 0, *summary(costs), await server_us(url)))
    await on_server.close()
    redis_rate, redis_budget = await redis_memory(url)
    await redis.close()
    heap_rate, heap_budget = await memory_per_key(10_000)
    return report(args, rows, (heap_rate, heap_budget, redis_rate, redis_budget))


def report(args: argparse.Namespace, rows: list[Row], memory: tuple[float, ...]) -> str:
    lines = [
        "# Limiter cost per check and memory per key",
        "",
        f"One call rate ({args.rate} calls/s on the stores' injected clock); each rate limit",
        "is rate x window, pre-filled with a window's worth of calls (steady state), then",
        f'{args.checks} checks timed one by one, round trip included; "on Redis" is the',
        "script's own time per call on Redis's single thread (`INFO commandstats`). Redis: a",
        "private redis-server, one Lua script per check. Budgets: one exact charge (integer",
        "millionths) per call.",
        f"{platform.node()}, {os.cpu_count()} cores (shared), {time.strftime('%Y-%m-%d')}.",
        "",
        "| store | limiter | window | calls in window | p50 | p99 | mean | on Redis |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        kind = "budget charge" if row.window_s == 86400 else "rate (GCRA)"
        lines.append(
            f"| {row.store} | {kind} | {row.window_s} s | {row.prefilled:,} | "
            f"{row.p50_us:.1f} µs | {row.p99_us:.1f} µs | {row.mean_us:.1f} µs | "
            + (f"{row.server_us:.2f} µs |" if row.server_us is not None else "– |")
        )
    for store in ("memory", "redis"):
        by_window = {r.window_s: r for r in rows if r.store == store}
        ratio = by_window[3600].p50_us / by_window[1].p50_us
        lines.append(f"\n{store}: p50 at 1 h / p50 at 1 s = {ratio:.2f} (flat is 1.00)")
        hour, second = by_window[3600].server_us, by_window[1].server_us
        if hour is not None and second:
            lines.append(f"{store}: on Redis at 1 h / at 1 s = {hour / second:.2f}")
    heap_rate, heap_budget, redis_rate, redis_budget = memory
    lines += [
        "",
        "| memory per key | rate | budget |",
        "|---|---:|---:|",
        f"| memory store (Python heap, 10,000 keys) | {heap_rate:.0f} B | {heap_budget:.0f} B |",
        f"| Redis (`MEMORY USAGE`) | {redis_rate} B | {redis_budget} B |",
        "",
        "Neither grows with the calls a window holds (the windowed log it replaced kept one",
        "entry per call: about 270 B each in memory, and a Redis check scanned them all).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=int, default=20, help="calls per second")
    parser.add_argument("--checks", type=int, default=5000, help="timed checks per row")
    args = parser.parse_args()
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        text = asyncio.run(measure(args, f"redis://127.0.0.1:{port}/0"))
    finally:
        server.terminate()
        server.wait(timeout=10)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
