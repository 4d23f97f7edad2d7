"""Building blocks of the OpenAPI document: media types, headers and problem answers.

Every route's answers are listed from these, so a status means the same thing, with the
same problem schema and headers, wherever it appears in the document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway.api.problems import PROBLEM_CONTENT_TYPE

JsonObject = dict[str, Any]

PROBLEM = {"$ref": "#/components/schemas/Problem"}
AGENT_SECURITY: list[dict[str, list[str]]] = [{"agentKey": []}]
STAFF_SECURITY: list[dict[str, list[str]]] = [{"staffKey": []}]


def _header(description: str, schema: JsonObject, *, required: bool = False) -> JsonObject:
    return {"description": description, "required": required, "schema": schema}


_TEXT = {"type": "string"}
HEADERS: dict[str, JsonObject] = {
    "X-Request-Id": _header(
        "The request id; quote it to find the call's audit event.",
        {"type": "string", "pattern": "^req_[0-9a-f]{32}$"},
        required=True,
    ),
    "Server-Timing": _header(
        "gateway;dur=<ms> (the gateway's own share) and, when a backend was called, "
        "backend;dur=<ms>.",
        _TEXT,
        required=True,
    ),
    "RateLimit": _header(
        'IETF RateLimit: the tightest limit that applied, e.g. "agent";r=599;t=60.', _TEXT
    ),
    "RateLimit-Policy": _header(
        'IETF RateLimit-Policy: every limit that applied, e.g. "agent";q=600;w=60.', _TEXT
    ),
    "Retry-After": _header(
        "Whole seconds to wait before retrying; a retry after them is not refused for the "
        "same reason.",
        {"type": "string", "pattern": "^[0-9]+$"},
    ),
    "Idempotent-Replayed": _header(
        "true: this is the stored answer of an earlier call with the same Idempotency-Key; "
        "the system of record was not called again.",
        {"type": "string", "enum": ["true"]},
    ),
    "Location": _header("The status URL of the held call.", _TEXT, required=True),
    "WWW-Authenticate": _header('Bearer realm="lastmile"', _TEXT, required=True),
}
ALWAYS = ("X-Request-Id", "Server-Timing")


def headers(*names: str) -> JsonObject:
    """The response headers: the ones every answer has, then ``names``."""
    return {name: HEADERS[name] for name in (*ALWAYS, *names)}


def json_content(schema: JsonObject) -> JsonObject:
    return {"content": {"application/json": {"schema": schema}}}


def answer(description: str, schema: JsonObject, *extra_headers: str) -> JsonObject:
    """A JSON answer with the headers every answer has plus ``extra_headers``."""
    return {"description": description, "headers": headers(*extra_headers), **json_content(schema)}


def problems(
    texts: dict[str, str], statuses: Iterable[str], extra: dict[str, tuple[str, ...]]
) -> JsonObject:
    """Problem answers for ``statuses``, described by ``texts``; ``extra`` adds headers
    per status (``Retry-After`` on 503, say)."""
    responses: JsonObject = {}
    for status in statuses:
        names = extra.get(status, ())
        if status == "401":
            names = (*names, "WWW-Authenticate")
        responses[status] = {
            "description": texts[status],
            "headers": headers(*names),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM}},
        }
    return responses
