"""How an operation generated from an OpenAPI description is sent: one small runtime.

``lastmile adapter new --openapi`` writes one :class:`RestOperation` per operation (its
method, path template, where each input field goes, how its answer is paged) and a
handler that calls :func:`send`. Everything else is the REST adapter's: the shared HTTP
boundary (timeouts, bounded reads, ``Retry-After``, authentication) and the mapping of
statuses to ``schemas.errors``. Keeping the logic here rather than in every generated
module means a fix reaches all generated adapters without regenerating them.

Writes get the gateway's backend key where the description has a place for one (an
``Idempotency-Key`` header, an ``idempotency_key`` body field, or anything marked
``x-lastmile-backend-key``), so the system can deduplicate a re-sent write and a
lookup (:func:`find`) can tell whether a write whose answer was lost was made.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel

from adapters.base import Canonical
from adapters.rest import RestAnswer, RestClient
from schemas.errors import BackendNotFound, ContractViolation

__all__ = ["Pagination", "RestOperation", "find", "json_number", "send"]

_LINK_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*rel="?([^",;]*\bnext\b[^",;]*)"?', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Pagination:
    """How a list answer continues, when the agent does not page itself.

    ``cursor``: the answer's ``next_field`` is sent back as query ``param``;
    ``page``: query ``param`` counts up from ``first``; ``offset``: query ``param``
    moves on by the items received; ``link``: the ``Link: <…>; rel="next"`` header is
    followed (on the backend's own origin only). ``items`` is the answer's field with
    the page's items ("" when the answer is the list). At most ``RestClient.max_pages``
    pages are read for one call; the answer then carries what the last page said
    (its cursor, for instance), so an agent can go on from there. A ``Link`` to another
    origin is not followed.
    """

    style: Literal["cursor", "page", "offset", "link"]
    items: str = ""
    param: str = ""
    next_field: str = ""
    size_param: str = ""
    first: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class RestOperation:
    """One described operation: where each input field (by its wire name) goes."""

    method: str
    path: str
    path_params: tuple[str, ...] = ()
    query: tuple[str, ...] = ()
    joined: tuple[str, ...] = ()  # list-valued query parameters sent comma-separated
    headers: tuple[str, ...] = ()
    body: str = ""  # the input field holding the request body
    form: bool = False  # the body is sent as application/x-www-form-urlencoded
    backend_key: tuple[Literal["header", "query", "body"], str] | None = None
    wrap: str = ""  # the output field a non-record answer is put under
    pages: Pagination | None = None
    errors: Mapping[int, str] = field(default_factory=dict)


def json_number(value: Decimal) -> int | float:
    """A ``type: number, format: decimal`` value as a JSON number, as the API expects."""
    return int(value) if value == value.to_integral_value() else float(value)


async def send(client: RestClient, op: RestOperation, payload: BaseModel) -> Canonical:
    """Send the operation with ``payload`` and return its answer in the output's shape."""
    values = payload.model_dump(mode="json", by_alias=True, exclude_unset=True)
    path = _path(op, values)
    query = _query(op, values)
    headers = {n: _text(values[n]) for n in op.headers if values.get(n) is not None}
    body = values.get(op.body) if op.body else None
    if op.backend_key is not None:
        body = _with_key(op.backend_key, client.external_reference, query, headers, body)
    if op.form and isinstance(body, Mapping):
        body = {name: _text(value) for name, value in body.items() if value is not None}
    answer = await client.exchange(
        op.method,
        path,
        params=query or None,
        body=body,
        headers=headers or None,
        form=op.form,
        documented=op.errors,
    )
    decoded = answer.decoded
    pages = op.pages
    paged_by_agent = pages is not None and pages.param and values.get(pages.param) is not None
    if pages is not None and not paged_by_agent and _pageable(pages, decoded):
        decoded = await _follow(client, op, pages, path, query, headers, answer)
    return _shaped(op, decoded)


async def find(
    client: RestClient, op: RestOperation, parameter: str, key: str, output: type[BaseModel]
) -> Canonical | None:
    """The write made with backend ``key``, looked up by ``op`` with ``parameter=key``,
    in ``output``'s shape; None when the system answers 404 or an empty list."""
    values = {parameter: key}
    query = [(parameter, key)] if parameter in op.query else []
    headers = {parameter: key} if parameter in op.headers else None
    try:
        answer = await client.exchange(
            op.method, _path(op, values), params=query or None, headers=headers
        )
    except BackendNotFound:
        return None
    return project(answer.decoded, output)


def project(decoded: Any, output: type[BaseModel]) -> Canonical | None:
    """A lookup's answer in a write's output shape: the record (at the top, inside a
    one-key wrapper or first in a list) with the output's fields, others dropped."""
    wanted = {f.alias or name for name, f in output.model_fields.items()}
    candidates: list[Mapping[str, Any]] = []
    pending = [decoded]
    while pending and len(candidates) < 20:
        item = pending.pop(0)
        if isinstance(item, list):
            pending += item[:1]
        elif isinstance(item, Mapping):
            candidates.append(item)
            pending += [v for v in item.values() if isinstance(v, Mapping | list)]
    if not candidates:
        return None
    best = max(candidates, key=lambda c: len(wanted & set(c)))
    return {k: v for k, v in best.items() if k in wanted}


def _with_key(
    where: tuple[str, str],
    key: str | None,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: Any,
) -> Any:
    """Put the backend key in its place, unless the agent gave a value there itself."""
    place, name = where
    key = key or uuid.uuid4().hex  # no gateway key (no idempotency): still one per call
    if place == "header":
        headers.setdefault(name, key)
    elif place == "query" and all(n != name for n, _ in query):
        query.append((name, key))
    elif place == "body" and isinstance(body, Mapping) and body.get(name) is None:
        body = {**body, name: key}
    return body


def _path(op: RestOperation, values: Mapping[str, Any]) -> str:
    path = op.path
    for name in op.path_params:
        if values.get(name) is None:
            raise ContractViolation(f"The path parameter {name!r} has no value.")
        path = path.replace("{" + name + "}", quote(_text(values[name]), safe=""))
    return path


def _query(op: RestOperation, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name in op.query:
        value = values.get(name)
        if value is None:
            continue
        if isinstance(value, list) and name not in op.joined:
            pairs += [(name, _text(v)) for v in value]
        else:
            pairs.append((name, _text(value)))
    return pairs


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _pageable(pages: Pagination, decoded: Any) -> bool:
    """Whether the first answer has the described shape (else it is answered as it is,
    and the output model reports what is wrong with it)."""
    return isinstance(decoded, Mapping) if pages.items else isinstance(decoded, list)


def _items(pages: Pagination, decoded: Any) -> list[Any]:
    found = decoded if not pages.items else _field(decoded, pages.items)
    return list(found) if isinstance(found, list) else []


async def _follow(
    client: RestClient,
    op: RestOperation,
    pages: Pagination,
    path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    first: RestAnswer,
) -> Any:
    """Read further pages (up to ``client.max_pages`` in all) and merge their items."""
    answer, collected = first, _items(pages, first.decoded)
    given = dict(query)
    position = int(given.get(pages.param, pages.first)) if pages.style == "page" else 0
    offset = int(given.get(pages.param, 0)) if pages.style == "offset" else 0
    size = int(given[pages.size_param]) if given.get(pages.size_param, "").isdigit() else 0
    for _ in range(client.max_pages - 1):
        received = _items(pages, answer.decoded)
        if pages.style == "link":
            match = _LINK_NEXT.search(answer.link or "")
            target, params = client.absolute(match.group(1) if match else ""), None
            if match is None or not client.same_origin(target):
                break  # a link to another host is not followed with our credentials
        else:
            if pages.style == "cursor":
                cursor = _field(answer.decoded, pages.next_field)
                if not cursor:
                    break
                value = str(cursor)
            else:
                if not received or (size and len(received) < size):
                    break
                position, offset = position + 1, offset + len(received)
                value = str(position if pages.style == "page" else offset)
            target = path
            params = [(n, v) for n, v in query if n != pages.param] + [(pages.param, value)]
        answer = await client.exchange(
            op.method, target, params=params, headers=headers or None, documented=op.errors
        )
        collected += _items(pages, answer.decoded)
    if not pages.items:
        return collected
    last = answer.decoded if isinstance(answer.decoded, Mapping) else {}
    return {**last, pages.items: collected}


def _field(decoded: Any, name: str) -> Any:
    """A field of an answer that should be a record (a broken one has no pages to follow;
    the output model then says what is wrong with it)."""
    return decoded.get(name) if isinstance(decoded, Mapping) else None


def _shaped(op: RestOperation, decoded: Any) -> Canonical:
    if op.wrap:
        return {op.wrap: decoded}
    if decoded is None:
        return {}
    if not isinstance(decoded, Mapping):
        raise ContractViolation(
            f"The backend answered with a {type(decoded).__name__}, not a record of fields."
        )
    return decoded
