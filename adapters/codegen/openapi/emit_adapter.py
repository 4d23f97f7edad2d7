"""Render ``adapter.py`` for a described REST API: a ``RestOperation`` and a handler each.

The handler's docstring is the summary and description agents read, followed by the
error responses the description documents, each with the problem code the gateway
answers it with. Every guess (read or write, idempotency, risk, owner) carries a
``# TODO confirm``.
"""

from __future__ import annotations

import json
import textwrap

from adapters.codegen.emit_models import docstring, plain_text
from adapters.codegen.openapi.operations import ApiOperation, Paging
from adapters.codegen.openapi.plan import PlannedOperation
from adapters.codegen.pytypes import py_string

LINE = 100


def problem_code(status: int) -> str:
    """The gateway's problem code for a backend answering ``status`` (``adapters.rest``)."""
    if status == 404:
        return "backend_not_found"
    if status in (429, 502, 503, 504):
        return "backend_unavailable"
    return "backend_rejected" if status < 500 else "backend_error"


def _sentence(text: str) -> str:
    text = plain_text(text).strip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def short(text: str, width: int) -> str:
    return textwrap.shorten(plain_text(text), width, placeholder="...") or "no description"


def description(api: ApiOperation) -> str:
    """The summary, the description, and the documented errors with their problem codes."""
    parts = [_sentence(api.summary)]
    if api.description and api.description != api.summary:
        parts.append(_sentence(api.description))
    text = " ".join(p for p in parts if p) or f"Calls {api.method.upper()} {api.path}."
    if api.deprecated:
        text += " Deprecated by the API."
    if api.errors:
        listed = "; ".join(
            f"HTTP {status} ({problem_code(status)}) {short(meaning, 80).rstrip('.')}"
            for status, meaning in sorted(api.errors.items())[:6]
        )
        text += f" Errors: {listed}."
    return text


def render_rest_operation(constant: str, api: ApiOperation, body_field: str, wrap: str,
                          backend_key: tuple[str, str] | None) -> list[str]:  # fmt: skip
    """``CONSTANT = RestOperation(...)`` for ``api``."""
    where: dict[str, list[str]] = {"path": [], "query": [], "header": []}
    for param in api.parameters:
        where[param.location].append(param.name)
    joined = [p.name for p in api.parameters if p.location == "query" and p.joined]
    args = [f"method={py_string(api.method.upper())}", f"path={py_string(api.path)}"]
    for key, names in (("path_params", where["path"]), ("query", where["query"]),
                       ("joined", joined), ("headers", where["header"])):  # fmt: skip
        if names:
            args.append(f"{key}={_tuple(names)}")
    if body_field:
        args.append(f"body={py_string(body_field)}")
    if api.body_form:
        args.append("form=True")
    if backend_key is not None:
        args.append(f"backend_key=({py_string(backend_key[0])}, {py_string(backend_key[1])})")
    if wrap:
        args.append(f"wrap={py_string(wrap)}")
    if api.paging is not None:
        args.append(f"pages={_pagination(api.paging)}")
    if api.errors:
        errors = ", ".join(
            f"{status}: {py_string(short(text, 72))}" for status, text in sorted(api.errors.items())
        )
        args.append(f"errors={{{errors}}}")
    lines = [f"{constant} = RestOperation("]
    for arg in args:
        lines += _wrapped_arg(arg)
    return [*lines, ")"]


def _wrapped_arg(arg: str) -> list[str]:
    line = f"    {arg},"
    if len(line) <= LINE:
        return [line]
    key, _, value = arg.partition("=")
    if value.startswith(("(", "{")) and value.endswith((")", "}")):
        items = _split(value[1:-1])
        return [
            f"    {key}={value[0]}",
            *(f"        {i.strip()}," for i in items),
            f"    {value[-1]},",
        ]
    if value.startswith('"') and value.endswith('"'):
        raw = json.loads(value)
        chunks = [raw[i : i + 72] for i in range(0, len(raw), 72)]
        return [f"    {key}=(", *(f"        {py_string(c)}" for c in chunks), "    ),"]
    return [line + "  # noqa: E501"]


def _split(text: str) -> list[str]:
    items, depth, start, quote = [], 0, 0, False
    for i, char in enumerate(text):
        if char == '"' and (i == 0 or text[i - 1] != "\\"):
            quote = not quote
        elif not quote and char in "([{":
            depth += 1
        elif not quote and char in ")]}":
            depth -= 1
        elif not quote and char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [i for i in items if i.strip()]


