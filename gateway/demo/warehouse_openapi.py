"""Demo chapter, variant: the warehouse story on an adapter generated from the WMS's OpenAPI.

``lastmile demo --warehouse-adapter openapi`` generates a package from the sandbox's own
``/openapi.json`` (as ``lastmile adapter new --openapi … --name warehouse`` would), serves
it as backend ``warehouse`` beside the hand-written one, and plays the warehouse chapter
on it. The generated operations speak the legacy API's own fields (``MATNR``, ``WERKS``)
where the hand-written adapter maps them to canonical ones: that mapping is what an
engineer adds after review.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from gateway.demo.session import DemoContext

NAME = "warehouse"
BACKEND = "warehouse"
READ = f"{NAME}.stock.get_stock"
WRITE = f"{NAME}.goods_movements.post_goods_movement"
STOCK = {"MATNR": "100234", "WERKS": "1000"}
REVIEWED_PERMIT = f"""// The write an engineer decided to grant after reviewing permit.cedar.
@id("planning-agents-post-generated-goods-movements")
@reason("Agents of the planning team may post goods movements.")
permit (principal, action == Action::"{WRITE}", resource == Backend::"{BACKEND}")
when {{ principal.team == "planning" }};
"""


async def prepare(config_text: str, wms_url: str, workdir: Path) -> tuple[str, str]:
    """Generate the package, make it importable, and return the demo config with the
    generated backend entry and policy files added, and what the generator printed."""
    from adapters.codegen.openapi import generate_openapi_adapter

    packages = workdir / "generated"
    result = await asyncio.to_thread(
        generate_openapi_adapter,
        f"{wms_url}/openapi.json",
        NAME,
        packages / NAME,
        owner="team-logistics",
    )
    sys.path.insert(0, str(packages))
    config: dict[str, Any] = yaml.safe_load(config_text)
    snippet = yaml.safe_load((packages / NAME / "gateway.snippet.yaml").read_text())
    config["backends"][BACKEND] = snippet["backends"][NAME]
    reviewed = workdir / "reviewed.cedar"
    reviewed.write_text(REVIEWED_PERMIT)
    config["guardrails"]["policies"] += [str(packages / NAME / "permit.cedar"), str(reviewed)]
    summary = f"{result.operations} operations, {result.models} models"
    return yaml.safe_dump(config, sort_keys=False), summary


async def play(demo: DemoContext) -> None:
    demo.step("Is the generated backend up?  GET /readyz")
    ready = await demo.call("GET", "/readyz", None)
    demo.expect(ready, 200, lambda b: b["ready"])
    for backend in ready.body["backends"]:
        demo.say(f"   backend {backend['name']}: ready ({backend['latency_ms']} ms)")

    demo.step("inventory-bot discovers the generated operations  GET /v1/operations")
    catalog = await demo.call("GET", "/v1/operations", "inventory-bot")
    demo.expect(catalog, 200, lambda b: any(op["name"] == READ for op in b["operations"]))
    for op in catalog.body["operations"]:
        if op["backend"] == BACKEND:
            first_line = " ".join(op["description"].split())[:60]
            demo.say(f"   {op['name']:<40} {op['effect']:<5} {first_line}")

    demo.step(f"inventory-bot reads stock  POST /v1/operations/{READ}")
    read = await demo.invoke(READ, "inventory-bot", STOCK)
    demo.expect(read, 200, lambda b: b["output"]["MARD"]["WERKS"] == "1000")
    before = read.body["output"]["MARD"]
    demo.say(f"   agent sent   {json.dumps(STOCK)}")
    demo.say(f"   agent got    {json.dumps(before)}")

    demo.step("inventory-bot sends a plant of five characters: the description says four")
    bad = {"MATNR": "100234", "WERKS": "10000"}
    invalid = await demo.invoke(READ, "inventory-bot", bad)
    demo.expect(invalid, 422, lambda b: b["code"] == "validation_failed")
    for error in invalid.body["errors"]:
        demo.say(f"   HTTP 422 - {error['field']}: {error['message']}")

    receipt = {
        "body": {
            "MATNR": "100234",
            "WERKS": "1000",
            "BWART": "101",
            "ERFMG": "50",
            "BUDAT": date.today().strftime("%Y%m%d"),
            "XBLNR": "PO-4711",
        }
    }
    demo.step("inventory-bot tries to post a goods movement: forbidden")
    denied = await demo.invoke(WRITE, "inventory-bot", receipt)
    demo.expect(denied, 403, lambda b: b["code"] == "forbidden")
    demo.say(f"   HTTP 403 {denied.body['code']}")

    demo.step("replenishment-bot books a receipt (permitted after review of permit.cedar)")
    posted = await demo.invoke(
        WRITE, "replenishment-bot", receipt, **{"X-On-Behalf-Of": "maria.schmidt@acme.example"}
    )
    demo.expect(posted, 200, lambda b: bool(b["output"]["MBLNR"]))
    demo.say(f"   agent got    {json.dumps(posted.body['output'])}")

    demo.step("inventory-bot reads the stock again: the write is visible")
    again = await demo.invoke(READ, "inventory-bot", STOCK)
    demo.expect(again, 200, lambda b: b["output"]["MARD"]["LABST"] != before["LABST"])
    demo.say(f"   LABST {before['LABST']} -> {again.body['output']['MARD']['LABST']}")

    demo.step("a revoked key is turned away")
    revoked = await demo.invoke(READ, "retired-bot", STOCK)
    demo.expect(revoked, 401, lambda b: b["code"] == "unauthenticated")
    demo.say(f"   HTTP 401 {revoked.body['code']}")
