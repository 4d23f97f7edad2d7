"""Where a call's CPU goes: microseconds per call in each pipeline stage, and the rest.

Starts the ACME WMS sandbox (with the bench's generated catalogue) and a gateway on
bench/gateway.bench.yaml with ``tracing.stage_cpu`` on, sends ``--calls`` calls of the
benchmark's mix (bench/workload.py: varied reads, one in ten a keyed write) one at a time
(the counters attribute CPU exactly only when calls do not interleave; see
gateway/stage_cpu.py), and reads the counters from ``/metrics`` before and after. The
gateway process's whole CPU time (``/proc/<pid>/stat``: every thread, the aiohttp server
and client, the audit writer) over the same calls gives what lies outside the stages.
Writes bench/results/stage_cpu.{md,json}.

    .venv/bin/python -m bench.stage_cpu          # part of make bench
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench import workload
from bench.processes import ROOT, free_port, process, wait_until_up

RESULTS = ROOT / "bench" / "results" / "stage_cpu.md"
TICKS = os.sysconf("SC_CLK_TCK")


def scrape(url: str) -> dict[tuple[str, str], float]:
    """The per-stage counters: (metric, stage) -> value."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    found = re.findall(r'^(lastmile_stage_\w+)\{stage="(\w+)"\} (\S+)$', text, re.M)
    return {(metric, stage): float(value) for metric, stage, value in found}


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def calls(url: str, mix: list[workload.Call], count: int, prefix: str) -> None:
    """Send ``count`` calls of the mix one at a time; each must get its expected answer."""
    for i in range(count):
        request, value = mix[i % len(mix)].gateway, workload.key(prefix, 0, i)
        body = workload.fill(request.body, value).encode() if request.body else None
        headers = {name: workload.fill(v, value) for name, v in request.headers}
        sent = urllib.request.Request(  # noqa: S310 - loopback only
            url + request.path, data=body, headers=headers, method=request.method
        )
        try:
            with urllib.request.urlopen(sent, timeout=10) as response:  # noqa: S310
                response.read()
                status = response.status
        except urllib.error.HTTPError as answer:
            answer.read()
            status = answer.code
        if status != request.expect:
            raise RuntimeError(f"{request.path} answered {status}, not {request.expect}")


def main() -> int:
    parser = argparse.ArgumentParser()
    calls_default = int(os.environ.get("LASTMILE_BENCH_CPU_CALLS", "3000"))
    parser.add_argument("--calls", type=int, default=calls_default)
    parser.add_argument("--catalogue", type=int, default=20_000, help="generated items")
    args = parser.parse_args()
    mix = workload.cycle(args.catalogue)
    with tempfile.TemporaryDirectory(prefix="lastmile-stage-cpu-") as tmp:
        workdir = Path(tmp)
        config = workdir / "gateway.yaml"
        bench_config = (ROOT / "bench" / "gateway.bench.yaml").read_text()
        config.write_text(bench_config + "tracing:\n  stage_cpu: true\n")
        wms, port = free_port(), free_port()
        wms_url, url = f"http://127.0.0.1:{wms}", f"http://127.0.0.1:{port}"
        env = {
            "LASTMILE_ACME_WMS_URL": wms_url,
            "LASTMILE_AUDIT_DB": str(workdir / "audit.sqlite"),
            "LASTMILE_AUDIT_KEY_FILE": str(workdir / "signing.pem"),
            "LASTMILE_APPROVALS_DB": str(workdir / "approvals.sqlite"),
        }
        serve = ["-m", "gateway", "serve", "--config", str(config), "--port", str(port)]
        with (
            process(
                [
                    *("-m", "sandbox.acme_warehouse", "--port", str(wms)),
                    *("--db", str(workdir / "w"), "--catalogue", str(args.catalogue)),
                ]
            ),
            process(serve, env) as gateway,
        ):
            wait_until_up(wms_url + "/health", timeout_s=120)
            wait_until_up(url + "/healthz")
            calls(url, mix, 300, "warmup00")  # connection pools, first-use imports
            before, cpu_before = scrape(url), process_cpu_s(gateway.pid)
            calls(url, mix, args.calls, "measured")
            after, cpu_after = scrape(url), process_cpu_s(gateway.pid)
    per_call_us = {
        stage: (after[(m, stage)] - before.get((m, stage), 0.0)) / args.calls * 1e6
        for (m, stage) in after
        if m == "lastmile_stage_cpu_seconds"
    }
    whole_us = (cpu_after - cpu_before) / args.calls * 1e6
    report(per_call_us, whole_us, args.calls)
    return 0


def report(per_call_us: dict[str, float], whole_us: float, count: int) -> None:
    stages = sum(per_call_us.values())
    rows = "\n".join(
        f"| {stage} | {us:.0f} | {us / whole_us:.0%} |" for stage, us in per_call_us.items()
    )
    text = (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}: {count} calls of the bench's mix "
        "(90% varied reads, 10% keyed goods movements) one at a time through the full "
        "pipeline (bench/gateway.bench.yaml, `tracing.stage_cpu: true`). CPU of the event "
        "loop's thread in each stage itself (outermost first), per call; the process's "
        "whole CPU per call comes from /proc (clock ticks, so +-10 ms over the run).\n\n"
        "| stage | CPU µs per call | share of the process's CPU |\n|---|---:|---:|\n"
        f"{rows}\n"
        f"| **all stages** | **{stages:.0f}** | **{stages / whole_us:.0%}** |\n"
        f"| outside the stages (HTTP in and out, face, audit writer thread) "
        f"| {whole_us - stages:.0f} | {(whole_us - stages) / whole_us:.0%} |\n"
        f"| **gateway process, all threads** | **{whole_us:.0f}** | 100% |\n"
    )
    RESULTS.write_text(text)
    figures = {"process_us": whole_us, "stages_us": stages, "per_stage_us": per_call_us}
    RESULTS.with_suffix(".json").write_text(json.dumps(figures, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    sys.exit(main())
