"""Copy the latest benchmark table into the README, between its bench markers."""

from __future__ import annotations

import re
import sys

from bench.processes import ROOT

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def main() -> int:
    table = (ROOT / "bench" / "results" / "latest.md").read_text().strip()
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    if START not in readme or END not in readme:
        print("README.md has no bench markers; nothing updated", file=sys.stderr)
        return 1
    block = f"{START}\n{table}\n{END}"
    readme_path.write_text(
        re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, readme, flags=re.S)
    )
    print("README.md performance table updated from bench/results/latest.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
