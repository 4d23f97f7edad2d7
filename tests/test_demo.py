"""`lastmile demo` plays its whole story through real sockets and exits 0."""

from __future__ import annotations

import subprocess
import sys


def test_demo_tells_the_story_and_exits_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in (
        "discovers its catalog",
        "HTTP 422 validation_failed",
        "HTTP 403 forbidden",
        "material document 4900000001",
        "125.000 -> 175.000",
        "audit trail",
        "lastmile audit verify: OK: entries 0..",
        "hashes prove it: event ",
        "one call's full story",
        "who         agent replenishment-bot (accountable owner ops-planning) over approval",
        "approved (apr_",
    ):
        assert step in out
    assert "The demo ran as expected" in out
