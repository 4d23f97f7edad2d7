"""The auditors' face: read-only queries over the audit trail, proofs and checkpoints.

Only staff holding the ``auditor`` role get in: agent keys are unknown here (401) and
other staff roles are refused (403). Nothing here writes. Pages are keyset-paginated on
the entry index behind an opaque cursor, so a page boundary never shifts while calls
keep being appended, and a cursor only continues the query it came from.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from adapters.base import safe_text
from gateway.appkeys import AUDIT_STORE, IN_FORCE
from gateway.audit.prove import ProofUnavailable
from gateway.audit.store import AuditQuery
from gateway.config import StaffRole
from schemas.errors import FieldError, NotFound, ValidationFailed

FILTERS = {
    "agent": "agent_id",
    "owner": "agent_owner",
    "operation": "operation",
    "decision": "decision",
    "outcome": "outcome",
    "kind": "kind",
    "request_id": "request_id",
}
PARAMS = {*FILTERS, "since", "until", "limit", "cursor", "order"}
MAX_PAGE = 1000
MAX_CURSOR_CHARS = 200
"""Issued cursors are about 60 characters; anything longer is refused before decoding."""
_CURSOR = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_CURSOR_CHARS}}}")
_MAX_INDEX = 2**63 - 1  # SQLite's INTEGER


def _invalid(field: str, message: str, expected: str, received: str) -> ValidationFailed:
    return ValidationFailed(
        f"The query parameter {field!r} is invalid: {message}.",
        [
            FieldError(
                field=f"query:{field}",
                message=message,
                expected=expected,
                received=safe_text(received, 100),
            )
        ],
    )


def _time(params: dict[str, str], name: str) -> datetime | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid(name, "not an ISO 8601 time", "e.g. 2026-11-26T09:00:00Z", value) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fingerprint(params: dict[str, str]) -> str:
    kept = {k: v for k, v in sorted(params.items()) if k not in ("cursor", "limit")}
    return hashlib.sha256(json.dumps(kept).encode()).hexdigest()[:16]


def encode_cursor(after: int, params: dict[str, str]) -> str:
    raw = json.dumps({"after": after, "query": _fingerprint(params)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(params: dict[str, str]) -> int | None:
    """The entry index behind a cursor. Anything that is not a cursor this API issued
    (wrong alphabet, too long, not JSON, nested, wrong shape, an index out of range) is
    the same 422, checked before any decoding work that grows with the input."""
    cursor = params.get("cursor")
    if cursor is None:
        return None
    try:
        if not _CURSOR.fullmatch(cursor):
            raise ValueError("not a cursor")
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after, fingerprint = data["after"], data["query"]
    except (binascii.Error, ValueError, TypeError, KeyError, IndexError, RecursionError):
        raise _invalid(
            "cursor", "not a cursor this API issued", "next_cursor from a response", cursor
        ) from None
    if type(after) is not int or not 0 <= after <= _MAX_INDEX or not isinstance(fingerprint, str):
        raise _invalid(
            "cursor", "not a cursor this API issued", "next_cursor from a response", cursor
        )
    if fingerprint != _fingerprint(params):
        raise _invalid(
            "cursor",
            "the cursor belongs to a different query",
            "the same filters as the request that returned it",
            cursor,
        )
    return after


def parse_query(params: dict[str, str]) -> AuditQuery:
    unknown = sorted(set(params) - PARAMS)
    if unknown:
        raise _invalid(
            unknown[0],
            "unknown query parameter",
            "one of " + ", ".join(sorted(PARAMS)),
            unknown[0],
        )
    limit_text = params.get("limit", "100")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_PAGE:
        raise _invalid("limit", "out of range", f"an integer from 1 to {MAX_PAGE}", limit_text)
    order = params.get("order", "asc")
    if order not in ("asc", "desc"):
        raise _invalid("order", "unknown order", "asc or desc", order)
    filters: dict[str, Any] = {field: params.get(name) for name, field in FILTERS.items()}
    return AuditQuery(
        **filters,
        since=_time(params, "since"),
        until=_time(params, "until"),
        after=_decode_cursor(params),
        descending=order == "desc",
        limit=int(limit_text),
    )


def _auditor(request: web.Request) -> None:
    request.app[IN_FORCE].current.staff.authenticate_role(
        request.headers.get("Authorization"), StaffRole.AUDITOR
    )


async def list_events(request: web.Request) -> web.Response:
    _auditor(request)
    params = dict(request.query)
    query = parse_query(params)
    entries = await request.app[AUDIT_STORE].search(query)
    next_cursor = encode_cursor(entries[-1].index, params) if len(entries) == query.limit else None
    return web.json_response({"events": [e.to_json() for e in entries], "next_cursor": next_cursor})


async def request_proof(request: web.Request) -> web.Response:
    _auditor(request)
    request_id = request.match_info["request_id"]
    try:
        proof = await request.app[AUDIT_STORE].inclusion_proof(request_id)
    except ProofUnavailable as exc:
        raise NotFound(f"No inclusion proof for {request_id[:100]!r}: {exc}.") from None
    return web.json_response(proof)


async def consistency(request: web.Request) -> web.Response:
    """RFC 9162 consistency proof between two signed checkpoints (``second`` defaults to
    the latest): an auditor holding an old checkpoint learns nothing was rewritten since."""
    _auditor(request)
    sizes: dict[str, int | None] = {}
    for name in ("first", "second"):
        value = request.query.get(name)
        if value is not None and not value.isdigit():
            raise _invalid(name, "not a tree size", "a positive integer", value)
        sizes[name] = int(value) if value is not None else None
    first = sizes["first"]
    if first is None:
        raise _invalid("first", "missing", "the tree size of the checkpoint you hold", "")
    try:
        proof = await request.app[AUDIT_STORE].consistency_proof(first, sizes["second"])
    except ProofUnavailable as exc:
        raise NotFound(f"No consistency proof: {exc}.") from None
    return web.json_response(proof)


async def checkpoint(request: web.Request) -> web.Response:
    _auditor(request)
    store = request.app[AUDIT_STORE]
    latest = await store.latest_checkpoint()
    return web.json_response({"public_key": store.public_key_b64, "checkpoint": latest})


def add_audit_routes(app: web.Application) -> None:
    app.router.add_get("/v1/audit/events", list_events)
    app.router.add_get("/v1/audit/requests/{request_id}/proof", request_proof)
    app.router.add_get("/v1/audit/checkpoint", checkpoint)
    app.router.add_get("/v1/audit/consistency", consistency)
