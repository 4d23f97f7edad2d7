"""``lastmile demo``: the sandbox, the gateway and a scripted agent, all on loopback.

Everything goes through real sockets: the ACME WMS sandbox on a free port, the
gateway on another, and an agent session over HTTP. Each step states what it
expects; the demo exits non-zero if any step sees something else.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import tempfile
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from aiohttp import web

from gateway.app import AUDIT_STORE, build_app
from gateway.config import load_config
from gateway.logs import configure_logging
from sandbox import acme_warehouse

DEMO_KEYS = {
    "inventory-bot": "lm_demo_inventory_4f9c2a7e1b",
    "replenishment-bot": "lm_demo_replenish_8d31e05c6a",
    "retired-bot": "lm_demo_retired_2b7f4e9d13",
}
"""Public demo keys whose hashes are in the embedded default config."""


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


class DemoFailed(Exception):
    pass


async def start_site(app: web.Application, stack: AsyncExitStack) -> str:
    """Serve ``app`` on a free loopback port; return its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}"


class AgentSession:
    """A scripted agent speaking to the gateway over HTTP, as any agent would."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, out: TextIO) -> None:
        self._http = http
        self._base = base_url
        self._out = out

    async def call(
        self, method: str, path: str, agent: str | None, body: Any = None, **headers: str
    ) -> Answer:
        if agent is not None:
            headers["Authorization"] = f"Bearer {DEMO_KEYS[agent]}"
        async with self._http.request(
            method, self._base + path, json=body, headers=headers
        ) as response:
            data = await response.json(content_type=None)
            return Answer(response.status, data, dict(response.headers))

    def say(self, text: str = "") -> None:
        print(text, file=self._out)

    def step(self, title: str) -> None:
        self.say()
        self.say(f"── {title} " + "─" * max(0, 66 - len(title)))

    def expect(
        self, answer: Answer, status: int, check: Callable[[Any], bool] = lambda _: True
    ) -> None:
        if answer.status != status or not check(answer.body):
            raise DemoFailed(
                f"expected HTTP {status}, got {answer.status}: {json.dumps(answer.body)[:500]}"
            )


async def play_story(agent: AgentSession, audit: Callable[[], Any]) -> None:
    stock = {"material": "100234", "plant": "1000"}

    agent.step("1. Is everything up?  GET /readyz")
    ready = await agent.call("GET", "/readyz", None)
    agent.expect(ready, 200, lambda b: b["ready"])
    for backend in ready.body["backends"]:
        agent.say(f"   backend {backend['name']}: ready ({backend['latency_ms']} ms)")

    agent.step("2. inventory-bot discovers its catalog  GET /v1/operations")
    catalog = await agent.call("GET", "/v1/operations", "inventory-bot")
    agent.expect(catalog, 200, lambda b: len(b["operations"]) == 2)
    for op in catalog.body["operations"]:
        first_line = op["description"].splitlines()[0]
        agent.say(f"   {op['name']:<22} {op['effect']:<5} risk={op['risk']:<6} {first_line}")
    agent.say("   (warehouse.goods_movements.create exists, but is not in this agent's catalog)")

    agent.step("3. inventory-bot reads stock  POST /v1/operations/warehouse.stock.get")
    read = await agent.call("POST", "/v1/operations/warehouse.stock.get", "inventory-bot", stock)
    agent.expect(read, 200, lambda b: b["output"]["material"] == "100234")
    before = read.body["output"]
    agent.say(f"   agent sent   {json.dumps(stock)}")
    agent.say(
        "   ERP has      MATNR=000000000000100234 WERKS=1000 LABST=00000125.000 LAEDA=20261102"
    )
    agent.say(f"   agent got    {json.dumps(before)}")
    agent.say(f"   Server-Timing: {read.headers.get('Server-Timing')}")

    agent.step("4. inventory-bot sends a bad input: rejected before the ERP sees it")
    bad = {"material": "100234", "plant": 1000, "warehouse": "north"}
    invalid = await agent.call("POST", "/v1/operations/warehouse.stock.get", "inventory-bot", bad)
    agent.expect(invalid, 422, lambda b: b["code"] == "validation_failed")
    agent.say(f"   agent sent   {json.dumps(bad)}")
    agent.say(f"   HTTP 422 {invalid.body['code']}")
    for error in invalid.body["errors"]:
        agent.say(
            f"   - {error['field']}: {error['message']}"
            + (f"; expected {error['expected']}" if error["expected"] else "")
            + f"; got {error['received']}"
        )

    agent.step("5. inventory-bot tries to post a goods movement: forbidden")
    movement = {
        "material": "100234",
        "plant": "1000",
        "kind": "receipt",
        "quantity": "50",
        "posting_date": date.today().isoformat(),
        "reference": "PO-4711",
    }
    denied = await agent.call(
        "POST", "/v1/operations/warehouse.goods_movements.create", "inventory-bot", movement
    )
    agent.expect(denied, 403, lambda b: b["code"] == "forbidden")
    agent.say(f"   HTTP 403 {denied.body['code']}: {denied.body['detail']}")

    agent.step("6. replenishment-bot books a receipt for a planner  (a write)")
    posted = await agent.call(
        "POST",
        "/v1/operations/warehouse.goods_movements.create",
        "replenishment-bot",
        movement,
        **{"X-On-Behalf-Of": "maria.schmidt@acme.example"},
    )
    expected_after = float(before["quantity"]) + 50
    agent.expect(posted, 200, lambda b: float(b["output"]["stock_after"]) == expected_after)
    out = posted.body["output"]
    agent.say(
        f"   material document {out['document_number']}/{out['fiscal_year']}, "
        f"stock after: {out['stock_after']}"
    )

    agent.step("7. inventory-bot reads the stock again: the write is visible")
    again = await agent.call("POST", "/v1/operations/warehouse.stock.get", "inventory-bot", stock)
    agent.expect(again, 200, lambda b: float(b["output"]["quantity"]) == expected_after)
    after = again.body["output"]
    agent.say(f"   quantity {before['quantity']} -> {after['quantity']} {after['unit']}")

    agent.step("8. a revoked key is turned away")
    revoked = await agent.call("POST", "/v1/operations/warehouse.stock.get", "retired-bot", stock)
    agent.expect(revoked, 401, lambda b: b["code"] == "unauthenticated")
    agent.say(f"   HTTP 401 {revoked.body['code']}: {revoked.body['detail']}")

    agent.step("9. the session's audit trail")
    events = await audit()
    if len(events) != 6:
        raise DemoFailed(f"expected 6 audit events (one per invocation), found {len(events)}")
    header = ("time", "agent", "operation", "decision", "outcome", "on behalf of")
    agent.say("   {:<12} {:<18} {:<33} {:<8} {:<18} {}".format(*header))
    for e in events:
        agent.say(
            f"   {e.time.strftime('%H:%M:%S.%f')[:12]} {e.agent_id or '-':<18} {e.operation:<33} "
            f"{e.decision.value:<8} {e.outcome:<18} {e.on_behalf_of or ''}"
        )


async def run_demo(keep_running: bool = False, out: TextIO | None = None) -> int:
    out = out or __import__("sys").stdout
    with tempfile.TemporaryDirectory(prefix="lastmile-demo-") as tmp:
        workdir = Path(tmp)
        log_path = workdir / "gateway.log"
        with log_path.open("w") as log_file:
            configure_logging("info", log_file)
            async with AsyncExitStack() as stack:
                wms_url = await start_site(
                    acme_warehouse.create_app(workdir / "acme_wms.sqlite"), stack
                )
                env = dict(os.environ)
                env["LASTMILE_ACME_WMS_URL"] = wms_url
                env["LASTMILE_AUDIT_DB"] = str(workdir / "audit.sqlite")
                app = build_app(load_config(env=env))
                gateway_url = await start_site(app, stack)
                print(
                    f"lastmile demo: ACME WMS sandbox at {wms_url}, gateway at {gateway_url}",
                    file=out,
                )
                http = await stack.enter_async_context(aiohttp.ClientSession())
                agent = AgentSession(http, gateway_url, out)
                try:
                    await play_story(agent, lambda: app[AUDIT_STORE].query(limit=100))
                except (DemoFailed, aiohttp.ClientError, KeyError) as exc:
                    print(f"\nDEMO FAILED: {exc!r} (gateway log: {log_path})", file=out)
                    return 1
                print("\nThe demo ran as expected: every call took the guarded path.", file=out)
                if keep_running:
                    _print_curl_lines(gateway_url, out)
                    await _wait_for_signal()
        return 0


def _print_curl_lines(url: str, out: TextIO) -> None:
    key = DEMO_KEYS["inventory-bot"]
    print("\nEverything stays up until Ctrl-C. Try:", file=out)
    print(f"  curl -s {url}/v1/operations -H 'Authorization: Bearer {key}'", file=out)
    print(
        f"  curl -s {url}/v1/operations/warehouse.stock.get -H 'Authorization: Bearer {key}' "
        '-H \'Content-Type: application/json\' -d \'{"material": "100235", "plant": "1000"}\'',
        file=out,
    )
    print(f"  curl -s {url}/readyz", file=out)


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
