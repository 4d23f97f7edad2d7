"""``make bench``: the gateway against a bare proxy and a direct client, in one run.

Three ways to send the same mix of calls (``bench/workload.py``: 90% varied reads, 10%
keyed goods movements) to the ACME WMS sandbox with a generated catalogue:
  (a) direct: the client speaks the legacy API itself;
  (b) gateway: through lastmile with its full pipeline (bench/gateway.bench.yaml), once
      with the embedded memory state store and once with Redis (the fleet's store, a
      ``redis-server`` of its own started and stopped here);
  (c) proxy: the same legacy requests through a bare aiohttp pass-through proxy.
Each server runs in its own process. Maximum throughput comes from wrk (a Lua script
sends the mix); latency from an open-loop generator in its own process at half the
gateway's maximum, against the proxy at the same rate; then p99 with every rate-limit
window at 1 s against every window at 1 h. Results: ``bench/results/latest.{md,json,png}``.

    .venv/bin/python -m bench.run                      # part of make bench
    .venv/bin/python -m bench.run --seconds 2 --stores memory --no-workers   # a smoke run
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import workload
from bench.processes import ROOT, external, free_port, process, rss_mib, wait_until_up

RESULTS = ROOT / "bench" / "results"
CONFIG = ROOT / "bench" / "gateway.bench.yaml"
CONNECTIONS = 32
WINDOWS = (("1s", 1.0), ("1h", 3600.0))
ROUNDS = 3  # a median of three: one stall on the shared machine cannot decide it
TARGETS = {"throughput": 0.5, "added_p50_ms": 1.0, "added_p99_ms": 5.0, "windows": 0.2}


@dataclass
class Server:
    """Something the load generators send the mix to."""

    name: str
    url: str
    dialect: str  # gateway | legacy


@dataclass
class Latency:
    rate: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    write_p99_ms: float
    sent: int


@dataclass
class StoreRun:
    """One state store's figures, each with the proxy's from the same stretch of the run."""

    store: str
    max_rps: float
    proxy_max_rps: float
    gateway: Latency
    proxy: Latency
    windows_p99_ms: dict[str, float] = field(default_factory=dict)
    windows_p99_runs_ms: dict[str, list[float]] = field(default_factory=dict)
    rss_mib: float = 0.0


class Bench:
    """The servers of one run, and the load generators pointed at them."""

    def __init__(self, workdir: Path, seconds: int, calls: list[workload.Call]) -> None:
        self.workdir, self.seconds, self.calls = workdir, seconds, calls
        self._prefixes = itertools.count(1)
        self.missing_share = sum(c.kind.endswith("_missing") for c in calls) / len(calls)
        self.problems: list[str] = []  # answers that were not the mix's: reported, not hidden

    def prefix(self) -> str:
        """A fresh 8-character key prefix: no two load runs share an idempotency key."""
        return f"r{next(self._prefixes):07d}"

    def max_rps(self, server: Server) -> float:
        """wrk's requests per second over the mix (after a 2 s warm-up)."""
        self._wrk(server, 2)
        rps = self._wrk(server, self.seconds)
        print(f"  {server.name:<16} {rps:8.0f} req/s", flush=True)
        return rps

    def _wrk(self, server: Server, seconds: int) -> float:
        host = server.url.split("//", 1)[1]
        requests = [getattr(call, server.dialect) for call in self.calls]
        script = self.workdir / f"{server.name}.lua"
        script.write_text(workload.lua_script(requests, host, self.prefix()))
        command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", str(script)]
        out = subprocess.run(
            [*command, server.url], capture_output=True, text=True, check=True
        ).stdout
        answers = re.search(r"answers: 2xx=(\d+) 404=(\d+) other=(\d+)", out)
        found = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if not answers or not found:
            raise RuntimeError(f"cannot read wrk's output:\n{out}")
        ok, missing, other = (int(n) for n in answers.groups())
        total = ok + missing + other
        if other or abs(missing / max(total, 1) - self.missing_share) > 0.02:
            self.problems.append(
                f"{server.name} under wrk: 2xx {ok}, 404 {missing}, other {other} (the mix "
                f"has {self.missing_share:.1%} 404s and no other answers)"
            )
            print(f"  WARNING: {self.problems[-1]}", flush=True)
        return float(found.group(1))

    def latency(self, server: Server, rate: float, seconds: float | None = None) -> Latency:
        """Open-loop latency of the mix at ``rate``; every answer must be the expected one."""
        calls = self.workdir / f"calls-{server.dialect}.json"
        if not calls.exists():
            calls.write_text(workload.as_json(self.calls, server.dialect))
        args = [sys.executable, "-m", "bench.loadgen", "--base-url", server.url]
        duration = self.seconds if seconds is None else seconds
        args += ["--calls", str(calls), "--rate", str(rate), "--seconds", str(duration)]
        args += ["--prefix", self.prefix()]
        out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True).stdout
        run = json.loads(out)
        if run["unexpected"] or run["errors"]:
            self.problems.append(
                f"{server.name} at {rate:,.0f} req/s: {run['unexpected']} unexpected answers, "
                f"{run['errors']} connection errors, of {run['sent']}; answers by kind "
                f"{run['statuses']}; first: {run['unexpected_samples'][:1]}"
            )
            print(f"  WARNING: {self.problems[-1]}", flush=True)
        values = run["latencies_ms"]
        m = Latency(
            rate,
            percentile(values, 50),
            percentile(values, 99),
            percentile(values, 99.9),
            percentile(run["write_latencies_ms"], 99),
            len(values),
        )
        print(
            f"  {server.name:<16} at {rate:,.0f} req/s: p50 {m.p50_ms:6.2f} ms  p99 "
            f"{m.p99_ms:6.2f} ms  p99.9 {m.p999_ms:6.2f} ms  (writes p99 {m.write_p99_ms:.2f})",
            flush=True,
        )
        return m


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(round(q / 100 * (len(ordered) - 1)), len(ordered) - 1)
    return ordered[index]


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
        "load_before": load_average(),
    }


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def config_text(store: str, redis_url: str, prefix: str, windows_s: float | None = None) -> str:
    """bench/gateway.bench.yaml with ``store`` as its state store and, if given, every
    rate-limit window set to ``windows_s``."""
    text = CONFIG.read_text()
    if store != "memory":
        block = f"state:\n  store: redis\n  url: {redis_url}\n  prefix: '{prefix}'\n"
        text = _replaced(text, "state:\n  store: memory\n", block)
    if windows_s is not None:
        text, count = re.subn(r"window_s: \d+", f"window_s: {windows_s:g}", text)
        if count != 3:
            raise RuntimeError("bench/gateway.bench.yaml should have three rate-limit windows")
    return text


