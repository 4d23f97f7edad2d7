"""The auditors' downloads: the whole trail as a JSON lines export, and one request's
inclusion proof, each exactly what ``lastmile audit export`` and
``GET /v1/audit/requests/{id}/proof`` give, so ``lastmile audit verify --export`` and any
RFC 9162 verifier accept the files as they are.

The export reads one consistent snapshot of the log (SQLite or PostgreSQL, as the
``audit:`` section says) on a worker thread into a temporary file, never the event loop
and never the whole log in memory, then streams the file and removes it. Every export
is itself an audit event (who took a copy of the trail, and how many entries).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from aiohttp import web

from gateway.api.middleware import REQUEST_ID
from gateway.appkeys import AUDIT_STORE, CONFIG
from gateway.audit.admin import record_admin_action
from gateway.audit.export import write_jsonl
from gateway.audit.prove import ProofUnavailable
from gateway.audit.reader import open_log_reader
from gateway.config import Config
from gateway.console.web import member_may
from gateway.staff_roles import Capability
from schemas.errors import NotFound

CHUNK = 256 * 1024


def _export_to(config: Config) -> tuple[Path, int]:
    """Write the JSON lines export to a new temporary file: its path and entry count."""
    handle, name = tempfile.mkstemp(prefix="lastmile-export-", suffix=".jsonl")
    os.close(handle)
    path = Path(name)
    reader = open_log_reader(config)
    try:
        with reader.snapshot() as snapshot, path.open("w", encoding="utf-8") as out:
            return path, write_jsonl(snapshot, out)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        reader.close()


async def export(request: web.Request) -> web.StreamResponse:
    member = member_may(request, Capability.READ_AUDIT)
    app = request.config_dict
    path, count = await asyncio.to_thread(_export_to, app[CONFIG])
    try:
        source = await asyncio.to_thread(path.open, "rb")
        try:
            await record_admin_action(
                app[AUDIT_STORE],
                request_id=request[REQUEST_ID],
                actor=member.id,
                action="audit_export",
                target="audit trail",
                detail=f"{count} entries as JSON lines (console)",
            )
            return await _stream(request, source)
        finally:
            source.close()
    finally:
        await asyncio.to_thread(path.unlink, True)


async def _stream(request: web.Request, source: BinaryIO) -> web.StreamResponse:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/x-ndjson; charset=utf-8",
            "Content-Disposition": f'attachment; filename="lastmile-audit-{stamp}.jsonl"',
        }
    )
    await response.prepare(request)
    while chunk := await asyncio.to_thread(source.read, CHUNK):
        await response.write(chunk)
    await response.write_eof()
    return response


async def proof(request: web.Request) -> web.Response:
    member_may(request, Capability.READ_AUDIT)
    request_id = request.match_info["request_id"]
    try:
        found = await request.config_dict[AUDIT_STORE].inclusion_proof(request_id)
    except ProofUnavailable as exc:
        raise NotFound(f"No inclusion proof for {request_id[:100]!r}: {exc}.") from None
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in request_id[:100])
    return web.Response(
        text=json.dumps(found, indent=2),
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="proof-{safe}.json"'},
    )
