"""The operations of a description: one per path and method, in either spec version.

Swagger 2.0 and OpenAPI 3 say the same things in different places (``in: body``
parameters or ``requestBody``; a response's ``schema`` or its ``content``); this module
reads both into one :class:`ApiOperation`. It also finds what the runtime needs beyond
the schemas: where a write takes an idempotency or backend key, which operation looks
a write up, and how a list answer is paged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapters.codegen.openapi.document import Node, OpenApiDocument, mapping, sequence

METHODS = ("get", "put", "post", "patch", "delete")
IDEMPOTENCY_HEADERS = frozenset({"idempotency-key", "x-idempotency-key"})
IDEMPOTENCY_FIELDS = frozenset({"idempotency_key", "idempotencyKey", "IdempotencyKey"})
BACKEND_KEY = "x-lastmile-backend-key"
LOOKUP = "x-lastmile-lookup"
_SCHEMA_KEYS = (
    "type", "format", "enum", "items", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "minItems",
    "maxItems", "default", "description",
)  # fmt: skip
ITEM_FIELDS = ("items", "data", "results", "value", "records", "entries", "objects", "elements")
CURSOR_PARAMS = ("cursor", "page_token", "pageToken", "next_token", "nextToken", "$skiptoken")
CURSOR_FIELDS = ("cursor", "next_cursor", "nextCursor", "next_page_token", "nextPageToken",
                 "next_token", "nextToken")  # fmt: skip
PAGE_PARAMS = ("page", "pageNumber", "page_number")
OFFSET_PARAMS = ("offset", "$skip", "skip")
SIZE_PARAMS = ("limit", "$top", "top", "page_size", "pageSize", "per_page", "size")


@dataclass(slots=True)
class Parameter:
    name: str
    location: str  # path, query or header
    required: bool
    schema: Node
    backend_key: bool = False
    joined: bool = False  # a list sent comma-separated (Swagger 2.0 csv, explode: false)


@dataclass(slots=True)
class Paging:
    """How a list answer continues; see ``adapters.openapi.Pagination``."""

    style: str  # cursor | page | offset | link
    items: str  # the answer's field holding the page's items; "" if the answer is the list
    param: str = ""
    next_field: str = ""
    size_param: str = ""


@dataclass(slots=True)
class ApiOperation:
    method: str
    path: str
    operation_id: str
    tags: list[str]
    summary: str
    description: str
    parameters: list[Parameter] = field(default_factory=list)
    body: Any = None  # the request body schema node
    body_required: bool = False
    body_form: bool = False  # application/x-www-form-urlencoded rather than JSON
    body_key: str = ""  # top-level body property that takes the backend key
    success: Any = None  # the 2xx answer's schema node, None if it has no body
    link_header: bool = False
    errors: dict[int, str] = field(default_factory=dict)
    lookup: tuple[str, str] | None = None  # (operationId, parameter) finding a write by key
    deprecated: bool = False
    paging: Paging | None = None

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {self.path}"


def read_operations(doc: OpenApiDocument) -> list[ApiOperation]:
    operations: list[ApiOperation] = []
    seen_ids: dict[str, str] = {}
    for path, item in doc.root["paths"].items():
        item, _ = doc.resolve(item)
        if not isinstance(item, dict):
            continue
        shared = sequence(item.get("parameters"))
        for method in METHODS:
            raw = item.get(method)
            if not isinstance(raw, dict):
                continue
            op = _operation(doc, str(path), method, raw, shared)
            if op.operation_id:
                if op.operation_id in seen_ids:
                    doc.repaired(
                        f"operationId {op.operation_id!r} is used by {seen_ids[op.operation_id]}"
                        f" and {op.key}: their names differ by resource (tag) or a suffix"
                    )
                else:
                    seen_ids[op.operation_id] = op.key
            operations.append(op)
    return operations


def _operation(
    doc: OpenApiDocument, path: str, method: str, raw: Node, shared: list[Any]
) -> ApiOperation:
    tags = [str(t) for t in raw.get("tags") or [] if isinstance(t, str | int)]
    op = ApiOperation(
        method=method,
        path=path,
        operation_id=str(raw.get("operationId") or ""),
        tags=tags,
        summary=" ".join(str(raw.get("summary") or "").split()),
        description=" ".join(str(raw.get("description") or "").split()),
        deprecated=raw.get("deprecated") is True,
    )
    params: dict[tuple[str, str], Parameter] = {}
    for node in [*shared, *(raw.get("parameters") or [])]:
        param, _ = doc.resolve(node)
        if not isinstance(param, dict) or not isinstance(param.get("name"), str):
            continue
        where = param.get("in")
        if where == "body":
            op.body = param.get("schema") or {}
            op.body_required = param.get("required") is True
        elif where == "formData":
            op.body_form = True
            op.body = _form_schema(op.body, param)
        elif where in ("path", "query", "header"):
            params[(param["name"], where)] = _parameter(param, str(where), doc.swagger2)
        elif where == "cookie":
            doc.repaired(f"{op.key}: cookie parameter {param['name']!r} is not sent")
    op.parameters = list(params.values())
    _request_body(doc, op, raw)
    _responses(doc, op, raw)
    _keys(doc, op, raw)
    op.paging = _paging(doc, op) if method == "get" else None
    return op


def _parameter(param: Node, where: str, swagger2: bool = False) -> Parameter:
    schema = param.get("schema")
    if not isinstance(schema, dict):  # Swagger 2.0: the schema keywords sit on the parameter
        schema = {k: param[k] for k in _SCHEMA_KEYS if k in param}
    if param.get("description") and isinstance(schema, dict) and "$ref" not in schema:
        schema = {**schema, "description": param["description"]}
    required = where == "path" or param.get("required") is True
    backend_key = param.get(BACKEND_KEY) is True or (
        where == "header" and param["name"].lower() in IDEMPOTENCY_HEADERS
    )
    joined = (
        param.get("collectionFormat", "csv") == "csv" if swagger2 else param.get("explode") is False
    )
    return Parameter(param["name"], where, required, schema, backend_key, joined)


def _form_schema(body: Any, param: Node) -> Node:
    schema: Node = body if isinstance(body, dict) else {"type": "object", "properties": {}}
    schema["properties"][param["name"]] = _parameter(param, "query").schema
    if param.get("required") is True:
        schema.setdefault("required", []).append(param["name"])
    return schema


def _media(content: Any) -> tuple[str, Any]:
    if not isinstance(content, dict) or not content:
        return "", None
    for media, entry in content.items():
        if "json" in str(media) and isinstance(entry, dict):
            return str(media), entry.get("schema")
    media, entry = next(iter(content.items()))
    return str(media), entry.get("schema") if isinstance(entry, dict) else None


def _request_body(doc: OpenApiDocument, op: ApiOperation, raw: Node) -> None:
    body, _ = doc.resolve(raw.get("requestBody"))
    if not isinstance(body, dict):
        return
    media, schema = _media(body.get("content"))
    if schema is None:
        return
    if media and "json" not in media and "form-urlencoded" not in media:
        doc.repaired(f"{op.key}: request body {media} is sent as JSON; confirm")
    op.body, op.body_form = schema, "form-urlencoded" in media
    op.body_required = body.get("required") is True


def _responses(doc: OpenApiDocument, op: ApiOperation, raw: Node) -> None:
    responses = mapping(raw.get("responses"))
    for status in sorted(responses, key=str):
        response, _ = doc.resolve(responses[status])
        if not isinstance(response, dict):
            continue
        code = str(status).upper()
        if code.startswith("2") and op.success is None:
            schema = response.get("schema") if doc.swagger2 else _media(response.get("content"))[1]
            op.success = schema
            op.link_header = any(str(h).lower() == "link" for h in mapping(response.get("headers")))
        elif code[:1] in ("4", "5") and code[1:].isdigit():
            text = " ".join(str(response.get("description") or "").split())
            op.errors[int(code)] = text[:200]


def _keys(doc: OpenApiDocument, op: ApiOperation, raw: Node) -> None:
    """Where a write takes the gateway's backend key, and which operation looks it up."""
    if op.body is not None and not op.body_form:
        body, _ = doc.resolve(op.body)
        if isinstance(body, dict) and isinstance(body.get("properties"), dict):
            for name, prop in body["properties"].items():
                resolved, _ = doc.resolve(prop)
                marked = isinstance(resolved, dict) and resolved.get(BACKEND_KEY) is True
                if marked or name in IDEMPOTENCY_FIELDS:
                    op.body_key = str(name)
                    break
    lookup = raw.get(LOOKUP)
    if isinstance(lookup, dict) and isinstance(lookup.get("operationId"), str):
        op.lookup = (lookup["operationId"], str(lookup.get("parameter") or ""))


