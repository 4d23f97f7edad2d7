"""One OData service over the shared HTTP boundary: envelopes, paging, ETags, CSRF.

:class:`ServiceSession` lives as long as the backend (it holds the SAP CSRF token);
:class:`ODataClient` is what one call's handler gets (the session, the call's time
budget and its backend key). The method table is in ``adapters.odata``'s docstring.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin, urlsplit

from adapters.http import HttpBackend, HttpReply
from adapters.odata_errors import error_for
from adapters.odata_query import Query, eq, key_predicate
from adapters.odata_types import EdmType, ODataVersion, identifier, literal, to_wire
from schemas.errors import BackendError, ContractViolation

__all__ = ["Collection", "ODataClient", "ServiceSession", "record_of"]

_CSRF = "X-CSRF-Token"


@dataclass(frozen=True, slots=True)
class Collection:
    """The records of a query; ``next_link`` is set when the page cap stopped the reading
    before the service's last page; ``count`` is the service's total when asked for."""

    items: list[dict[str, Any]]
    next_link: str | None = None
    count: int | None = None


class ServiceSession:
    """The service root, protocol version and CSRF token of one backend."""

    __slots__ = ("_csrf_lock", "_token", "csrf", "http", "max_pages", "query", "root", "version")

    def __init__(
        self,
        http: HttpBackend,
        root: str,
        version: ODataVersion,
        *,
        csrf: bool,
        max_pages: int,
        query: Mapping[str, str],
    ) -> None:
        self.http = http
        self.root = root.rstrip("/")
        self.version: ODataVersion = version
        self.csrf = csrf
        self.max_pages = max_pages
        self.query = dict(query)
        self._token: str | None = None
        self._csrf_lock = asyncio.Lock()

    @property
    def accept(self) -> str:
        if self.version == "4.0":
            return "application/json;odata.metadata=minimal;IEEE754Compatible=true"
        return "application/json"

    def same_origin(self, url: str) -> bool:
        return _origin(url) == _origin(self.root)

    async def csrf_token(self, total_s: float, stale: str | None = None) -> str:
        """The CSRF token, fetched with ``X-CSRF-Token: Fetch`` on first use or when the
        service called ``stale`` (the token we sent) no longer valid."""
        async with self._csrf_lock:
            if self._token is not None and self._token != stale:
                return self._token
            reply = await self.http.send(
                "GET",
                self.root + "/",
                total_s=total_s,
                headers={_CSRF: "Fetch", "Accept": self.accept},
                params=self.query or None,
            )
            token = reply.headers.get(_CSRF, "")
            if reply.status >= 300 or not token or token.lower() == "required":
                if reply.status >= 300:
                    raise error_for(reply)
                raise BackendError("The backend gave no CSRF token for writes.")
            self._token = token
            return token


class ODataClient:
    """What an OData handler gets for one call (see ``adapters.odata``)."""

    __slots__ = ("_session", "_total_s", "external_reference")

    def __init__(
        self, session: ServiceSession, total_s: float, external_reference: str | None = None
    ) -> None:
        #: the gateway's backend key for this write (None for reads and unkeyed writes)
        self.external_reference = external_reference
        self._session = session
        self._total_s = total_s

    @property
    def version(self) -> ODataVersion:
        return self._session.version

    async def service_document(self) -> Any:
        return _decoded(await self._send("GET", "/"))

    async def get(
        self,
        entity_set: str,
        key: Mapping[str, Any],
        *,
        key_types: Mapping[str, EdmType] | None = None,
        select: Sequence[str] = (),
        expand: Sequence[str] = (),
    ) -> dict[str, Any]:
        """The record with ``key`` (404: ``backend_not_found``)."""
        path = self._entity_path(entity_set, key, key_types)
        params = Query(select=select, expand=expand).params(self.version)
        reply = await self._send("GET", path, params=params)
        return _one(reply, self.version)

    async def query(self, entity_set: str, query: Query | None = None) -> Collection:
        """The records matching ``query``, following server-driven paging up to the cap."""
        session = self._session
        reply = await self._send(
            "GET", "/" + identifier(entity_set), params=(query or Query()).params(self.version)
        )
        items, link, count = _page(reply, self.version)
        for _ in range(session.max_pages - 1):
            if link is None:
                break
            target = urljoin(session.root + "/", link)
            if not session.same_origin(target):
                raise ContractViolation("The backend's next page is on another host; not followed.")
            reply = await self._send("GET", target)
            more, link, _ = _page(reply, self.version)
            items += more
        return Collection(items, link, count)

    async def create(
        self,
        entity_set: str,
        body: Mapping[str, Any],
        *,
        reference_property: str | None = None,
        edm_types: Mapping[str, EdmType] | None = None,
    ) -> dict[str, Any]:
        """POST a new entity (nested lists/records are a deep insert); the created record.

        With ``reference_property``, the backend key goes into that property unless the
        body has a value there already."""
        payload = dict(body)
        if reference_property and self.external_reference and not payload.get(reference_property):
            payload[identifier(reference_property)] = self.external_reference
        wire = to_wire(payload, self.version, edm_types)
        reply = await self._send("POST", "/" + identifier(entity_set), json=wire)
        return _one(reply, self.version)

    async def update(
        self,
        entity_set: str,
        key: Mapping[str, Any],
        body: Mapping[str, Any],
        *,
        etag: str | None = None,
        key_types: Mapping[str, EdmType] | None = None,
        edm_types: Mapping[str, EdmType] | None = None,
    ) -> dict[str, Any]:
        """Change some properties (V4 PATCH, V2 MERGE), with ``If-Match: etag`` when
        given (else ``*`` where the service demands one). Returns the record the service
        sent back, or {} for 204 plus the new ``etag`` when the service sent one."""
        method = "PATCH" if self.version == "4.0" else "MERGE"
        headers = {"If-Match": etag or "*"}
        path = self._entity_path(entity_set, key, key_types)
        wire = to_wire(dict(body), self.version, edm_types)
        reply = await self._send(method, path, json=wire, headers=headers)
        return _one(reply, self.version) if reply.body else _etag_only(reply)

    async def delete(
        self,
        entity_set: str,
        key: Mapping[str, Any],
        *,
        etag: str | None = None,
        key_types: Mapping[str, EdmType] | None = None,
    ) -> dict[str, Any]:
        path = self._entity_path(entity_set, key, key_types)
        await self._send("DELETE", path, headers={"If-Match": etag or "*"})
        return {}

    async def invoke(
        self,
        name: str,
        params: Mapping[str, Any],
        *,
        method: str = "POST",
        param_types: Mapping[str, EdmType] | None = None,
        bound: tuple[str, Mapping[str, Any]] | None = None,
        namespace: str = "",
    ) -> dict[str, Any]:
        """Call an action (POST, JSON body), a function (GET, parameters in the URL) or
        a V2 FunctionImport (parameters as query options, either method).

        ``bound`` (entity set, key) calls a bound action/function on that entity; V4
        bound operations are addressed ``…/Namespace.Name``. The answer is the returned
        record, ``{"value": …}`` for a collection or primitive, or {} for none."""
        types = param_types or {}
        path = "/" + identifier(name)
        if bound is not None:
            qualified = f"{namespace}.{name}" if namespace else name
            path = self._entity_path(bound[0], bound[1], None) + "/" + qualified
        body: Any = None
        query: list[tuple[str, str]] = []
        if self.version == "2.0":
            query = [
                (identifier(n), literal(v, types.get(n, "Edm.String"), "2.0"))
                for n, v in params.items()
                if v is not None
            ]
        elif method == "GET":
            inner = ",".join(
                f"{identifier(n)}={literal(v, types.get(n, 'Edm.String'), '4.0')}"
                for n, v in params.items()
            )
            path += f"({inner})"
        else:
            body = to_wire(dict(params), self.version, types)
        reply = await self._send(method, path, params=query or None, json=body)
        return _result(_decoded(reply), self.version) if reply.body else {}

    async def find(self, entity_set: str, prop: str, value: str) -> dict[str, Any] | None:
        """The first record whose ``prop`` equals ``value`` (a backend key), or None."""
        found = await self.query(entity_set, Query(filter=eq(prop, value), top=1))
        return found.items[0] if found.items else None

    def _entity_path(
        self, entity_set: str, key: Mapping[str, Any], key_types: Mapping[str, EdmType] | None
    ) -> str:
        try:
            predicate = key_predicate(key, key_types or {}, self.version)
        except ValueError as exc:
            raise BackendError(f"The key of {entity_set!r} cannot be sent: {exc}") from exc
        return "/" + identifier(entity_set) + predicate

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpReply:
        """One request; on a refused CSRF token, one more with a fresh token."""
        session = self._session
        url = path if "://" in path else session.root + path
        sent = {"Accept": session.accept, **(headers or {})}
        if json is not None and session.version == "4.0":
            sent["Content-Type"] = "application/json;IEEE754Compatible=true"
        query = list(params or ())
        if session.query and "://" not in path:
            query += list(session.query.items())
        writes = method not in ("GET", "HEAD")
        token: str | None = None
        for attempt in (1, 2):
            if writes and session.csrf:
                token = await session.csrf_token(self._total_s, stale=token)
                sent[_CSRF] = token
            reply = await session.http.send(
                method, url, total_s=self._total_s, params=query or None, json=json, headers=sent
            )
            refused = reply.status == 403 and reply.headers.get(_CSRF, "").lower() == "required"
            if not (refused and writes and session.csrf and attempt == 1):
                break
        if reply.status >= 300:
            raise error_for(reply)
        return reply


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _decoded(reply: HttpReply) -> Any:
    try:
        return json.loads(reply.body, parse_float=Decimal) if reply.body else None
    except ValueError as exc:
        raise ContractViolation("The backend answered with something that is not JSON.") from exc


def _one(reply: HttpReply, version: ODataVersion) -> dict[str, Any]:
    decoded = _decoded(reply)
    entity = (
        decoded.get("d", decoded) if isinstance(decoded, dict) and version == "2.0" else decoded
    )
    if not isinstance(entity, dict):
        raise ContractViolation("The backend's answer is not an entity.")
    record = record_of(entity)
    header = reply.headers.get("ETag")
    if header and "etag" not in record:
        record["etag"] = header
    return record


def _etag_only(reply: HttpReply) -> dict[str, Any]:
    header = reply.headers.get("ETag")
    return {"etag": header} if header else {}


def _page(
    reply: HttpReply, version: ODataVersion
) -> tuple[list[dict[str, Any]], str | None, int | None]:
    decoded = _decoded(reply)
    if not isinstance(decoded, dict):
        raise ContractViolation("The backend's answer is not an OData collection.")
    if version == "2.0":
        body = decoded.get("d")
        if isinstance(body, list):  # V1-style: the array directly under d
            body = {"results": body}
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise ContractViolation("The backend's answer is not an OData V2 collection.")
        rows, link, count = body["results"], body.get("__next"), body.get("__count")
    else:
        if not isinstance(decoded.get("value"), list):
            raise ContractViolation("The backend's answer is not an OData V4 collection.")
        rows, link, count = (
            decoded["value"],
            decoded.get("@odata.nextLink"),
            decoded.get("@odata.count"),
        )
    items = [record_of(r) for r in rows if isinstance(r, dict)]
    total = int(count) if isinstance(count, int | str | Decimal) and str(count).isdigit() else None
    return items, link if isinstance(link, str) and link else None, total


def record_of(entity: Mapping[str, Any]) -> dict[str, Any]:
    """An entity without its protocol envelope, its ETag under ``etag`` (see module doc)."""
    record: dict[str, Any] = {}
    etag: Any = entity.get("@odata.etag")
    meta = entity.get("__metadata")
    if isinstance(meta, Mapping) and etag is None:
        etag = meta.get("etag")
    for name, value in entity.items():
        if name == "__metadata" or name.startswith("@") or "@odata." in name:
            continue
        if isinstance(value, Mapping):
            if "__deferred" in value:
                continue  # a navigation link not expanded: not data
            if isinstance(value.get("results"), list):
                record[name] = [record_of(v) for v in value["results"] if isinstance(v, Mapping)]
                continue
            record[name] = record_of(value)
        elif isinstance(value, list):
            record[name] = [record_of(v) if isinstance(v, Mapping) else v for v in value]
        else:
            record[name] = value
    if isinstance(etag, str) and "etag" not in record:
        record["etag"] = etag
    return record


def _result(decoded: Any, version: ODataVersion) -> dict[str, Any]:
    """What an action or function returned: a record, or ``{"value": …}`` for a
    collection or a primitive (V2 wraps both in ``d``; V4 puts them under ``value``)."""
    result = decoded.get("d") if version == "2.0" and isinstance(decoded, dict) else decoded
    if isinstance(result, dict):
        data = {k: v for k, v in result.items() if not k.startswith("@")}
        if set(data) == {"value"}:
            result = data["value"]
        elif set(data) == {"results"} and isinstance(data["results"], list):
            result = data["results"]
        else:
            return record_of(result)
    if isinstance(result, list):
        return {"value": [record_of(r) if isinstance(r, Mapping) else r for r in result]}
    return {"value": result}
