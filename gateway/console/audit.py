"""The auditors' pages: search with the API's filters, one call's story, the latest
signed checkpoint, and a verification run.

Verification runs on a worker thread (never the event loop) over one consistent snapshot
of the log the ``audit:`` section names (a SQLite read transaction, or a read-only
repeatable-read transaction on the fleet's PostgreSQL, read page by page), trusting the
key configured for checkpoints: the same reader as ``lastmile audit verify``. By default
it continues from the last checkpoint an earlier run matched (:mod:`.verified`), reading
only the entries appended since; "Verify the whole trail" reads it all again.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from gateway.api.audit import FILTERS, parse_query
from gateway.api.middleware import REQUEST_ID
from gateway.appkeys import AUDIT_STORE, CONFIG, STATE_STORE
from gateway.audit.admin import record_admin_action
from gateway.audit.reader import open_log_reader
from gateway.audit.signing import configured_public_key
from gateway.audit.store import AuditQuery
from gateway.audit.verify import Report, verify_log
from gateway.config import Config
from gateway.console.now import row
from gateway.console.verified import last_verification, remember, trail_key
from gateway.console.web import member_may, page
from gateway.staff_roles import Capability
from schemas.errors import NotFound

PAGE = 100


async def search(request: web.Request) -> web.Response:
    member_may(request, Capability.READ_AUDIT)
    wanted = {*FILTERS, "since", "until"}
    params = {k: v for k, v in request.query.items() if v != "" and k in wanted}
    query = parse_query({**params, "order": "desc", "limit": str(PAGE)})
    entries = await request.config_dict[AUDIT_STORE].search(query)
    events = [{**row(e.event), "kind": e.event.get("kind"), "index": e.index} for e in entries]
    return page(request, "audit.html", {"events": events, "filters": params, "names": FILTERS})


async def story(request: web.Request) -> web.Response:
    """Every event of one request: the call, its decision and policies, attempts, the
    approval and its decisions, redaction (what the trail kept) and backend reference."""
    member_may(request, Capability.READ_AUDIT)
    request_id = request.match_info["request_id"]
    store = request.config_dict[AUDIT_STORE]
    entries = await store.search(AuditQuery(request_id=request_id, limit=50))
    if not entries:
        raise NotFound(f"The audit trail has no request {request_id[:100]!r}.")
    events = [e.event for e in entries]
    approval_ids = {ev["approval"]["approval_id"] for ev in events if ev.get("approval")}
    decisions = []
    if approval_ids:  # the people who decided, from the same trail (the latest 1000 acts)
        found = await store.search(AuditQuery(kind="admin", limit=1000, descending=True))
        decisions = [e.event for e in found if e.event.get("target") in approval_ids]
    return page(
        request,
        "story.html",
        {
            "request_id": request_id,
            "events": [(ev, json.dumps(ev, indent=2, ensure_ascii=False)) for ev in events],
            "decisions": decisions,
        },
    )


async def checkpoint(request: web.Request) -> web.Response:
    member_may(request, Capability.READ_AUDIT)
    app = request.config_dict
    store = app[AUDIT_STORE]
    latest = await store.latest_checkpoint()
    last = await last_verification(app[STATE_STORE], trail_key(app[CONFIG], store.public_key_b64))
    return page(
        request,
        "checkpoint.html",
        {
            "checkpoint": json.dumps(latest, indent=2) if latest is not None else None,
            "public_key": store.public_key_b64,
            "report": None,
            "last": last,
        },
    )


def _verify(config: Config, trusted: list[bytes] | None, resume: dict[str, Any] | None) -> Report:
    reader = open_log_reader(config)
    try:
        with reader.snapshot(resume) as snapshot:
            resumed = resume is not None and snapshot.anchor is resume
            return verify_log(snapshot, trusted, resumed=resumed)
    finally:
        reader.close()


async def verify(request: web.Request) -> web.Response:
    member = member_may(request, Capability.VERIFY_AUDIT)
    app = request.config_dict
    store = app[AUDIT_STORE]
    config = app[CONFIG]
    state = app[STATE_STORE]
    whole = (await request.post()).get("scope") == "all"
    remembered = trail_key(config, store.public_key_b64)
    last = None if whole else await last_verification(state, remembered)
    key = configured_public_key(config.audit.checkpoints)
    result = await asyncio.to_thread(
        _verify, config, [key] if key else None, last["resume"] if last else None
    )
    await remember(state, remembered, result, member.id)
    report: dict[str, Any] = {
        "ok": result.ok,
        "summary": result.summary(),
        "entries": result.entries,
        "whole": not result.resumed,
    }
    await record_admin_action(
        store,
        request_id=request[REQUEST_ID],
        actor=member.id,
        action="audit_verify",
        target="audit trail",
        detail=report["summary"][:500],
    )
    latest = await store.latest_checkpoint()
    return page(
        request,
        "checkpoint.html",
        {
            "checkpoint": json.dumps(latest, indent=2) if latest is not None else None,
            "public_key": store.public_key_b64,
            "report": report,
            "last": await last_verification(state, remembered),
        },
    )
