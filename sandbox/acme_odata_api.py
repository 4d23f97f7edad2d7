"""The resource paths of one flavour of the ACME Sales service (see ``sandbox.acme_odata``).

``Set``, ``Set(key)``, ``Set(key)/Items``, ``SalesOrders(key)/AcmeSales.Release`` (V4),
``OpenAmount(CustomerID='…')`` (V4) or ``OpenAmount?CustomerID='…'`` (V2),
``ReleaseSalesOrder?SalesOrderID='…'`` (V2), ``$metadata`` and the service document.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from sandbox.acme_odata_expr import ExprError, parse_filter, parse_key
from sandbox.acme_odata_store import SETS, EntitySet, Store
from sandbox.acme_odata_wire import Flavour, PayloadError, error, etag, read_payload, render

__all__ = ["Api", "Paging"]


class Paging(Protocol):
    """Where the server's page size is set (the fault switches)."""

    page_size: int


_SEGMENT = re.compile(
    r"/(?P<name>[A-Za-z_][\w.]*)(?:\((?P<key>.*)\))?(?:/(?P<nav>[A-Za-z_][\w.]*))?"
)
_HERE = Path(__file__).parent
_CENT = Decimal("0.01")


class _Answer(Exception):
    """Stops a handler with an OData error answer."""

    def __init__(self, status: int, code: str, message: str, details: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


class Api:
    """Routes one flavour's requests (``handle``) to reads, writes and operations."""

    def __init__(self, flavour: Flavour, store: Store, paging: Paging) -> None:
        self.flavour = flavour
        self.store = store
        self.paging = paging
        name = "acme_odata_v4.xml" if flavour.version == "4.0" else "acme_odata_v2.xml"
        self.metadata = (_HERE / name).read_bytes()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._route(request)
        except _Answer as answer:
            return error(self.flavour, answer.status, answer.code, answer.message, answer.details)
        except (ExprError, PayloadError) as exc:
            return error(self.flavour, 400, "SY/100", str(exc), [str(exc)])

    async def _route(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info.get("tail", "")
        method = request.method
        if tail in ("", "/"):
            names = list(SETS)
            if self.flavour.version == "2.0":
                return web.json_response({"d": {"EntitySets": names}})
            return web.json_response({"value": [{"name": n, "url": n} for n in names]})
        if tail == "/$metadata":
            return web.Response(body=self.metadata, content_type="application/xml")
        match = _SEGMENT.fullmatch(tail)
        if match is None:
            raise _Answer(404, "SY/404", "Resource not found")
        name, key_text, nav = match.group("name"), match.group("key"), match.group("nav")
        if name in ("OpenAmount", "ReleaseSalesOrder"):
            return await self._function(request, name, key_text)
        entity = SETS.get(name)
        if entity is None:
            raise _Answer(404, "SY/404", f"Resource not found for segment '{name}'")
        if key_text is None:
            if method == "GET":
                return self._collection(request, entity, list(self.store.rows(entity.name)))
            if method == "POST":
                return await self._create(request, entity)
            raise _Answer(405, "SY/405", f"{method} is not allowed on a collection")
        key = parse_key(key_text, entity.keys)
        found = self.store.get(entity.name, key)
        if found is None:
            raise _Answer(404, "SY/404", f"Resource not found for segment '{entity.type_name}'")
        if nav == self.flavour.items and entity.items:
            items = [
                (d, v)
                for d, v in self.store.rows("SalesOrderItems")
                if d["SalesOrderID"] == key["SalesOrderID"]
            ]
            return self._collection(request, SETS["SalesOrderItems"], items)
        if nav == "AcmeSales.Release" and entity.name == "SalesOrders" and method == "POST":
            return self._release(request, key)
        if nav is not None:
            raise _Answer(404, "SY/404", f"Resource not found for segment '{nav}'")
        if method == "GET":
            return self._entity(request, entity, *found)
        if method in ("PATCH", "MERGE", "PUT"):
            return await self._update(request, entity, *found)
        if method == "DELETE":
            return self._delete(request, entity, key, found[1])
        raise _Answer(405, "SY/405", f"{method} is not allowed on an entity")

    # ---- reads

    def _render(
        self,
        request: web.Request,
        entity: EntitySet,
        doc: dict[str, Any],
        version: int,
        *,
        expand: bool = False,
        select: list[str] | None = None,
    ) -> dict[str, Any]:
        items = None
        if expand and entity.items:
            items = [
                d
                for d, _ in self.store.rows("SalesOrderItems")
                if d["SalesOrderID"] == doc["SalesOrderID"]
            ]
        ieee = "ieee754compatible=true" in request.headers.get("Accept", "").lower().replace(
            " ", ""
        )
        base = f"{request.scheme}://{request.host}"
        return render(
            self.flavour, entity, doc, version, base, ieee754=ieee, items=items, select=select
        )

    def _options(self, request: web.Request, entity: EntitySet) -> tuple[bool, list[str] | None]:
        expand = request.query.get("$expand", "")
        if expand and expand != self.flavour.items:
            raise _Answer(400, "SY/100", f"Cannot expand '{expand}'")
        select = [s for s in request.query.get("$select", "").split(",") if s]
        unknown = [s for s in select if s not in entity.types]
        if unknown:
            raise _Answer(
                400, "SY/100", f"Property '{unknown[0]}' is not part of {entity.type_name}"
            )
        return bool(expand), select or None

    def _entity(
        self, request: web.Request, entity: EntitySet, doc: dict[str, Any], version: int
    ) -> web.Response:
        expand, select = self._options(request, entity)
        body = self._render(request, entity, doc, version, expand=expand, select=select)
        headers = {"ETag": etag(version)} if entity.concurrency else {}
        return web.json_response(
            {"d": body} if self.flavour.version == "2.0" else body, headers=headers
        )

    def _collection(
        self, request: web.Request, entity: EntitySet, rows: list[tuple[dict[str, Any], int]]
    ) -> web.Response:
        query = request.query
        expand, select = self._options(request, entity)
        if query.get("$filter"):
            keep = parse_filter(query["$filter"], lambda n: n.split("/")[0] in entity.types)
            rows = [r for r in rows if keep(r[0])]
        for part in reversed(
            [p.strip() for p in query.get("$orderby", "").split(",") if p.strip()]
        ):
            name, _, direction = part.partition(" ")
            if name not in entity.types or direction not in ("", "asc", "desc"):
                raise _Answer(400, "SY/100", f"Cannot order by '{part}'")
            rows.sort(key=_sort_key(name), reverse=direction == "desc")
        total = len(rows)
        skip = _number(query, "$skip") + _number(query, "$skiptoken")
        top = _number(query, "$top", default=total)
        wanted = rows[skip : skip + top]
        page = wanted[: self.paging.page_size]
        values = [
            self._render(request, entity, d, v, expand=expand, select=select) for d, v in page
        ]
        more = len(wanted) > len(page)
        next_link = None
        if more:
            params = {k: v for k, v in query.items() if k not in ("$skiptoken", "$top", "$skip")}
            params["$skiptoken"] = str(skip + len(page))
            if "$top" in query:
                params["$top"] = str(top - len(page))
            next_link = str(request.url.with_query(params))
        counted = query.get("$count") == "true" or query.get("$inlinecount") == "allpages"
        if self.flavour.version == "2.0":
            body: dict[str, Any] = {"results": values}
            if counted:
                body["__count"] = str(total)
            if next_link:
                body["__next"] = next_link
            return web.json_response({"d": body})
        answer: dict[str, Any] = {"@odata.context": f"$metadata#{entity.name}", "value": values}
        if counted:
            answer["@odata.count"] = total
        if next_link:
            answer["@odata.nextLink"] = next_link
        return web.json_response(answer)

    # ---- writes

    async def _body(self, request: web.Request) -> Any:
        try:
            return json.loads(await request.text(), parse_float=Decimal)
        except ValueError as exc:
            raise _Answer(400, "SY/100", "The request body is not JSON") from exc

    def _precondition(self, request: web.Request, entity: EntitySet, version: int) -> None:
        if not entity.concurrency:
            return
        sent = request.headers.get("If-Match")
        if sent is None:
            raise _Answer(
                428, "/IWBEP/CM_MGW_RT/021", "An If-Match header is required for this change"
            )
        if sent.strip() != "*" and etag(version) not in [t.strip() for t in sent.split(",")]:
            raise _Answer(
                412,
                "/IWBEP/CM_MGW_RT/022",
                "Precondition failed: the record was changed by another user",
            )

    async def _create(self, request: web.Request, entity: EntitySet) -> web.Response:
        body = await self._body(request)
        doc = read_payload(self.flavour, entity, body, partial=False)
        if entity.name == "SalesOrderItems":
            raise _Answer(400, "SY/100", "Items are created with their sales order (deep insert)")
        if entity.name == "SalesOrders":
            doc = self._new_order(doc, body.get(self.flavour.items))
        elif entity.name == "BusinessPartners":
            doc.setdefault("BusinessPartnerID", str(self.store.next_number("bp", 1000200)))
            doc["CreatedAt"] = _now()
            doc.setdefault("PartnerUUID", str(uuid.uuid4()))
        if self.store.get(entity.name, {k: doc.get(k) for k in entity.keys}) is not None:
            raise _Answer(400, "SY/409", f"{entity.type_name} {doc[entity.keys[0]]} exists already")
        with self.store.transaction():
            self.store.insert(entity.name, doc)
            for item in doc.pop("_items", []):
                self.store.insert("SalesOrderItems", item)
        created = self._render(request, entity, doc, 1, expand=bool(entity.items))
        headers = {"ETag": etag(1)} if entity.concurrency else {}
        return web.json_response(
            {"d": created} if self.flavour.version == "2.0" else created,
            status=201,
            headers=headers,
        )

    def _new_order(self, doc: dict[str, Any], lines: Any) -> dict[str, Any]:
        """Check a deep-inserted order and price its items; the items ride in ``_items``."""
        if isinstance(lines, dict):
            lines = lines.get("results")
        if not isinstance(lines, list) or not lines:
            raise _Answer(400, "SO/001", "A sales order needs at least one item")
        problems: list[str] = []
        if self.store.get("BusinessPartners", {"BusinessPartnerID": doc["CustomerID"]}) is None:
            problems.append(f"Business partner {doc['CustomerID']} does not exist")
        reference = doc.get("ExternalReference")
        if reference and any(
            d.get("ExternalReference") == reference for d, _ in self.store.rows("SalesOrders")
        ):
            problems.append(f"A sales order with external reference {reference} exists already")
        number = str(self.store.next_number("so", 5000000001))
        items, total = [], Decimal(0)
        for index, line in enumerate(lines, start=1):
            item = read_payload(self.flavour, SETS["SalesOrderItems"], line, partial=False)
            product = self.store.get("Products", {"ProductID": item["ProductID"]})
            quantity = Decimal(item["Quantity"])
            if product is None:
                problems.append(f"Item {index * 10}: product {item['ProductID']} does not exist")
                continue
            if quantity <= 0:
                problems.append(f"Item {index * 10}: quantity must be positive")
            amount = (quantity * Decimal(product[0]["Price"])).quantize(_CENT)
            total += amount
            items.append(
                {
                    **item,
                    "SalesOrderID": number,
                    "ItemNo": index * 10,
                    "NetAmount": format(amount, "f"),
                }
            )
        if problems:
            raise _Answer(400, "SO/002", problems[0], problems)
        doc.update(SalesOrderID=number, NetAmount=format(total, "f"), Currency="EUR", Status="Open")
        doc.setdefault("OrderDate", _now())
        doc["_items"] = items
        return doc

    async def _update(
        self, request: web.Request, entity: EntitySet, doc: dict[str, Any], version: int
    ) -> web.Response:
        self._precondition(request, entity, version)
        change = read_payload(self.flavour, entity, await self._body(request), partial=True)
        fixed = [
            n for n in change if n in entity.keys or n in ("NetAmount", "CreatedAt", "PartnerUUID")
        ]
        if any(change[n] != doc.get(n) for n in fixed):
            raise _Answer(400, "SY/100", f"Property '{fixed[0]}' cannot be changed")
        version = self.store.replace(entity.name, {**doc, **change})
        return web.Response(
            status=204, headers={"ETag": etag(version)} if entity.concurrency else {}
        )

    def _delete(
        self, request: web.Request, entity: EntitySet, key: dict[str, Any], version: int
    ) -> web.Response:
        if entity.name == "BusinessPartners":
            raise _Answer(405, "SY/405", "Business partners cannot be deleted")
        self._precondition(request, entity, version)
        with self.store.transaction():
            self.store.delete(entity.name, key)
            if entity.items:
                for item, _ in list(self.store.rows("SalesOrderItems")):
                    if item["SalesOrderID"] == key["SalesOrderID"]:
                        self.store.delete("SalesOrderItems", item)
        return web.Response(status=204)

    # ---- operations

    def _release(self, request: web.Request, key: dict[str, Any]) -> web.Response:
        entity = SETS["SalesOrders"]
        found = self.store.get("SalesOrders", key)
        if found is None:
            raise _Answer(404, "SY/404", "Resource not found for segment 'SalesOrder'")
        doc, _ = found
        if doc.get("Status") == "Released":
            raise _Answer(400, "SO/003", f"Sales order {doc['SalesOrderID']} is already released")
        version = self.store.replace("SalesOrders", {**doc, "Status": "Released"})
        body = self._render(request, entity, {**doc, "Status": "Released"}, version)
        return web.json_response({"d": body} if self.flavour.version == "2.0" else body)

    async def _function(self, request: web.Request, name: str, args: str | None) -> web.Response:
        if self.flavour.version == "2.0":
            params = {k: v for k, v in request.query.items() if not k.startswith("$")}
            arg_text = ",".join(f"{k}={v}" for k, v in params.items())
        else:
            arg_text = args or ""
        if (
            name == "ReleaseSalesOrder"
            and self.flavour.version == "2.0"
            and request.method == "POST"
        ):
            return self._release(request, parse_key(arg_text, ("SalesOrderID",)))
        if name != "OpenAmount" or request.method != "GET":
            raise _Answer(405, "SY/405", f"{request.method} is not allowed on {name}")
        customer = parse_key(arg_text, ("CustomerID",))["CustomerID"]
        total = sum(
            (
                Decimal(d["NetAmount"])
                for d, _ in self.store.rows("SalesOrders")
                if d["CustomerID"] == customer and d.get("Status") == "Open"
            ),
            Decimal(0),
        )
        amount = format(total.quantize(_CENT), "f")
        if self.flavour.version == "2.0":
            return web.json_response({"d": {"OpenAmount": amount}})
        return web.json_response({"@odata.context": "$metadata#Edm.Decimal", "value": amount})


def _sort_key(name: str) -> Callable[[tuple[dict[str, Any], int]], tuple[bool, Any]]:
    def key(row: tuple[dict[str, Any], int]) -> tuple[bool, Any]:
        value = row[0].get(name)
        return value is not None, value if value is not None else ""

    return key


def _number(query: Any, name: str, default: int = 0) -> int:
    text = query.get(name)
    if text is None:
        return default
    if not text.isdigit():
        raise _Answer(400, "SY/100", f"{name} must be a non-negative integer")
    return int(text)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
