"""What does a SOAP call through our adapter cost, next to a bare zeep call?

Starts the ACME ERP sandbox as its own process on a free loopback port, then calls the
same operation (``ZFI_INVOICE_GET``, a header, two items and a RETURN table) in the same
run, one call at a time:

- ``zeep``: ``client.service.ZFI_INVOICE_GET(...)``, zeep's own sync client (requests);
- ``adapter``: ``WsdlClient.call`` (zeep builds and reads the XML, aiohttp carries it,
  the hardened parser, RETURN check and conversion to plain Python included);
- ``operation``: ``SoapAdapter.call`` for ``finance.invoices.get`` (the mapping too).

It prints the median and p90 latency of each and the ratio adapter/zeep, plus the CPU
time of our XML work alone (build the request, read the reply) without the network.
Run with ``make bench-soap``; not part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
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

import zeep

from adapters import acme_finance
from adapters.http import HttpReply
from adapters.soap import SoapAdapter, SoapSettings
from adapters.soap_wsdl import WsdlSource
from schemas.finance import InvoiceQuery

ENDPOINT = "/sap/bc/srt/acme/finance"
BELNR = "9000000001"
ROUNDS = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sandbox(workdir: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "sandbox", "--system", "erp", "--port", str(port),
         "--db", str(workdir / "erp.sqlite")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    if process.stdout is None:
        raise RuntimeError("no sandbox output")
    for line in process.stdout:
        if "sandbox on" in line:
            break
    return process, f"http://127.0.0.1:{port}{ENDPOINT}"


def timed_sync(call: Callable[[], Any], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def timed_async(call: Callable[[], Awaitable[Any]], n: int) -> list[float]:
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


async def bench(url: str, n: int, workdir: Path) -> None:
    transport = zeep.Transport()
    transport.session.trust_env = False
    bare = zeep.Client(url + "?wsdl", transport=transport).service
    adapter = SoapAdapter(
        "acme_erp",
        SoapSettings(wsdl=WsdlSource(url + "?wsdl", cache_path=workdir / "wsdl.sqlite")),
        acme_finance.operations,
    )
    await adapter.start()
    try:
        client = adapter.client(10.0)
        [operation] = [op for op in adapter.operations if op.name == "finance.invoices.get"]
        query = InvoiceQuery(invoice_number=BELNR)
        for _ in range(20):  # warm up connections and caches on both sides
            bare.ZFI_INVOICE_GET(BELNR=BELNR)
            await client.call("ZFI_INVOICE_GET", BELNR=BELNR)

        # zeep's client blocks; the sandbox runs in its own process, so this is fair.
        # Variants take turns in rounds, so drift on a shared machine hits all alike.
        zeep_ms: list[float] = []
        adapter_ms: list[float] = []
        operation_ms: list[float] = []
        for _ in range(ROUNDS):
            zeep_ms += timed_sync(lambda: bare.ZFI_INVOICE_GET(BELNR=BELNR), n // ROUNDS)
            adapter_ms += await timed_async(
                lambda: client.call("ZFI_INVOICE_GET", BELNR=BELNR), n // ROUNDS
            )
            operation_ms += await timed_async(lambda: adapter.call(operation, query), n // ROUNDS)
        xml_ms = xml_work(adapter, n)
    finally:
        await adapter.close()

    print(f"SOAP call cost, ZFI_INVOICE_GET, {n} sequential calls each")
    base = summary("zeep", zeep_ms)
    ours = summary("adapter", adapter_ms)
    summary("operation", operation_ms)
    print(f"  ratio adapter/zeep (median): {ours / base:.2f}")
    print(f"  our XML work alone (build request + read reply): {xml_ms:.3f} ms per call")
    print(f"  machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.platform()}")  # fmt: skip


def xml_work(adapter: SoapAdapter, n: int) -> float:
    """CPU time per call of building the envelope and reading a captured reply."""
    from zeep.wsdl.utils import etree_to_string

    wsdl = adapter.wsdl
    if wsdl is None:
        raise RuntimeError("adapter not started")
    client = adapter.client(10.0)
    op = wsdl.binding.get("ZFI_INVOICE_GET")
    envelope, _ = wsdl.binding._create(
        "ZFI_INVOICE_GET", (), {"BELNR": BELNR}, client=wsdl.client, options={"address": ""}
    )
    raw = _captured_reply(adapter)
    started = time.perf_counter()
    for _ in range(n):
        envelope, _ = wsdl.binding._create(
            "ZFI_INVOICE_GET", (), {"BELNR": BELNR}, client=wsdl.client, options={"address": ""}
        )
        etree_to_string(envelope)
        client._reply(op, HttpReply(200, raw))
    return (time.perf_counter() - started) * 1000 / n


def _captured_reply(adapter: SoapAdapter) -> bytes:
    import urllib.request

    wsdl = adapter.wsdl
    if wsdl is None:
        raise RuntimeError("adapter not started")
    from zeep.wsdl.utils import etree_to_string

    envelope, headers = wsdl.binding._create(
        "ZFI_INVOICE_GET", (), {"BELNR": BELNR}, client=wsdl.client, options={"address": ""}
    )
    request = urllib.request.Request(wsdl.address, data=etree_to_string(envelope), headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return bytes(response.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="calls per variant (default 500)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lastmile-bench-") as tmp:
        process, url = start_sandbox(Path(tmp))
        try:
            asyncio.run(bench(url, args.n, Path(tmp)))
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
