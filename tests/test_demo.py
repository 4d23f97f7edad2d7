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
        "sales-bot reads a business partner  (OData V2",
        "Becker Berlin GmbH, Berlin, credit limit 50000.00 EUR",
        "sales order 5000000001: net 2236.75 EUR, status Open",
        "HTTP 409 backend_conflict",
        'changed, new etag W/"2"',
    ):
        assert step in out
    assert "The demo ran as expected" in out


def test_the_warehouse_chapter_runs_on_an_adapter_generated_from_the_wms_openapi() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "demo", "--warehouse-adapter", "openapi"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in (
        "generated from the WMS's OpenAPI: 5 operations",
        "warehouse.stock.get_stock",
        "HTTP 422 - WERKS: String should have at most 4 characters",
        "HTTP 403 forbidden",
        '"MBLNR": "4900000001"',
        "LABST 00000125.000 -> 00000175.000",
        "HTTP 401 unauthenticated",
    ):
        assert step in out
    assert "The demo ran as expected" in out
