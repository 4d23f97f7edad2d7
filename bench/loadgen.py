"""Open-loop load at a fixed rate, from its own process, measuring from the scheduled time.

Requests are sent on a fixed schedule whether or not earlier ones have returned, and
each latency is measured from when the request *should* have been sent, so a stalled
server cannot hide its stall (no coordinated omission). The requests are the benchmark's
mix (``bench/workload.py``), read from a JSON file that ``bench/run.py`` writes: the
``i``-th request sent is the cycle's ``i mod n``-th, a write with a fresh key. Prints
one JSON object: latencies, and answers counted by call kind and status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.workload import fill, key

STREAM = 99  # the keys' stream number for this generator (wrk's threads count from 0)


async def run(
    base_url: str, calls: list[dict[str, Any]], rate: float, seconds: float, prefix: str
) -> dict[str, object]:
    latencies: list[float] = []
    by_kind: dict[str, dict[str, list[float]]] = {}
    statuses: dict[str, dict[int, int]] = {}
    unexpected = 0
    samples: list[str] = []  # the first unexpected answers, to say what went wrong
    errors = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(scheduled: float, call: dict[str, Any], value: str) -> None:
            nonlocal errors, unexpected
            headers = {name: fill(v, value) for name, v in call["headers"]}
            body = fill(call["body"], value).encode() if call["body"] is not None else None
            try:
                async with session.request(
                    call["method"], base_url + call["path"], data=body, headers=headers
                ) as response:
                    answer = await response.read()
                    status = response.status
            except aiohttp.ClientError:
                errors += 1
                return
            latency = (time.perf_counter() - scheduled) * 1000
            latencies.append(latency)
            kind = statuses.setdefault(call["kind"], {})
            kind[status] = kind.get(status, 0) + 1
            by_kind.setdefault(call["kind"], {"ms": []})["ms"].append(latency)
            if status != call["expect"]:
                unexpected += 1
                if len(samples) < 3:
                    samples.append(f"{status} {answer[:300].decode(errors='replace')}")

        total = int(rate * seconds)
        start = time.perf_counter() + 0.05
        tasks = []
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            call = calls[i % len(calls)]
            tasks.append(asyncio.create_task(one(scheduled, call, key(prefix, STREAM, i))))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {
        "sent": total,
        "elapsed_s": elapsed,
        "latencies_ms": latencies,
        "write_latencies_ms": by_kind.get("movement", {"ms": []})["ms"],
        "statuses": statuses,
        "unexpected": unexpected,
        "unexpected_samples": samples,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--calls", type=Path, required=True, help="JSON from bench/run.py")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--prefix", required=True, help="8 characters, unique per run")
    args = parser.parse_args()
    calls = json.loads(args.calls.read_text())
    result = asyncio.run(run(args.base_url, calls, args.rate, args.seconds, args.prefix))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