def _replaced(text: str, old: str, new: str) -> str:
    if old not in text:
        raise RuntimeError(f"bench/gateway.bench.yaml has no {old!r} to replace")
    return text.replace(old, new)


@contextmanager
def own_redis(workdir: Path) -> Iterator[str]:
    """A ``redis-server`` of the bench's own (no persistence), stopped at the end."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("make bench needs redis-server (Debian package 'redis-server')")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    with external([*args, "--appendonly", "no", "--dir", str(workdir)]):
        wait_for_redis(port)
        yield f"redis://127.0.0.1:{port}/0"


def wait_for_redis(port: int) -> None:
    import socket
    import time

    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the bench's redis-server did not answer within 10 s")
        time.sleep(0.05)


@contextmanager
def gateway(
    workdir: Path, wms_url: str, config: str, name: str, workers: int = 1
) -> Iterator[tuple[Server, int]]:
    """A ``lastmile serve`` on ``config`` (text), with its own audit log and signing key."""
    path = workdir / f"{name}.yaml"
    path.write_text(config)
    env = {
        "LASTMILE_ACME_WMS_URL": wms_url,
        "LASTMILE_AUDIT_DB": str(workdir / f"{name}-audit.sqlite"),
        "LASTMILE_AUDIT_KEY_FILE": str(workdir / f"{name}-signing.pem"),
        "LASTMILE_APPROVALS_DB": str(workdir / f"{name}-approvals.sqlite"),
    }
    port = free_port()
    serve = ["-m", "gateway", "serve", "--config", str(path), "--port", str(port)]
    with process([*serve, "--workers", str(workers)], env) as gw:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url + "/healthz")
        yield Server(name, url, "gateway"), gw.pid


def main() -> int:
    parser = argparse.ArgumentParser()
    seconds = int(os.environ.get("LASTMILE_BENCH_SECONDS", "8"))
    parser.add_argument("--seconds", type=int, default=seconds, help="per measurement")
    parser.add_argument("--catalogue", type=int, default=20_000, help="generated items")
    parser.add_argument("--stores", default="memory,redis", help="comma-separated")
    parser.add_argument("--no-windows", action="store_true", help="skip 1 s vs 1 h windows")
    parser.add_argument("--no-workers", action="store_true", help="skip the 2-worker run")
    args = parser.parse_args()
    info = machine()
    print(
        f"machine: {info['cores']} cores, {info['cpu']}, Python {info['python']}, "
        f"load average {info['load_before']}, {info['date']}",
        flush=True,
    )
    calls = workload.cycle(args.catalogue)
    # the sandbox's own SQLite on tmpfs where there is one: its fsyncs are the backend's
    # cost, not the gateway's, and would block its event loop for proxy and gateway alike
    shm = Path("/dev/shm")  # noqa: S108 - a private TemporaryDirectory inside it
    with (
        tempfile.TemporaryDirectory(prefix="lastmile-bench-") as tmp,
        tempfile.TemporaryDirectory(
            prefix="lastmile-bench-wms-", dir=shm if shm.is_dir() else None
        ) as wms_dir,
        own_redis(Path(tmp)) as redis_url,
    ):
        workdir = Path(tmp)
        bench = Bench(workdir, args.seconds, calls)
        wms, proxy_port = free_port(), free_port()
        wms_url = f"http://127.0.0.1:{wms}"
        sandbox = ["-m", "sandbox.acme_warehouse", "--port", str(wms)]
        sandbox += ["--db", str(Path(wms_dir) / "wms.sqlite"), "--catalogue", str(args.catalogue)]
        with (
            process(sandbox),
            process(["-m", "bench.proxy", "--port", str(proxy_port), "--upstream", wms_url]),
        ):
            wait_until_up(wms_url + "/health", timeout_s=120)
            proxy = Server("proxy", f"http://127.0.0.1:{proxy_port}", "legacy")
            wait_until_up(proxy.url + "/health")
            print("max throughput (wrk, 1 thread, 32 connections, the mix):", flush=True)
            direct_rps = bench.max_rps(Server("direct", wms_url, "legacy"))
            runs = [
                measure_store(bench, store, workdir, wms_url, redis_url, proxy, args.no_windows)
                for store in args.stores.split(",")
            ]
            workers = None
            if not args.no_workers:
                config = config_text("redis", redis_url, "lastmile:w2:")
                with gateway(workdir, wms_url, config, "gateway-2w-redis", workers=2) as (gw, pid):
                    workers = (bench.max_rps(gw), rss_mib(pid))
    info["load_after"] = load_average()
    report(info, args, direct_rps, runs, workers, bench.problems)
    return 0


def measure_store(
    bench: Bench,
    store: str,
    workdir: Path,
    wms_url: str,
    redis_url: str,
    proxy: Server,
    no_windows: bool,
) -> StoreRun:
    print(f"state store {store}:", flush=True)
    config = config_text(store, redis_url, f"lastmile:{store}:")
    with gateway(workdir, wms_url, config, f"gateway-{store}") as (gw, pid):
        proxy_max = bench.max_rps(proxy)
        gw_max = bench.max_rps(gw)
        rate = round(gw_max / 2)
        print(f"latency at {rate} req/s (half the gateway's maximum), open loop:", flush=True)
        bench.latency(gw, rate, seconds=2)  # settle after wrk's saturation, at the rate
        gw_latency = bench.latency(gw, rate)
        bench.latency(proxy, rate, seconds=2)
        run = StoreRun(store, gw_max, proxy_max, gw_latency, bench.latency(proxy, rate))
        run.rss_mib = rss_mib(pid)
    if not no_windows:
        windows_p99(run, bench, workdir, wms_url, redis_url, rate)
    return run


def windows_p99(
    run: StoreRun, bench: Bench, workdir: Path, wms_url: str, redis_url: str, rate: float
) -> None:
    """p99 at ``rate`` with every rate-limit window at 1 s and at 1 h: two gateways side by
    side, measured in turn (1 s, 1 h, 1 s, 1 h, ...) so that drift in the machine's load falls
    on both alike; the figure is the median of a variant's rounds."""
    print(f"p99 at {rate} req/s, every rate-limit window at 1 s against 1 h, in turn:", flush=True)
    with ExitStack() as stack:
        servers = {}
        for label, window in WINDOWS:
            text = config_text(run.store, redis_url, f"lastmile:{run.store}-{label}:", window)
            name = f"gateway-{run.store}-{label}"
            servers[label] = stack.enter_context(gateway(workdir, wms_url, text, name))[0]
        for server in servers.values():
            bench.latency(server, rate, seconds=2)  # warm-up: pools, first-use imports
        for _ in range(ROUNDS):
            for label, server in servers.items():
                run.windows_p99_runs_ms.setdefault(label, []).append(
                    bench.latency(server, rate).p99_ms
                )
    run.windows_p99_ms = {k: statistics.median(v) for k, v in run.windows_p99_runs_ms.items()}


