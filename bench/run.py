"""``make bench``: the gateway against a direct call and a bare proxy, in one run.

Three ways to read the same stock level from the ACME WMS sandbox:
  (a) direct: the client calls the legacy API itself;
  (b) gateway: through lastmile with its full pipeline (auth, scope, validation both
      ways, durable audit, and whatever else the bench config turns on);
  (c) proxy: through a bare aiohttp pass-through proxy, the floor of any Python proxy.
Each server runs in its own process; load comes from wrk (max throughput) and from an
open-loop generator in its own process (latency at a fixed rate). Results go to
``bench/results/`` as Markdown, JSON and a PNG plot.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.processes import ROOT, free_port, process, rss_mib, wait_until_up

RESULTS = ROOT / "bench" / "results"
KEY = "lm_demo_inventory_4f9c2a7e1b"  # public demo key (gateway/demo/session.py)
BODY = '{"material": "100234", "plant": "1000"}'
LEGACY_PATH = "/api/v1/MARD?MATNR=000000000000100234&WERKS=1000"


@dataclass
class Target:
    name: str
    url: str
    body: str | None = None
    headers: tuple[str, ...] = ()


@dataclass
class Measurement:
    name: str
    max_rps: float
    rate: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    ok: int
    failed: int


def machine() -> dict[str, str]:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = found.group(1) if found else ""
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def wrk_max_rps(target: Target, seconds: int, connections: int, workdir: Path) -> float:
    script = workdir / f"{target.name}.lua"
    lines = []
    if target.body is not None:
        lines.append('wrk.method = "POST"')
        lines.append(f"wrk.body = {json.dumps(target.body)}")
    for header in target.headers:
        name, value = header.split(": ", 1)
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), target.url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{target.name}: {non_2xx.group(1)} failed responses under wrk:\n{out}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not found:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    return float(found.group(1))


def fixed_rate(target: Target, rate: float, seconds: float) -> dict[str, object]:
    args = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--url",
        target.url,
        "--rate",
        str(rate),
        "--seconds",
        str(seconds),
    ]
    if target.body is not None:
        args += ["--body", target.body]
    for header in target.headers:
        args += ["--header", header]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    result: dict[str, object] = json.loads(out)
    return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(round(q / 100 * (len(ordered) - 1)), len(ordered) - 1)
    return ordered[index]


def measure(targets: list[Target], seconds: int, workdir: Path) -> list[Measurement]:
    print("max throughput (wrk, 1 thread, 32 connections):", flush=True)
    max_rps = {}
    for target in targets:
        wrk_max_rps(target, 2, 32, workdir)  # warm-up: pools, caches, JIT-free but still
        max_rps[target.name] = wrk_max_rps(target, seconds, 32, workdir)
        print(f"  {target.name:<8} {max_rps[target.name]:8.0f} req/s", flush=True)
    rate = round(max_rps["gateway"] / 2)
    print(f"latency at a fixed {rate} req/s (half the gateway's maximum), open loop:", flush=True)
    results = []
    for target in targets:
        run = fixed_rate(target, rate, seconds)
        latencies = run["latencies_ms"]
        assert isinstance(latencies, list)
        statuses = run["statuses"]
        assert isinstance(statuses, dict)
        ok = sum(v for k, v in statuses.items() if str(k).startswith("2"))
        failed = len(latencies) - ok + int(run["errors"])  # type: ignore[call-overload]
        m = Measurement(
            target.name,
            max_rps[target.name],
            rate,
            percentile(latencies, 50),
            percentile(latencies, 99),
            percentile(latencies, 99.9),
            ok,
            failed,
        )
        print(
            f"  {m.name:<8} p50 {m.p50_ms:6.2f} ms  p99 {m.p99_ms:6.2f} ms  "
            f"p99.9 {m.p999_ms:6.2f} ms  ok {ok} failed {failed}",
            flush=True,
        )
        results.append(m)
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--config", default="bench/gateway.bench.yaml")
    args = parser.parse_args()
    info = machine()
    print(f"machine: {info['cores']} cores, {info['cpu']}, Python {info['python']}, {info['date']}")
    with tempfile.TemporaryDirectory(prefix="lastmile-bench-") as tmp:
        workdir = Path(tmp)
        wms, proxy, gateway = free_port(), free_port(), free_port()
        wms_url = f"http://127.0.0.1:{wms}"
        env = {"LASTMILE_ACME_WMS_URL": wms_url, "LASTMILE_AUDIT_DB": str(workdir / "audit.sqlite")}
        with (
            process(
                [
                    "-m",
                    "sandbox.acme_warehouse",
                    "--port",
                    str(wms),
                    "--db",
                    str(workdir / "wms.sqlite"),
                ]
            ),
            process(["-m", "bench.proxy", "--port", str(proxy), "--upstream", wms_url]),
            process(
                ["-m", "gateway", "serve", "--config", args.config, "--port", str(gateway)], env
            ) as gw,
        ):
            wait_until_up(wms_url + "/health")
            wait_until_up(f"http://127.0.0.1:{proxy}/health")
            wait_until_up(f"http://127.0.0.1:{gateway}/healthz")
            targets = [
                Target("direct", wms_url + LEGACY_PATH),
                Target(
                    "gateway",
                    f"http://127.0.0.1:{gateway}/v1/operations/warehouse.stock.get",
                    BODY,
                    (f"Authorization: Bearer {KEY}", "Content-Type: application/json"),
                ),
                Target("proxy", f"http://127.0.0.1:{proxy}{LEGACY_PATH}"),
            ]
            results = measure(targets, args.seconds, workdir)
            memory = rss_mib(gw.pid)
            scaling = {1: next(m.max_rps for m in results if m.name == "gateway")}
            scaling[2], memory_2 = two_workers(args, env, targets[1], workdir)
    report(info, results, memory, scaling, memory_2)
    return 0


def two_workers(
    args: argparse.Namespace, env: dict[str, str], target: Target, workdir: Path
) -> tuple[float, float]:
    """Maximum throughput and total resident memory of a gateway with two worker processes."""
    port = free_port()
    env = {**env, "LASTMILE_AUDIT_DB": str(workdir / "audit-2w.sqlite")}
    config = workdir / "gateway-2w.yaml"  # workers refuse per-process (memory) state
    shared = f"state:\n  store: sqlite\n  path: {workdir / 'state-2w.sqlite'}\n"
    config.write_text(Path(args.config).read_text().replace("state:\n  store: memory\n", shared))
    command = ["-m", "gateway", "serve", "--config", str(config), "--port", str(port)]
    with process([*command, "--workers", "2"], env) as gw:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        url = target.url.replace(target.url.split("/v1/")[0], f"http://127.0.0.1:{port}")
        two = Target("gateway-2w", url, target.body, target.headers)
        wrk_max_rps(two, 2, 32, workdir)
        rps = wrk_max_rps(two, args.seconds, 32, workdir)
        print(f"  gateway with 2 workers {rps:8.0f} req/s", flush=True)
        return rps, rss_mib(gw.pid)


def report(
    info: dict[str, str],
    results: list[Measurement],
    gateway_rss_mib: float,
    scaling: dict[int, float],
    rss_two_workers_mib: float,
) -> None:
    by = {m.name: m for m in results}
    a, b, c = by["direct"], by["gateway"], by["proxy"]
    summary = {
        "machine": info,
        "results": [asdict(m) for m in results],
        "gateway_rss_mib": round(gateway_rss_mib, 1),
        "throughput_ratio_gateway_vs_proxy": round(b.max_rps / c.max_rps, 3),
        "throughput_ratio_gateway_vs_direct": round(b.max_rps / a.max_rps, 3),
        "added_p50_ms": round(b.p50_ms - a.p50_ms, 3),
        "added_p99_ms": round(b.p99_ms - a.p99_ms, 3),
        "max_rps_by_workers": {str(k): round(v) for k, v in scaling.items()},
        "rss_mib_two_workers_total": round(rss_two_workers_mib, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(summary, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(markdown(summary, results))
    plot(results, RESULTS / "latest.png")
    print((RESULTS / "latest.md").read_text())


def markdown(summary: dict[str, object], results: list[Measurement]) -> str:
    info = summary["machine"]
    assert isinstance(info, dict)
    rows = "\n".join(
        f"| {m.name} | {m.max_rps:,.0f} | {m.rate:,.0f} | {m.p50_ms:.2f} | {m.p99_ms:.2f} | "
        f"{m.p999_ms:.2f} |"
        for m in results
    )
    return (
        f"Measured {info['date']} on {info['cores']} cores ({info['cpu']}), "
        f"Python {info['python']}, one gateway worker, sandbox and load generator "
        "on the same machine.\n\n"
        "| path | max req/s | fixed rate req/s | p50 ms | p99 ms | p99.9 ms |\n"
        "|---|---:|---:|---:|---:|---:|\n"
        f"{rows}\n\n"
        f"- gateway / bare proxy throughput: **{summary['throughput_ratio_gateway_vs_proxy']:.0%}**"
        " (target >= 50%)\n"
        f"- gateway / direct throughput: {summary['throughput_ratio_gateway_vs_direct']:.0%}\n"
        f"- added latency at half the gateway's max rate: p50 **{summary['added_p50_ms']:.2f} ms**"
        f" (target <= 1 ms), p99 **{summary['added_p99_ms']:.2f} ms** (target <= 5 ms)\n"
        f"- gateway resident memory after the run: {summary['gateway_rss_mib']} MiB\n"
        f"- scaling: max req/s with 1 / 2 worker processes: "
        f"{' / '.join(f'{v:,}' for v in summary['max_rps_by_workers'].values())} "  # type: ignore[attr-defined]
        f"(2 workers: {summary['rss_mib_two_workers_total']} MiB resident in all)\n"
    )


def plot(results: list[Measurement], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [m.name for m in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.bar(names, [m.max_rps for m in results], color=["#888", "#2a7", "#58c"])
    left.set_title("max throughput (req/s)")
    width = 0.25
    for offset, (label, values) in enumerate(
        (
            ("p50", [m.p50_ms for m in results]),
            ("p99", [m.p99_ms for m in results]),
            ("p99.9", [m.p999_ms for m in results]),
        )
    ):
        right.bar([i + (offset - 1) * width for i in range(len(names))], values, width, label=label)
    right.set_xticks(range(len(names)), names)
    right.set_title(f"latency at {results[0].rate:,.0f} req/s (ms)")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
