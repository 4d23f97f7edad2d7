"""OpenAPI ``operationId``s that every agent host accepts as a function name.

Hosts that turn an OpenAPI document into tools (OpenAI GPT actions, LangChain, Semantic
Kernel, Copilot Studio...) name each function after its ``operationId`` and accept only
``^[a-zA-Z_][a-zA-Z0-9_]{0,63}$``. The id is the operation's tool name, the one mapping
every face uses (:func:`gateway.tool_names.tool_name`: ``warehouse_stock_get``); the
registry already refuses a tool name longer than 64 characters, but should one reach this
module it keeps its first 55 characters and ends with ``_`` and 8 hex digits of its SHA-256.

Underscores are legal inside operation names, so two names can map to one id
(``a.b_c.get`` and ``a.b.c_get``): :func:`operation_ids` refuses such a registry at
start-up, naming both, rather than serve a document in which one id means two things.
The way back is not string surgery: every operation in the document carries its name
in ``x-lastmile-operation`` (and its path, ``/v1/operations/<name>``, says it too).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

from gateway.registry import RegistryError
from gateway.tool_names import tool_name

MAX_LENGTH = 64
OPERATION_ID = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,63}")
_HASHED_PREFIX = MAX_LENGTH - 9  # room for "_" and 8 hex digits


def operation_id(name: str) -> str:
    """The ``operationId`` of the operation ``name``."""
    candidate = re.sub(r"[^a-zA-Z0-9_]", "_", tool_name(name))
    if len(candidate) > MAX_LENGTH:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        candidate = f"{candidate[:_HASHED_PREFIX]}_{digest}"
    return candidate


def operation_ids(names: Iterable[str], routes: Mapping[str, str]) -> dict[str, str]:
    """``{operationId: operation name}`` for every name. ``routes`` maps the ids the
    gateway's own routes use to what they are; an id shared with one of them or with
    another operation is a start-up error."""
    ids: dict[str, str] = {}
    problems: list[str] = []
    for name in sorted(names):
        identifier = operation_id(name)
        if identifier in routes:
            problems.append(
                f"operation {name!r} would take the OpenAPI operationId {identifier!r} of "
                f"the route {routes[identifier]}; rename the operation"
            )
            continue
        other = ids.setdefault(identifier, name)
        if other != name:
            problems.append(
                f"operations {other!r} and {name!r} would share the OpenAPI operationId "
                f"{identifier!r}; rename one (dots become '_' in operationIds)"
            )
    if problems:
        raise RegistryError("\n".join(problems))
    return ids
