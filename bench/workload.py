"""The benchmark's workload: a 90/10 mix of varied reads and keyed writes, in two dialects.

One cycle of ``CYCLE`` calls, a pure function of the catalogue's size and a seed, is sent
over and over by every load generator (wrk's Lua script and ``bench/loadgen.py``):

- 90% reads, spread over the generated catalogue (``sandbox/warehouse_catalogue.py``):
  two thirds ``warehouse.stock.get``, one third ``warehouse.items.get``, one read in
  twenty for something the WMS does not have (an item outside the catalogue, or a plant
  that does not hold the item), which the WMS answers with a clean 404;
  reads come from ``inventory-bot`` and ``replenishment-bot`` alike, so redaction of
  the buyer's e-mail applies to half of the item reads;
- 10% writes: ``warehouse.goods_movements.create`` by ``replenishment-bot`` (team
  planning, so the shipped policy ``planning-agents-post-goods-movements`` permits it),
  receipts (never scrap: ``no-scrapping-by-agents``) of 1 to 100 units (never more:
  ``large-movements-need-approval`` would hold the call), on behalf of a named planner
  (the shadow policy ``movements-name-an-end-user`` stays quiet), each with its own
  ``Idempotency-Key``.

The same cycle is rendered for the gateway (canonical operations, ``Call.gateway``) and
for the legacy API (``Call.legacy``, what the gateway's adapter sends to the WMS), so the
bare proxy and a direct client carry the very same requests and the ratio compares like
with like. A write's key is filled in at send time: ``KEY`` marks its place, and every key
is ``KEY_LENGTH`` characters, so a rendered request's length never changes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sandbox import warehouse_catalogue

CYCLE = 1000
WRITE_EVERY = 10  # one call in ten is a write
MISSING_EVERY = 20  # one read in twenty asks for something the WMS does not have
KEY = "{KEY}"
KEY_LENGTH = 30  # prefix (8) + load generator's thread (2) + counter (20)
POSTING_DATE = date(2026, 11, 30)

KEYS = {
    "inventory-bot": "lm_demo_inventory_4f9c2a7e1b",  # public demo keys (gateway/demo)
    "replenishment-bot": "lm_demo_replenish_8d31e05c6a",
}
READERS = ("inventory-bot", "replenishment-bot")
WRITER = "replenishment-bot"


@dataclass(frozen=True)
class Request:
    """One HTTP request; ``KEY`` in a header value or the body is replaced when sent."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: str | None
    expect: int  # the status a correct answer has


@dataclass(frozen=True)
class Call:
    """One call of the cycle: what it is, and its request in both dialects."""

    kind: str  # stock | item | stock_missing | item_missing | movement
    gateway: Request
    legacy: Request

    @property
    def is_write(self) -> bool:
        return self.kind == "movement"


def cycle(catalogue: int, length: int = CYCLE, seed: int = 17) -> list[Call]:
    """The calls every load generator repeats, over a catalogue of ``catalogue`` items."""
    if catalogue < 1:
        raise ValueError("the workload needs a generated catalogue of at least one item")
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    calls = []
    for position in range(length):
        index = rng.randrange(catalogue)
        if position % WRITE_EVERY == WRITE_EVERY - 1:
            calls.append(_movement(index, quantity=rng.randint(1, 100), planner=rng.randrange(8)))
            continue
        agent = READERS[rng.randrange(len(READERS))]
        read = position - position // WRITE_EVERY  # the how-many-th read this is
        missing = read % MISSING_EVERY == MISSING_EVERY - 1
        if rng.randrange(3) < 2:
            calls.append(_stock(index, agent, missing))
        else:
            calls.append(_item(catalogue + index if missing else index, agent, missing))
    return calls


def _gateway(operation: str, agent: str, body: Mapping[str, object], expect: int) -> Request:
    headers = [("Authorization", f"Bearer {KEYS[agent]}"), ("Content-Type", "application/json")]
    if operation == "warehouse.goods_movements.create":
        headers += [("Idempotency-Key", KEY)]
    return Request("POST", f"/v1/operations/{operation}", tuple(headers), json.dumps(body), expect)


def _stock(index: int, agent: str, missing: bool) -> Call:
    plant = (
        warehouse_catalogue.unstocked_plant(index)
        if missing
        else warehouse_catalogue.stocked_plants(index)[index % 2]
    )
    material = warehouse_catalogue.material(index)
    expect = 404 if missing else 200
    legacy_path = f"/api/v1/MARD?MATNR={material.zfill(18)}&WERKS={plant}"
    return Call(
        "stock_missing" if missing else "stock",
        _gateway("warehouse.stock.get", agent, {"material": material, "plant": plant}, expect),
        Request("GET", legacy_path, (), None, expect),
    )


