"""How long the ``lastmile`` staff commands take to start, and a halt to be acknowledged.

A halt typed from the terminal is late by the command's start-up before it is even sent,
so this times, each as the median of ``--runs`` fresh processes of the installed command:
``lastmile halts --help`` and ``lastmile --version`` (start-up alone), a bare
``python -c pass`` (the interpreter's own floor, on the same machine in the same run), and,
against a running gateway (bench/gateway.bench.yaml on the ACME WMS sandbox), the time
from starting ``lastmile halt agent ...`` to its exit with the acknowledged answer (each
halt is lifted again before the next). Writes bench/results/cli_start.md.

    .venv/bin/python -m bench.cli_start          # part of make bench
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.processes import ROOT, free_port, process, wait_until_up
from gateway.demo.session import DEMO_KEYS

RESULTS = ROOT / "bench" / "results" / "cli_start.md"
LASTMILE = str(Path(sys.executable).with_name("lastmile"))
OPERATOR = DEMO_KEYS["ops-oncall"]
TARGET_MS = 300


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    """Milliseconds from starting ``command`` to its exit (which must be 0)."""
    started = time.perf_counter()
    subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, check=True)
    return (time.perf_counter() - started) * 1000


def median_ms(command: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    timed(command, env)  # warm the file cache
    return statistics.median(timed(command, env) for _ in range(runs))


def halt_to_acknowledged(runs: int, workdir: Path) -> float:
    """Median time from starting ``lastmile halt`` to its acknowledged exit."""
    wms, gateway = free_port(), free_port()
    wms_url, url = f"http://127.0.0.1:{wms}", f"http://127.0.0.1:{gateway}"
    env = {
        "LASTMILE_ACME_WMS_URL": wms_url,
        "LASTMILE_AUDIT_DB": str(workdir / "audit.sqlite"),
        "LASTMILE_AUDIT_KEY_FILE": str(workdir / "signing.pem"),
        "LASTMILE_APPROVALS_DB": str(workdir / "approvals.sqlite"),
    }
    serve = ["-m", "gateway", "serve", "--config", "bench/gateway.bench.yaml"]
    staff = {"LASTMILE_STAFF_KEY": OPERATOR}
    target = ["agent", "inventory-bot", "--url", url]
    with (
        process(["-m", "sandbox.acme_warehouse", "--port", str(wms), "--db", str(workdir / "w")]),
        process([*serve, "--port", str(gateway)], env),
    ):
        wait_until_up(wms_url + "/health")
        wait_until_up(url + "/healthz")
        times = []
        for _ in range(runs + 1):
            times.append(timed([LASTMILE, "halt", *target, "--reason", "bench"], staff))
            timed([LASTMILE, "resume", *target], staff)
        return statistics.median(times[1:])  # the first warms the gateway's first request


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    floor = median_ms([sys.executable, "-c", "pass"], args.runs)
    rows = [
        ("`python -c pass` (the interpreter alone)", floor),
        ("`lastmile --version`", median_ms([LASTMILE, "--version"], args.runs)),
        ("`lastmile halts --help`", median_ms([LASTMILE, "halts", "--help"], args.runs)),
    ]
    with tempfile.TemporaryDirectory(prefix="lastmile-cli-") as tmp:
        rows.append(
            (
                "`lastmile halt agent ...` to its acknowledged answer (running gateway)",
                halt_to_acknowledged(args.runs, Path(tmp)),
            )
        )
    table = "\n".join(f"| {name} | {ms:.0f} | {ms - floor:+.0f} |" for name, ms in rows)
    text = (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; median of {args.runs} fresh processes each "
        f"(target for the staff commands: under {TARGET_MS} ms).\n\n"
        "| command | ms | ms over the bare interpreter |\n|---|---:|---:|\n"
        f"{table}\n"
    )
    RESULTS.write_text(text)
    figures = {"halt_acknowledged_ms": rows[-1][1], "target_ms": TARGET_MS}
    RESULTS.with_suffix(".json").write_text(json.dumps(figures, indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