def _paging(doc: OpenApiDocument, op: ApiOperation) -> Paging | None:
    answer, _ = doc.resolve(op.success)
    if not isinstance(answer, dict):
        return None
    items, properties = "", mapping(answer.get("properties"))
    if answer.get("type") != "array":
        lists = [
            n for n, p in properties.items()
            if isinstance(doc.resolve(p)[0], dict) and doc.resolve(p)[0].get("type") == "array"
        ]  # fmt: skip
        lists = [n for n in lists if str(n).lower() not in ("errors", "warnings", "messages")]
        preferred = [n for n in lists if n in ITEM_FIELDS]
        if not (preferred or len(lists) == 1):
            return None
        items = (preferred or lists)[0]
    query = {p.name for p in op.parameters if p.location == "query"}
    if op.link_header:
        return Paging("link", items)
    cursor = next((p for p in CURSOR_PARAMS if p in query), "")
    next_field = next((f for f in CURSOR_FIELDS if f in properties), "")
    size = next((p for p in SIZE_PARAMS if p in query), "")
    if cursor and next_field:
        return Paging("cursor", items, cursor, next_field)
    page = next((p for p in PAGE_PARAMS if p in query), "")
    if page:
        return Paging("page", items, page, size_param=size)
    offset = next((p for p in OFFSET_PARAMS if p in query), "")
    if offset and size:
        return Paging("offset", items, offset, size_param=size)
    return None
