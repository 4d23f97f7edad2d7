"""Which operations to generate, their names, their guesses, and their models.

Names are ``<name>.<resource>.<verb>``: the resource from the first tag (or the first
path segment that is not ``api`` or a version), the verb from the ``operationId`` (or
the method and the path), capped at 64 characters so they are valid tool names for
every MCP client. Read or write comes from the method, and is a guess to confirm: a
``POST /search`` only reads, a ``GET`` with side effects exists in the wild.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from adapters.codegen.modelplan import ClassPlan
from adapters.codegen.naming import Names, class_name, identifier_words
from adapters.codegen.openapi.document import Node, OpenApiDocument
from adapters.codegen.openapi.operations import ApiOperation
from adapters.codegen.openapi.schemas import SchemaPlanner, schema_types

MAX_NAME = 64
_VERSION = re.compile(r"^(api|v[0-9][0-9.]*|rest|odata|services?)$", re.IGNORECASE)


@dataclass(slots=True)
class PlannedOperation:
    api: ApiOperation
    name: str  # the gateway operation name
    function: str
    constant: str
    input: ClassPlan
    output: ClassPlan
    body_field: str = ""
    wrap: str = ""
    effect: str = "WRITE"
    risk: str = "MEDIUM"
    idempotent: bool = False
    backend_key: tuple[str, str] | None = None
    lookup: tuple[str, str] | None = None  # (constant of the lookup operation, parameter)

    @property
    def external_reference(self) -> bool:
        return self.backend_key is not None


def select(operations: list[ApiOperation], tags: list[str], ids: list[str]) -> list[ApiOperation]:
    """The operations with one of ``tags`` and (if given) one of ``ids`` as operationId."""
    wanted_tags = {t.lower() for t in tags}
    wanted_ids = set(ids)
    return [
        op
        for op in operations
        if (not wanted_tags or wanted_tags & {t.lower() for t in op.tags})
        and (not wanted_ids or op.operation_id in wanted_ids)
    ]


def resource_of(op: ApiOperation) -> str:
    if op.tags:
        return identifier_words(op.tags[0])[:24].strip("_") or "api"
    for segment in op.path.split("/"):
        if segment and "{" not in segment and not _VERSION.match(segment):
            return identifier_words(segment.split("(")[0])[:24].strip("_") or "api"
    return "api"


def verb_of(op: ApiOperation) -> str:
    if op.operation_id:
        return identifier_words(op.operation_id)
    statics = [s.split("(")[0] for s in op.path.split("/") if s and "{" not in s]
    keyed = "{" in op.path
    return identifier_words("_".join([op.method, *statics, *(["by_key"] if keyed else [])]))


def operation_name(prefix: str, op: ApiOperation, used: set[str]) -> str:
    name = f"{prefix}.{resource_of(op)}.{verb_of(op)}"
    if len(name) > MAX_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:6]
        name = f"{name[: MAX_NAME - 7].rstrip('_')}_{digest}"
    base, n = name, 2
    while name in used:
        name = f"{base[: MAX_NAME - 3]}_{n}"
        n += 1
    used.add(name)
    return name


def plan_operations(
    doc: OpenApiDocument, planner: SchemaPlanner, selected: list[ApiOperation], prefix: str
) -> list[PlannedOperation]:
    used: set[str] = set()
    functions = Names({"operations", "send", "find", "client", "RestOperation", "Pagination"})
    planned = []
    for api in selected:
        name = operation_name(prefix, api, used)
        function = functions.take(name.split(".", 1)[1].replace(".", "_"))
        op_class = class_name(function, "Operation")
        inputs, body_field = _input_schema(doc, planner, api)
        input_plan = planner.object_class(inputs, op_class, "input", name=f"{op_class}Input")
        if input_plan is None:
            input_plan = planner.empty_class(f"{op_class}Input", "Takes no input.", "input")
        output_plan, wrap = _output(planner, api, op_class)
        method = api.method.upper()
        planned.append(
            PlannedOperation(
                api=api,
                name=name,
                function=function,
                constant=function.upper(),
                input=input_plan,
                output=output_plan,
                body_field=body_field,
                wrap=wrap,
                effect="READ" if method == "GET" else "WRITE",
                risk="LOW" if method == "GET" else "HIGH" if method == "DELETE" else "MEDIUM",
                idempotent=method in ("GET", "PUT", "DELETE"),
                backend_key=_backend_key(api, body_field),
            )
        )
    return planned


def _input_schema(
    doc: OpenApiDocument, planner: SchemaPlanner, api: ApiOperation
) -> tuple[Node, str]:
    properties: dict[str, object] = {}
    required: list[str] = []
    for param in api.parameters:
        if param.backend_key and param.location == "header":
            continue  # filled by the runtime with the gateway's backend key
        if param.name in properties:
            doc.repaired(f"{api.key}: parameter {param.name!r} given twice; the first is kept")
            continue
        properties[param.name] = (
            _header_safe(param.schema) if param.location == "header" else (param.schema)
        )
        if param.required and not param.backend_key:
            required.append(param.name)
    body_field = ""
    if api.body is not None:
        body_field = next(n for n in ("body", "request_body", "payload") if n not in properties)
        properties[body_field] = api.body
        if api.body_required:
            required.append(body_field)
        if api.body_key:
            body, _ = doc.resolve(api.body)
            planner.relaxed.setdefault(id(body), set()).add(api.body_key)
    description = "The path, query and header parameters, by their names in the API" + (
        f", and the request body as `{body_field}`." if body_field else "."
    )
    return {"type": "object", "properties": properties, "required": required,
            "description": description}, body_field  # fmt: skip


HEADER_TEXT = "^[^\\x00-\\x1f\\x7f]*$"
"""A header value without control characters (a line break would split the request)."""


def _header_safe(schema: Node) -> Node:
    """A text header without a pattern of its own gets one refusing control characters,
    so a hostile value is a validation error before the backend, not a broken request."""
    if isinstance(schema, dict) and schema.get("type") == "string" and not schema.get("pattern"):
        return {**schema, "pattern": HEADER_TEXT}
    return schema


def _output(planner: SchemaPlanner, api: ApiOperation, op_class: str) -> tuple[ClassPlan, str]:
    if api.success is None:
        return planner.empty_class(f"{op_class}Output", "The API answers no body.", "output"), ""
    plan = planner.object_class(api.success, f"{op_class}Output", "output")
    if plan is not None:
        return plan, ""
    schema, _ = planner.doc.resolve(api.success)
    types, _ = schema_types(schema) if isinstance(schema, dict) else ([], False)
    wrap = "items" if "array" in types else "value"
    wrapper = {
        "type": "object",
        "properties": {wrap: api.success},
        "description": f"The API's answer, under `{wrap}`.",
    }
    wrapped = planner.object_class(wrapper, op_class, "output", name=f"{op_class}Output")
    assert wrapped is not None  # noqa: S101 - the wrapper has a property
    return wrapped, wrap


def _backend_key(api: ApiOperation, body_field: str) -> tuple[str, str] | None:
    for param in api.parameters:
        if param.backend_key and param.location in ("header", "query"):
            return (param.location, param.name)
    if api.body_key and body_field:
        return ("body", api.body_key)
    return None
