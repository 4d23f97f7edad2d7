"""Open-loop load at a fixed rate, from its own process, measuring from the scheduled time.

Requests are sent on a fixed schedule whether or not earlier ones have returned, and
each latency is measured from when the request *should* have been sent, so a stalled
server cannot hide its stall (no coordinated omission). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp


async def run(
    url: str, rate: float, seconds: float, body: bytes | None, headers: dict[str, str]
) -> dict[str, object]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        method = "POST" if body is not None else "GET"

        async def one(scheduled: float) -> None:
            nonlocal errors
            try:
                async with session.request(method, url, data=body, headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
            except aiohttp.ClientError:
                errors += 1
                return
            latencies.append((time.perf_counter() - scheduled) * 1000)

        total = int(rate * seconds)
        start = time.perf_counter() + 0.05
        tasks = []
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(scheduled)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {
        "sent": total,
        "elapsed_s": elapsed,
        "latencies_ms": latencies,
        "statuses": statuses,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--body")
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    body = args.body.encode() if args.body else None
    print(json.dumps(asyncio.run(run(args.url, args.rate, args.seconds, body, headers))))


if __name__ == "__main__":
    main()
