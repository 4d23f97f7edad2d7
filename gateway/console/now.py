""" "Now": calls as they complete, pushed to the browser as server-sent events.

The page starts with the latest events from the audit store, with counts and error
rates per agent, owner and backend over the last five minutes, hour and day (read from
the audit store: :mod:`gateway.console.tallies`); then the stream adds each call as it
reaches the audit store, whichever process served it (:mod:`gateway.audit.feed` follows
the store while someone watches). The page also shows breakers and bulkheads: this
process's own when it runs alone, and with a fleet each live process's, as it reported
them with its heartbeat in the process registry, beside which processes are alive.

An open stream re-reads its session every few seconds and ends once it is gone, so
signing out or revoking a person stops their live view too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway.appkeys import AUDIT_STORE, FLEET, RESILIENCE
from gateway.audit.entries import Entry
from gateway.audit.feed import CallFeed, Subscription, tail_of
from gateway.audit.store import AuditQuery
from gateway.console.tallies import WINDOWS, tally
from gateway.console.web import SESSIONS, TOKEN, member_may, page
from gateway.fleet.registry import ProcessRecord
from gateway.staff_roles import Capability
from schemas.audit import EventKind
from schemas.errors import FieldError, ValidationFailed
from schemas.patterns import AUDIT_POSITION, is_valid

FEED = web.AppKey("console_feed", CallFeed)
STOPPING = web.AppKey("console_stopping", asyncio.Event)
HEARTBEAT_S = 15.0  # a comment line keeps proxies from closing an idle stream
POLL_S = 0.5  # how soon a stream notices its browser left or the gateway is stopping
RECHECK_S = 5.0  # how soon an open stream notices its session ended (signed out, revoked)


async def stop_streams(app: web.Application) -> None:
    """On shutdown: end every open stream at once, so shutdown never waits on a browser."""
    app[STOPPING].set()


def trail_feed(gateway: web.Application) -> CallFeed:
    """The live feed of the gateway's audit store (it reads nothing until someone watches)."""
    return CallFeed(tail_of(gateway[AUDIT_STORE]))


async def stop_feed(app: web.Application) -> None:
    await app[FEED].stop()


def row(event: dict[str, Any]) -> dict[str, Any]:
    """One line of the table, from an event in its JSON shape (store or feed)."""
    return {
        "time": str(event["time"])[11:19],
        "request_id": event["request_id"],
        "agent": event.get("agent_id"),
        "owner": event.get("agent_owner"),
        "on_behalf_of": event.get("on_behalf_of"),
        "operation": event["operation"],
        "decision": event.get("decision"),
        "outcome": event["outcome"],
        "status": event["status"],
        "ms": float(event.get("gateway_ms") or 0) + float(event.get("backend_ms") or 0),
    }


def backend_rows(process: str | None, report: Mapping[str, Any]) -> list[dict[str, object]]:
    """One line per backend of one process: breaker state, bulkhead in flight and waiting
    (``report`` in the shape of :meth:`gateway.resilience.guard.Resilience.report`)."""
    breakers: dict[str, str] = report.get("breakers", {})
    bulkheads: dict[str, dict[str, int]] = report.get("bulkheads", {})
    return [
        {
            "process": process,
            "backend": name,
            "breaker": state,
            "in_flight": bulkheads.get(name, {}).get("in_flight", ""),
            "waiting": bulkheads.get(name, {}).get("waiting", ""),
        }
        for name, state in sorted(breakers.items())
    ]


async def _processes(request: web.Request) -> list[ProcessRecord] | None:
    fleet = request.config_dict.get(FLEET)
    if fleet is None:
        return None
    return await fleet.processes()


def _backends(
    request: web.Request, processes: list[ProcessRecord] | None
) -> list[dict[str, object]]:
    """Alone: this process's own. In a fleet: what each live process reported with its
    last heartbeat (a process's breakers live in its memory, so only it can tell)."""
    if processes is None:
        return backend_rows(None, request.config_dict[RESILIENCE].report())
    rows: list[dict[str, object]] = []
    for process in processes:
        if process.status == "live":
            rows += backend_rows(process.name, process.resilience)
    return rows


async def now(request: web.Request) -> web.Response:
    member_may(request, Capability.SEE_ACTIVITY)
    app = request.config_dict
    end = await app[FEED].newest_index()  # first: a call after it is in the page's stream
    recent = await app[AUDIT_STORE].search(
        AuditQuery(kind=EventKind.CALL.value, descending=True, limit=50)
    )
    tallies = await tally(app[AUDIT_STORE], datetime.now(UTC))
    processes = await _processes(request)
    return page(
        request,
        "now.html",
        {
            "calls": [row(e.event) for e in recent],
            "after": max([end, *(e.index for e in recent[:1])]),  # listed: not streamed
            "tallies": tallies,
            "windows": [name for name, _ in WINDOWS],
            "backends": _backends(request, processes),
            "processes": None if processes is None else [p.as_json() for p in processes],
        },
    )


async def stream(request: web.Request) -> web.StreamResponse:
    """Subscribed before the first byte: once a client reads ``: connected``, every call
    that reaches the trail after that moment is on its way to it. ``?after=N`` (the
    trail's end when the page was read) or a reconnecting browser's ``Last-Event-ID``
    first sends the calls since then, so none is lost between page and stream."""
    member_may(request, Capability.SEE_ACTIVITY)
    after = _resume_point(request)
    feed = request.config_dict[FEED]
    async with feed.subscribe() as subscription:
        missed = [] if after is None else await feed.backlog(after, subscription.since)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        await response.write(b": connected\n\n")
        for entry in missed:
            await _send(request, response, entry)
        await _relay(request, response, subscription)
    return response


def _resume_point(request: web.Request) -> int | None:
    text = request.headers.get("Last-Event-ID") or request.query.get("after")
    if text is None:
        return None
    if not is_valid(AUDIT_POSITION, text):
        detail = "after (or Last-Event-ID) is the index of an audit entry."
        raise ValidationFailed(detail, [FieldError(field="after", message=detail)])
    return int(text)


async def _relay(
    request: web.Request, response: web.StreamResponse, subscription: Subscription
) -> None:
    stopping = request.config_dict[STOPPING]
    quiet = unchecked = 0.0
    while not stopping.is_set() and _connected(request):
        try:
            entry = await asyncio.wait_for(subscription.queue.get(), POLL_S)
        except TimeoutError:
            quiet += POLL_S
            unchecked += POLL_S
            if unchecked >= RECHECK_S:
                unchecked = 0.0
                if await request.config_dict[SESSIONS].find(request[TOKEN]) is None:
                    return
            if quiet >= HEARTBEAT_S:
                quiet = 0.0
                await response.write(b": still here\n\n")
            continue
        quiet = 0.0
        await _send(request, response, entry)


async def _send(request: web.Request, response: web.StreamResponse, entry: Entry) -> None:
    call = row(entry.event)
    html = aiohttp_jinja2.render_string("call_row.html", request, {"call": call})
    data = "".join(f"data: {line}\n" for line in html.strip().splitlines())
    await response.write(f"event: call\nid: {entry.index}\n{data}\n".encode())


def _connected(request: web.Request) -> bool:
    return request.transport is not None and not request.transport.is_closing()
