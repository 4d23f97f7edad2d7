"""What does an OData call through our adapter cost, next to a bare aiohttp call?

Starts the ACME sales sandbox as its own process on a free loopback port, then reads the
same entity (``BusinessPartners('1000100')``, OData V4, with a complex type, a GUID, a
decimal and an instant) in the same run, one call at a time:

- ``aiohttp``: a bare ``session.get`` with the same bearer token and ``Accept`` header,
  the body read and ``json.loads``-ed: the floor any Python client pays;
- ``adapter``: ``ODataClient.get`` (key predicate rendered from a typed value, the shared
  HTTP boundary with its bounded read, trace headers and token source, decimals parsed
  exactly, the envelope and annotations taken off, the ETag kept);
- ``operation``: ``ODataAdapter.call`` for ``sales.business_partners.get`` (the mapping
  to the canonical model too).

It prints the median and p90 latency of each and the ratio adapter/aiohttp. Run with
``make bench-odata``; not part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from adapters import acme_sales
from adapters.http_auth import ClientCredentials
from adapters.odata import ODataAdapter, ODataSettings
from sandbox.acme_odata import CLIENT_ID, CLIENT_SECRET, V4
from schemas.sales import PartnerKey

PARTNER = "1000100"
ROUNDS = 5
ACCEPT = "application/json;odata.metadata=minimal;IEEE754Compatible=true"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sandbox(workdir: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "sandbox", "--system", "odata", "--port", str(port),
         "--db", str(workdir / "sales.sqlite")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    if process.stdout is None:
        raise RuntimeError("no sandbox output")
    for line in process.stdout:
        if "sandbox on" in line:
            break
    return process, f"http://127.0.0.1:{port}"


async def timed(call: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(name: str, samples: list[float]) -> float:
    median = statistics.median(samples)
    p90 = statistics.quantiles(samples, n=10)[-1]
    print(f"  {name:<10} median {median:7.3f} ms   p90 {p90:7.3f} ms   (n={len(samples)})")
    return median


async def bench(base: str, n: int) -> None:
    settings = ODataSettings(
        service_root=base + V4.root,
        version="4.0",
        oauth2=ClientCredentials(
            token_url=base + "/oauth/token", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        ),
    )
    adapter = ODataAdapter("acme_sales", settings, acme_sales.operations)
    await adapter.start()
    session = aiohttp.ClientSession()
    try:
        token_answer = await session.post(
            base + "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": aiohttp.encode_basic_auth(CLIENT_ID, CLIENT_SECRET)},
        )
        token = (await token_answer.json())["access_token"]
        url = f"{base}{V4.root}/BusinessPartners('{PARTNER}')"
        headers = {"Authorization": f"Bearer {token}", "Accept": ACCEPT}

        async def bare() -> Any:
            async with session.get(url, headers=headers) as response:
                return json.loads(await response.read())

        client = adapter.client(10.0)
        [operation] = [o for o in adapter.operations if o.name == "sales.business_partners.get"]
        query = PartnerKey(business_partner=PARTNER)
        for _ in range(20):  # warm up connections, the token and caches on both sides
            await bare()
            await client.get("BusinessPartners", {"BusinessPartnerID": PARTNER})
            await adapter.call(operation, query)

        # Variants take turns in rounds, so drift on a shared machine hits all alike.
        bare_ms: list[float] = []
        adapter_ms: list[float] = []
        operation_ms: list[float] = []
        for _ in range(ROUNDS):
            bare_ms += await timed(bare, n // ROUNDS)
            adapter_ms += await timed(
                lambda: client.get("BusinessPartners", {"BusinessPartnerID": PARTNER}),
                n // ROUNDS,
            )
            operation_ms += await timed(lambda: adapter.call(operation, query), n // ROUNDS)
    finally:
        await session.close()
        await adapter.close()

    print(f"OData call cost, GET BusinessPartners('{PARTNER}') (V4), {n} sequential calls each")
    floor = summary("aiohttp", bare_ms)
    ours = summary("adapter", adapter_ms)
    summary("operation", operation_ms)
    print(f"  ratio adapter/aiohttp (median): {ours / floor:.2f}")
    print(f"  machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.platform()}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="calls per variant (default 1000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lastmile-odata-bench-") as tmp:
        process, base = start_sandbox(Path(tmp))
        try:
            asyncio.run(bench(base, args.n))
        finally:
            process.terminate()
            process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
