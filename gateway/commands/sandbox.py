"""``lastmile sandbox``: run a simulated legacy system on loopback."""

from __future__ import annotations

import argparse
from pathlib import Path

from aiohttp import web


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = commands.add_parser("sandbox", help="run a simulated legacy system")
    sandbox.add_argument(
        "--system",
        choices=("wms", "erp", "odata"),
        default="wms",
        help="wms: ACME warehouse (REST, port 8081); erp: ACME finance ERP (SOAP, port 8082); "
        "odata: ACME sales (OData V4 and SAP-flavoured V2, port 8083)",
    )
    sandbox.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default loopback; 0.0.0.0 in a container of deploy/)",
    )
    sandbox.add_argument("--port", type=int, help="default 8081 (wms), 8082 (erp), 8083 (odata)")
    sandbox.add_argument(
        "--db", type=Path, help="default acme_wms.sqlite, acme_erp.sqlite or acme_sales.sqlite"
    )
    sandbox.set_defaults(run=_sandbox)


def _sandbox(args: argparse.Namespace) -> int:
    from sandbox import acme_finance, acme_odata, acme_warehouse

    if args.system == "odata":
        port, db = args.port or 8083, args.db or Path("acme_sales.sqlite")
        app, name = (
            acme_odata.create_app(db),
            "ACME sales (OData V4; V2 at " + acme_odata.V2.root + ")",
        )
        where = f"http://{args.host}:{port}{acme_odata.V4.root}"
    elif args.system == "erp":
        port, db = args.port or 8082, args.db or Path("acme_erp.sqlite")
        app, name = acme_finance.create_app(db), "ACME ERP finance (SOAP)"
        where = f"http://{args.host}:{port}{acme_finance.ENDPOINT}?wsdl"
    else:
        port, db = args.port or 8081, args.db or Path("acme_wms.sqlite")
        app, name, where = acme_warehouse.create_app(db), "ACME WMS", f"http://{args.host}:{port}"
    # run_app calls ``print`` once the socket listens, so whoever waits for the line can connect.
    announce = f"{name} sandbox on {where} (data in {db})"
    web.run_app(app, host=args.host, port=port, print=lambda _: print(announce, flush=True))
    return 0