def _item(index: int, agent: str, missing: bool) -> Call:
    material = warehouse_catalogue.material(index)
    expect = 404 if missing else 200
    return Call(
        "item_missing" if missing else "item",
        _gateway("warehouse.items.get", agent, {"material": material}, expect),
        Request("GET", f"/api/v1/MARA/{material.zfill(18)}", (), None, expect),
    )


def _movement(index: int, quantity: int, planner: int) -> Call:
    material = warehouse_catalogue.material(index)
    plant = warehouse_catalogue.stocked_plants(index)[0]
    canonical = {
        "material": material,
        "plant": plant,
        "kind": "receipt",
        "quantity": str(quantity),
        "posting_date": POSTING_DATE.isoformat(),
    }
    gateway = _gateway("warehouse.goods_movements.create", WRITER, canonical, 200)
    gateway = Request(
        gateway.method,
        gateway.path,
        (*gateway.headers, ("X-On-Behalf-Of", f"planner-{planner}")),
        gateway.body,
        gateway.expect,
    )
    legacy = {  # what adapters/acme_warehouse.py posts; the gateway's EXTREF is "LM" + 30
        "MATNR": material.zfill(18),
        "WERKS": plant,
        "BWART": "101",
        "ERFMG": f"{quantity:.3f}",
        "BUDAT": POSTING_DATE.strftime("%Y%m%d"),
        "XBLNR": "",
        "EXTREF": "LM" + KEY,
    }
    return Call(
        "movement",
        gateway,
        Request(
            "POST",
            "/api/v1/goodsmovement",
            (("Content-Type", "application/json"),),
            json.dumps(legacy),
            201,
        ),
    )


def as_json(calls: list[Call], dialect: str) -> str:
    """The cycle in one dialect (``gateway`` or ``legacy``) for ``bench/loadgen.py``."""
    rows = []
    for call in calls:
        request: Request = getattr(call, dialect)
        rows.append(
            {
                "kind": call.kind,
                "method": request.method,
                "path": request.path,
                "headers": [list(header) for header in request.headers],
                "body": request.body,
                "expect": request.expect,
            }
        )
    return json.dumps(rows)


def key(prefix: str, stream: int, counter: int) -> str:
    """A write's idempotency key: unique per (prefix, stream, counter), ``KEY_LENGTH`` long."""
    if len(prefix) != 8 or not 0 <= stream < 100:
        raise ValueError("a key prefix has 8 characters and a stream is 0-99")
    return f"{prefix}{stream:02d}{counter:020d}"


def fill(text: str, value: str) -> str:
    return text.replace(KEY, value)


def raw(request: Request, host: str) -> str:
    """``request`` as HTTP/1.1 bytes on the wire (as text), ``KEY`` still in place."""
    body = request.body or ""
    length = len(fill(body, "k" * KEY_LENGTH).encode())
    lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in request.headers]
    if request.body is not None:
        lines.append(f"Content-Length: {length}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


def _lua_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "\\r").replace("\n", "\\n") + '"'


def lua_script(requests: list[Request], host: str, prefix: str) -> str:
    """A wrk script that sends ``requests`` round and round, filling in fresh keys, and
    counts answers by class: 2xx, 404, and anything else (which the bench treats as a
    failure). A request with a key is split around it; others are sent as rendered."""
    entries = []
    for request in requests:
        text = raw(request, host)
        if text.count(KEY) > 1:
            raise ValueError("a request may carry its key once")
        before, _, after = text.partition(KEY)
        entries.append(
            "{" + _lua_string(before) + (", " + _lua_string(after) if KEY in text else "") + "}"
        )
    return LUA_TEMPLATE.replace("__PREFIX__", _lua_string(prefix)).replace(
        "__REQUESTS__", ",\n".join(entries)
    )


LUA_TEMPLATE = """-- generated by bench/workload.py: the benchmark's mix, sent round and round
local requests = {
__REQUESTS__
}
local prefix = __PREFIX__
local position = 0
local counter = 0
stream = 0
ok, missing, other = 0, 0, 0
local threads = {}

function setup(thread)
  thread:set("stream", #threads)
  table.insert(threads, thread)
end

function init(args)
  position = stream * 97 % #requests
end

function request()
  position = position % #requests + 1
  local entry = requests[position]
  if entry[2] == nil then
    return entry[1]
  end
  counter = counter + 1
  return entry[1] .. prefix .. string.format("%02d%020d", stream, counter) .. entry[2]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  elseif status == 404 then
    missing = missing + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("ok")
    b = b + thread:get("missing")
    c = c + thread:get("other")
  end
  io.write(string.format("answers: 2xx=%d 404=%d other=%d\\n", a, b, c))
end
"""