def verdict(value: float, target: float, unit: str, higher_is_better: bool = False) -> str:
    met = value >= target if higher_is_better else value <= target
    gap = abs(value - target)
    if unit == "%":
        return "**met**" if met else f"**missed** by {gap * 100:.0f} points"
    return "**met**" if met else f"**missed** by {gap:.2f} {unit}"


def report(
    info: dict[str, str],
    args: argparse.Namespace,
    direct_rps: float,
    runs: list[StoreRun],
    workers: tuple[float, float] | None,
    problems: list[str],
) -> None:
    summary = {
        "machine": info,
        "seconds": args.seconds,
        "catalogue": args.catalogue,
        "direct_max_rps": round(direct_rps),
        "stores": [asdict(run) for run in runs],
        "two_workers_redis": {"max_rps": round(workers[0]), "rss_mib": round(workers[1], 1)}
        if workers
        else None,
        "problems": problems,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(summary, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(markdown(info, args, direct_rps, runs, workers, problems))
    plot(runs, RESULTS / "latest.png")
    print((RESULTS / "latest.md").read_text())


def markdown(
    info: dict[str, str],
    args: argparse.Namespace,
    direct_rps: float,
    runs: list[StoreRun],
    workers: tuple[float, float] | None,
    problems: list[str],
) -> str:
    rows = [f"| direct (no proxy) | | {direct_rps:,.0f} | | | | | | |"]
    for run in runs:
        g, p = run.gateway, run.proxy
        rows.append(
            f"| bare proxy | | {run.proxy_max_rps:,.0f} | {p.rate:,.0f} | {p.p50_ms:.2f} | "
            f"{p.p99_ms:.2f} | {p.p999_ms:.2f} | | |"
        )
        rows.append(
            f"| **gateway** | {run.store} | {run.max_rps:,.0f} | {g.rate:,.0f} | {g.p50_ms:.2f} | "
            f"{g.p99_ms:.2f} | {g.p999_ms:.2f} | {g.p50_ms - p.p50_ms:+.2f} | "
            f"{g.p99_ms - p.p99_ms:+.2f} |"
        )
    targets = []
    for run in runs:
        ratio = run.max_rps / run.proxy_max_rps
        added_p50 = run.gateway.p50_ms - run.proxy.p50_ms
        added_p99 = run.gateway.p99_ms - run.proxy.p99_ms
        s = run.store
        targets += [
            f"| throughput >= 50% of the proxy ({s}) | {ratio:.0%} | "
            f"{verdict(ratio, TARGETS['throughput'], '%', higher_is_better=True)} |",
            f"| added p50 <= 1 ms at half load ({s}) | {added_p50:.2f} ms | "
            f"{verdict(added_p50, TARGETS['added_p50_ms'], 'ms')} |",
            f"| added p99 <= 5 ms at half load ({s}) | {added_p99:.2f} ms | "
            f"{verdict(added_p99, TARGETS['added_p99_ms'], 'ms')} |",
        ]
        if run.windows_p99_ms:
            short, long = run.windows_p99_ms["1s"], run.windows_p99_ms["1h"]
            change = long / short - 1
            targets.append(
                f"| p99 with 1 h windows within 20% of 1 s windows ({s}) | {short:.2f} -> "
                f"{long:.2f} ms ({change:+.0%}) | "
                f"{verdict(abs(change), TARGETS['windows'], '%')} |"
            )
    extra = ""
    if workers:
        extra = (
            f"- two worker processes on Redis: {workers[0]:,.0f} req/s max, "
            f"{workers[1]:.0f} MiB resident in all\n"
        )
    memory = ", ".join(f"{run.store} {run.rss_mib:.0f} MiB" for run in runs)
    if problems:  # the figures count these answers: say so next to them
        extra += "- **answers that were not the expected ones**: " + "; ".join(problems) + "\n"
    return (
        f"Measured {info['date']} on {info['cores']} cores ({info['cpu']}), Python "
        f"{info['python']}, load average {info['load_before']} before and "
        f"{info['load_after']} after (1/5/15 min; other work shared the cores); one gateway "
        "worker; the sandbox, proxy, Redis and load generators on the same machine. The mix: "
        f"90% reads over {args.catalogue:,} items (1 in 20 a clean 404), 10% goods movements "
        f"with an Idempotency-Key each; {args.seconds} s per measurement "
        "([bench/README.md](bench/README.md)).\n\n"
        "| path | state store | max req/s | rate req/s | p50 ms | p99 ms | p99.9 ms | "
        "added p50 ms | added p99 ms |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n\n"
        f"- gateway resident memory after its run: {memory}\n{extra}\n"
        "| target | measured | verdict |\n|---|---|---|\n" + "\n".join(targets) + "\n"
    )


def plot(runs: list[StoreRun], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for run in runs for n in (f"proxy ({run.store})", f"gateway {run.store}")]
    rps = [v for run in runs for v in (run.proxy_max_rps, run.max_rps)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.bar(names, rps, color=["#58c", "#2a7"] * len(runs))
    left.set_title("max throughput, the mix (req/s)")
    left.tick_params(axis="x", labelrotation=20)
    lat = [m for run in runs for m in (run.proxy, run.gateway)]
    width = 0.25
    for offset, (label, values) in enumerate(
        (
            ("p50", [m.p50_ms for m in lat]),
            ("p99", [m.p99_ms for m in lat]),
            ("p99.9", [m.p999_ms for m in lat]),
        )
    ):
        right.bar([i + (offset - 1) * width for i in range(len(names))], values, width, label=label)
    right.set_xticks(range(len(names)), names, rotation=20)
    right.set_title("latency at half the gateway's max (ms)")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
