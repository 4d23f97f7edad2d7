"""ACME WMS: a simulated legacy warehouse system with an SAP-flavoured REST/JSON API.

It speaks the way old systems do: upper-case German abbreviations (``MATNR``,
``WERKS``, ``LABST``), material numbers padded to 18 digits, quantities as
zero-padded strings and dates as ``YYYYMMDD``. Data lives in SQLite so that a
write is visible to later reads. ``POST /_sandbox/faults`` switches fault modes
on, so tests can see how the gateway copes with a slow, failing, throttling or lying
backend; ``GET /_sandbox/stats`` counts API calls, the most calls it ever served at once,
and the material documents it holds; ``GET /_sandbox/last_headers`` shows the headers of
the last API call (see ``sandbox.http_faults``). ``GET /openapi.json`` is an OpenAPI 3.0
description of the legacy API as this sandbox implements it (``acme_warehouse.openapi.json``),
for ``lastmile adapter new --openapi``.

Goods movements carry an external reference (``EXTREF``, unique, separate from the
16-character ``XBLNR`` the agent sees), and ``GET /api/v1/MKPF?EXTREF=`` finds one by
it: the way a gateway learns whether a write that timed out was recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox import http_faults, warehouse_catalogue

MOVEMENT_SIGN = {"101": 1, "201": -1, "551": -1}  # receipt, issue to cost centre, scrapping
SEED_STOCK = [
    # MATNR, MAKTX, MEINS, BRGEW, WERKS, LGORT, LABST, LAEDA
    ("100234", "Hex bolt M8x40 zinc plated", "ST", "0.021", "1000", "0001", "125.000", "20261102"),
    ("100235", "Hex nut M8 zinc plated", "ST", "0.005", "1000", "0001", "4000.000", "20261015"),
    ("200410", "Pallet wrap film 500 mm", "RL", "2.300", "1000", "0002", "12.000", "20260930"),
    ("100234", "Hex bolt M8x40 zinc plated", "ST", "0.021", "2000", "0001", "40.000", "20261110"),
    ("300001", "Hydraulic oil HLP 46", "L", "", "2000", "0003", "850.500", "20261120"),
]

REFUSALS = {"unavailable": (503, "System in maintenance"), "throttled": (429, "Too many requests")}

BUYERS = {  # EKMAIL: the responsible buyer's e-mail (personal data)
    "100234": "jonas.weber@acme.example",
    "100235": "jonas.weber@acme.example",
    "200410": "lea.fischer@acme.example",
}


@dataclass
class Stats:
    """How often the legacy API was hit, so tests can prove a call never reached it,
    and how many calls are held in slow mode right now, so tests can wait for them."""

    api_calls: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_for_in_flight(self, calls: int) -> None:
        """Return once ``calls`` API calls are in flight (tests running in-process)."""
        async with self.changed:
            await self.changed.wait_for(lambda: self.in_flight >= calls)

    async def notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()


@dataclass
class FaultMode:
    """What the API endpoints do instead of answering normally."""

    # ok | slow | hold | error | unavailable (503) | throttled (429) | reset | garbage |
    # truncated | not_json | huge |
    # committed_timeout (a write is stored, then its answer is held back like "slow") |
    # leaky (a 500 whose message leaks a DSN, tokens and the credentials it was sent)
    mode: str = "ok"
    delay_s: float = 0.0
    count: int = 0  # > 0: only the next `count` API calls see the fault, then "ok"
    retry_after: str = ""  # sent as Retry-After by "unavailable" and "throttled"


def _leaky_message(request: web.Request) -> str:
    """What careless legacy systems really put in error texts: their own DSN, and the
    credentials of the request echoed back."""
    sent = "; ".join(
        f"{name}: {request.headers[name]}"
        for name in ("Authorization", "X-Api-Key")
        if name in request.headers
    )
    return (
        "DB error: postgresql://wms_app:Db-Pa55word@db.internal:5432/wms refused; "
        f"api_key=AKIA7LEAKED99 ; request had {sent}"
    )


def _matnr(material: str) -> str:
    return material.zfill(18) if material.isdigit() else material


def open_database(path: Path, catalogue: int = 0) -> sqlite3.Connection:
    """The sandbox's tables at ``path``, seeded with the demo's stock on first use, plus
    ``catalogue`` generated items for benchmarks (``sandbox.warehouse_catalogue``)."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS MARA (MATNR TEXT PRIMARY KEY, MAKTX TEXT, MEINS TEXT,
                                         BRGEW TEXT, EKMAIL TEXT);
        CREATE TABLE IF NOT EXISTS MARD (MATNR TEXT, WERKS TEXT, LGORT TEXT, LABST TEXT,
                                         LAEDA TEXT, PRIMARY KEY (MATNR, WERKS));
        CREATE TABLE IF NOT EXISTS MKPF (MBLNR TEXT PRIMARY KEY, MJAHR TEXT, MATNR TEXT,
                                         WERKS TEXT, BWART TEXT, ERFMG TEXT, BUDAT TEXT,
                                         XBLNR TEXT, EXTREF TEXT UNIQUE, LABST_NEW TEXT);
        """
    )
    if db.execute("SELECT COUNT(*) FROM MARA").fetchone()[0] == 0:
        for matnr, maktx, meins, brgew, werks, lgort, labst, laeda in SEED_STOCK:
            db.execute(
                "INSERT OR IGNORE INTO MARA VALUES (?, ?, ?, ?, ?)",
                (_matnr(matnr), maktx, meins, brgew, BUYERS.get(matnr, "")),
            )
            db.execute(
                "INSERT INTO MARD VALUES (?, ?, ?, ?, ?)",
                (_matnr(matnr), werks, lgort, labst.zfill(12), laeda),
            )
    if catalogue:
        with db:  # one transaction: seconds for 100,000 rows instead of one fsync each
            db.execute("BEGIN")
            db.executemany(
                "INSERT OR IGNORE INTO MARA VALUES (?, ?, ?, ?, ?)",
                warehouse_catalogue.items(catalogue),
            )
            db.executemany(
                "INSERT OR IGNORE INTO MARD VALUES (?, ?, ?, ?, ?)",
                warehouse_catalogue.stock(catalogue),
            )
    return db


def create_app(db_path: Path, catalogue: int = 0) -> web.Application:
    """The ACME WMS HTTP application over the SQLite file at ``db_path`` (with
    ``catalogue`` generated items besides the demo's, for benchmarks)."""
    app = web.Application(middlewares=[_faults])
    app[DB] = open_database(db_path, catalogue)
    app[FAULTS] = FaultMode()
    app[STATS] = Stats()
    app[RELEASE] = asyncio.Event()
    app[HOLD] = asyncio.Event()
    app.router.add_get("/health", _health)
    app.router.add_get("/openapi.json", _openapi)
    app.router.add_get("/api/v1/MARA/{MATNR}", _get_material)
    app.router.add_get("/api/v1/MARD", _get_stock)
    app.router.add_post("/api/v1/goodsmovement", _post_goods_movement)
    app.router.add_get("/api/v1/MKPF", _find_goods_movement)
    app.router.add_post("/_sandbox/faults", _set_faults)
    app.router.add_post("/_sandbox/release", _release_held_calls)
    app.router.add_get("/_sandbox/stats", _get_stats)
    app.router.add_get("/_sandbox/wait_held", _wait_held)
    http_faults.install(app)
    app.on_shutdown.append(_release_slow_calls)
    app.on_cleanup.append(_close_db)
    return app


DB = web.AppKey("db", sqlite3.Connection)
FAULTS = web.AppKey("faults", FaultMode)
STATS = web.AppKey("stats", Stats)
RELEASE = web.AppKey("release", asyncio.Event)
HOLD = web.AppKey("hold", asyncio.Event)


async def _release_slow_calls(app: web.Application) -> None:
    app[RELEASE].set()
    app[HOLD].set()


async def _release_held_calls(request: web.Request) -> web.Response:
    """Let every call held by the "hold" fault mode answer (the mode stays on)."""
    request.app[HOLD].set()
    return web.json_response({"released": True})


async def _held_back(app: web.Application, fault: FaultMode) -> None:
    """Wait out the fault's delay; the server's shutdown releases it, so tests never wait."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(app[RELEASE].wait(), fault.delay_s)


async def _close_db(app: web.Application) -> None:
    app[DB].close()


@web.middleware
async def _faults(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/api/"):
        return await handler(request)  # type: ignore[no-any-return]
    http_faults.remember(request)
    stats = request.app[STATS]
    stats.api_calls += 1
    stats.in_flight += 1
    stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
    await stats.notify()
    try:
        return await _answer(request, handler, _current_fault(request.app[FAULTS]))
    finally:
        stats.in_flight -= 1


def _current_fault(fault: FaultMode) -> FaultMode:
    """The fault this call sees; a counted fault is used up one call at a time."""
    seen = FaultMode(fault.mode, fault.delay_s, retry_after=fault.retry_after)
    if fault.count > 0:
        fault.count -= 1
        if fault.count == 0:
            fault.mode = "ok"
    return seen


async def _answer(request: web.Request, handler: Any, fault: FaultMode) -> web.StreamResponse:
    if fault.mode == "slow":
        await _held_back(request.app, fault)
    elif fault.mode == "hold":
        await request.app[HOLD].wait()
    elif fault.mode == "committed_timeout" and request.method == "POST":
        response: web.StreamResponse = await handler(request)  # the write is committed ...
        await _held_back(request.app, fault)  # ... and its answer comes too late
        return response
    elif fault.mode == "error":
        return web.json_response({"TYPE": "A", "MESSAGE": "ABAP runtime error"}, status=500)
    elif fault.mode in REFUSALS:
        status, message = REFUSALS[fault.mode]
        body = json.dumps({"MESSAGE": message}).encode()
        return http_faults.refusal(status, fault.retry_after, body, "application/json")
    elif fault.mode == "reset":
        return await http_faults.reset(request)
    elif fault.mode == "leaky":
        return web.json_response({"MESSAGE": _leaky_message(request)}, status=500)
    elif fault.mode == "not_json":
        return web.Response(text="<html>Gateway Error</html>", content_type="text/html")
    elif fault.mode == "huge":
        return web.json_response({"MESSAGE": "x" * (8 * 1024 * 1024)})
    response = await handler(request)
    if fault.mode == "garbage" and response.status == 200:
        garbage = {
            "MATNR": "?",
            "WERKS": "1000",
            "LGORT": "0001",
            "LABST": "12,5 ST",
            "LAEDA": "20261102",
            "MEINS": "ST",
        }
        return web.json_response({"MARD": garbage})
    if fault.mode == "truncated" and response.status == 200:
        return web.json_response({"MARD": {"MATNR": "000000000000100234"}})
    return response


async def _set_faults(request: web.Request) -> web.Response:
    body = await request.json()
    fault = request.app[FAULTS]
    fault.mode = str(body.get("mode", "ok"))
    fault.delay_s = float(body.get("delay_s", 0))
    fault.count = int(body.get("count", 0))
    fault.retry_after = str(body.get("retry_after", ""))
    if fault.mode == "hold":
        request.app[HOLD].clear()
    return web.json_response({"mode": fault.mode})


async def _get_stats(request: web.Request) -> web.Response:
    stats = request.app[STATS]
    documents = request.app[DB].execute("SELECT COUNT(*) FROM MKPF").fetchone()[0]
    return web.json_response(
        {
            "api_calls": stats.api_calls,
            "in_flight": stats.in_flight,
            "max_in_flight": stats.max_in_flight,
            "documents": documents,
        }
    )


async def _wait_held(request: web.Request) -> web.Response:
    """Answer once at least ``count`` API calls are in flight (held by a slow or hold
    fault), or after 10 s with 408: tests wait on this instead of on time."""
    stats, count = request.app[STATS], int(request.query.get("count", "1"))
    try:
        async with stats.changed:
            await asyncio.wait_for(stats.changed.wait_for(lambda: stats.in_flight >= count), 10)
    except TimeoutError:
        return web.json_response({"in_flight": stats.in_flight}, status=408)
    return web.json_response({"in_flight": stats.in_flight})


OPENAPI = Path(__file__).with_name("acme_warehouse.openapi.json")


async def _openapi(request: web.Request) -> web.Response:
    return web.Response(body=OPENAPI.read_bytes(), content_type="application/json")


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"STATUS": "OK"})


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"TYPE": "E", "MESSAGE": message}, status=status)


async def _get_material(request: web.Request) -> web.Response:
    matnr = _matnr(request.match_info["MATNR"])
    row = request.app[DB].execute("SELECT * FROM MARA WHERE MATNR = ?", (matnr,)).fetchone()
    if row is None:
        return _error(404, f"Material {matnr.lstrip('0')} does not exist")
    return web.json_response(
        {"MARA": dict(zip(("MATNR", "MAKTX", "MEINS", "BRGEW", "EKMAIL"), row, strict=True))}
    )


async def _get_stock(request: web.Request) -> web.Response:
    matnr = _matnr(request.query.get("MATNR", ""))
    werks = request.query.get("WERKS", "")
    row = (
        request.app[DB]
        .execute(
            "SELECT MARD.*, MARA.MEINS FROM MARD JOIN MARA USING (MATNR) "
            "WHERE MATNR = ? AND WERKS = ?",
            (matnr, werks),
        )
        .fetchone()
    )
    if row is None:
        return _error(404, f"Material {matnr.lstrip('0')} not maintained in plant {werks}")
    fields = ("MATNR", "WERKS", "LGORT", "LABST", "LAEDA", "MEINS")
    return web.json_response({"MARD": dict(zip(fields, row, strict=True))})


async def _post_goods_movement(request: web.Request) -> web.Response:
    body = await request.json()
    matnr, werks, bwart = _matnr(str(body.get("MATNR", ""))), body.get("WERKS"), body.get("BWART")
    if bwart not in MOVEMENT_SIGN:
        return _error(400, f"Movement type {bwart} is not defined")
    try:
        erfmg = Decimal(str(body.get("ERFMG")))
    except InvalidOperation:
        return _error(400, "Quantity ERFMG is not numeric")
    db = request.app[DB]
    row = db.execute(
        "SELECT LABST FROM MARD WHERE MATNR = ? AND WERKS = ?", (matnr, werks)
    ).fetchone()
    if row is None:
        return _error(404, f"Material {matnr.lstrip('0')} not maintained in plant {werks}")
    new_stock = Decimal(row[0]) + MOVEMENT_SIGN[bwart] * erfmg
    if new_stock < 0:
        return _error(409, f"Deficit of unrestricted stock {-new_stock:.3f}")
    budat = str(body.get("BUDAT", date.today().strftime("%Y%m%d")))
    extref = str(body.get("EXTREF") or "") or None
    if extref is not None and _movement_by_extref(db, extref) is not None:
        return _error(409, f"External reference {extref} was already posted")
    db.execute("BEGIN IMMEDIATE")
    # documents are never deleted, so the highest rowid is their count: O(log n), where
    # COUNT(*) scans the table and slowed every posting as a benchmark's documents grew
    count = db.execute("SELECT COALESCE(MAX(rowid), 0) FROM MKPF").fetchone()[0]
    mblnr = str(4900000001 + count)
    labst_new = f"{new_stock:.3f}".zfill(12)
    db.execute(
        "INSERT INTO MKPF VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            mblnr,
            budat[:4],
            matnr,
            werks,
            bwart,
            f"{erfmg:.3f}",
            budat,
            body.get("XBLNR") or "",
            extref,
            labst_new,
        ),
    )
    db.execute(
        "UPDATE MARD SET LABST = ?, LAEDA = ? WHERE MATNR = ? AND WERKS = ?",
        (f"{new_stock:.3f}".zfill(12), budat, matnr, werks),
    )
    db.execute("COMMIT")
    return web.json_response(
        {"MBLNR": mblnr, "MJAHR": budat[:4], "LABST_NEW": labst_new}, status=201
    )


_MKPF_FIELDS = ("MBLNR", "MJAHR", "MATNR", "WERKS", "BWART", "ERFMG", "BUDAT", "XBLNR", "EXTREF")


def _movement_by_extref(db: sqlite3.Connection, extref: str) -> dict[str, Any] | None:
    row = db.execute(
        f"SELECT {', '.join(_MKPF_FIELDS)}, LABST_NEW FROM MKPF WHERE EXTREF = ?",  # noqa: S608
        (extref,),
    ).fetchone()
    return dict(zip((*_MKPF_FIELDS, "LABST_NEW"), row, strict=True)) if row else None


async def _find_goods_movement(request: web.Request) -> web.Response:
    extref = request.query.get("EXTREF", "")
    found = _movement_by_extref(request.app[DB], extref) if extref else None
    if found is None:
        return _error(404, f"No material document with external reference {extref}")
    return web.json_response({"MKPF": found})


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the ACME WMS sandbox on loopback.")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--db", type=Path, default=Path("acme_wms.sqlite"))
    parser.add_argument(
        "--catalogue",
        type=int,
        default=0,
        help="add this many generated items (sandbox/warehouse_catalogue.py; benchmarks)",
    )
    args = parser.parse_args()
    web.run_app(create_app(args.db, args.catalogue), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