def _tuple(names: list[str]) -> str:
    if len(names) == 1:
        return f"({py_string(names[0])},)"
    return f"({', '.join(py_string(n) for n in names)})"


def _pagination(paging: Paging) -> str:
    args = [py_string(paging.style)]
    for key in ("items", "param", "next_field", "size_param"):
        value = getattr(paging, key)
        if value:
            args.append(f"{key}={py_string(value)}")
    return f"Pagination({', '.join(args)})"


def render_adapter(
    title: str,
    owner: str,
    ops: list[PlannedOperation],
    extra_specs: list[tuple[str, ApiOperation]],
) -> str:
    runtime = ["RestOperation", "send"]
    if any(op.lookup for op in ops):
        runtime.append("find")
    if any(op.api.paging for op in ops) or any(a.paging for _, a in extra_specs):
        runtime.append("Pagination")
    lines = [
        *docstring(
            f"The {title} operations, generated from its OpenAPI description by "
            "`lastmile adapter new`. Review every `# TODO confirm` (read or write, idempotency, "
            "risk, owner) and each docstring, which is what agents read, before putting this "
            "module behind the gateway.",
            "",
        ),
        "",
        "from __future__ import annotations",
        "",
        "from adapters.base import Canonical, OperationSet",
        f"from adapters.openapi import {', '.join(sorted(runtime))}",
        "from adapters.rest import RestClient",
        "from schemas.common import Effect, Risk",
        "",
        "from . import models",
        "",
        "operations: OperationSet[RestClient] = OperationSet()",
    ]
    for constant, api in extra_specs:
        lines += ["", "", "# used by a lookup only, not offered to agents"]
        lines += render_rest_operation(constant, api, "", "", None)
    for op in ops:
        lines += ["", ""]
        lines += render_rest_operation(op.constant, op.api, op.body_field, op.wrap, op.backend_key)
        lines += _handler(op, owner)
        if op.lookup is not None:
            lines += _finder(op)
    return "\n".join(lines) + "\n"


def _handler(op: PlannedOperation, owner: str) -> list[str]:
    method = op.api.method.upper()
    declaration = [
        "",
        "",
        "@operations.operation(",
        f"    {py_string(op.name)},",
        f"    input=models.{op.input.name},",
        f"    output=models.{op.output.name},",
        f"    effect=Effect.{op.effect},  # TODO confirm: {method} {op.api.path}"[:LINE],
        f"    idempotent={op.idempotent},  # TODO confirm",
        f"    risk=Risk.{op.risk},  # TODO confirm",
        f"    owner={py_string(owner)},  # TODO confirm",
        *(["    external_reference=True,"] if op.external_reference else []),
        ")",
    ]
    if declaration[6].count('"') % 2:  # a cut inside the path's quotes: keep it whole
        declaration[6] = f"    effect=Effect.{op.effect},  # TODO confirm: {method}"
    payload = f"payload: models.{op.input.name}"
    signature = f"async def {op.function}(client: RestClient, {payload}) -> Canonical:"
    if len(signature) > LINE:
        signature_lines = [
            f"async def {op.function}(",
            f"    client: RestClient, payload: models.{op.input.name}",
            ") -> Canonical:",
        ]
    else:
        signature_lines = [signature]
    return [
        *declaration,
        *signature_lines,
        *docstring(description(op.api), "    "),
        f"    return await send(client, {op.constant}, payload)",
    ]


def _finder(op: PlannedOperation) -> list[str]:
    assert op.lookup is not None  # noqa: S101
    constant, parameter = op.lookup
    output = f"models.{op.output.name}"
    call = f"    return await find(client, {constant}, {py_string(parameter)}, key, {output})"
    return [
        "",
        "",
        f"@operations.lookup({py_string(op.name)})",
        f"async def find_{op.function}(",
        f"    client: RestClient, payload: models.{op.input.name}, key: str",
        ") -> Canonical | None:",
        *docstring(
            f"The write made with backend key ``key``, if the system has it (looked up by "
            f"{parameter}).",
            "    ",
        ),
        *(
            [call]
            if len(call) <= LINE
            else [
                "    return await find(",
                f"        client, {constant}, {py_string(parameter)}, key, {output}",
                "    )",
            ]
        ),
    ]
