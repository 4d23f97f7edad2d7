"""Copy the latest benchmark table into the README, between its bench markers.

The block is ``bench/results/latest.md`` (bench/run.py: throughput, latency and the
targets), with the staff command's target row from ``cli_start.json`` added to the
targets table and a line on where a call's CPU goes from ``stage_cpu.json``, when
``make bench`` wrote them.
"""

from __future__ import annotations

import json
import re
import sys

from bench.processes import ROOT

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
RESULTS = ROOT / "bench" / "results"


def block() -> str:
    """The README's performance block from the latest results."""
    text = (RESULTS / "latest.md").read_text().strip()
    cli = RESULTS / "cli_start.json"
    if cli.exists():
        figures = json.loads(cli.read_text())
        ms, target = figures["halt_acknowledged_ms"], figures["target_ms"]
        verdict = "**met**" if ms < target else f"**missed** by {ms - target:.0f} ms"
        row = f"| `lastmile halt` to its acknowledged answer < {target} ms | {ms:.0f} ms |"
        text += f"\n{row} {verdict} |"
    cpu = RESULTS / "stage_cpu.json"
    if cpu.exists():
        figures = json.loads(cpu.read_text())
        largest = sorted(figures["per_stage_us"].items(), key=lambda kv: -kv[1])[:3]
        stages = ", ".join(f"`{name}` {us:.0f}" for name, us in largest)
        text += (
            f"\n\nCPU per call of the mix, one call at a time: {figures['process_us']:,.0f} µs "
            f"for the gateway process, {figures['stages_us']:,.0f} µs of it in pipeline stages "
            f"(largest: {stages} µs; [bench/results/stage_cpu.md](bench/results/stage_cpu.md))."
        )
    return text


def main() -> int:
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    if START not in readme or END not in readme:
        print("README.md has no bench markers; nothing updated", file=sys.stderr)
        return 1
    new = f"{START}\n{block()}\n{END}"
    readme_path.write_text(
        re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: new, readme, flags=re.S)
    )
    print("README.md performance table updated from bench/results/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
