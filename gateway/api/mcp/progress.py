"""Progress notifications for tool calls that wait, over the Streamable HTTP transport.

A call can wait for a while: for a free slot in a backend's bulkhead, for a slow legacy
system, between retries. A client that asks for progress (``params._meta.progressToken``)
and accepts ``text/event-stream`` then hears from us every ``mcp.progress_interval_s``
instead of nothing, so its host can show that the call lives and its timeout need not
guess. A call that ends within one interval is answered with one JSON body, as before;
only a call still running then turns into an event stream: ``notifications/progress``
events (``progress`` counts up; ``message`` says how long it has waited), then the answer.

If the client goes away mid-stream, the call is not abandoned: it runs to its end and is
audited like any other (cancelling a write mid-flight would leave its outcome unknown).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Mapping
from typing import Any

from aiohttp import web

from gateway.api.mcp.jsonrpc import JsonObject

ProgressToken = str | int


def progress_token(method: str, params: Mapping[str, Any]) -> ProgressToken | None:
    """The token a ``tools/call`` asks progress under, if it asks."""
    if method != "tools/call":
        return None
    meta = params.get("_meta")
    token = meta.get("progressToken") if isinstance(meta, Mapping) else None
    if isinstance(token, str | int) and not isinstance(token, bool):
        return token
    return None


def accepts_event_stream(accept: str | None) -> bool:
    kinds = {part.split(";")[0].strip().lower() for part in (accept or "").split(",")}
    return "text/event-stream" in kinds


def _notification(token: ProgressToken, step: int, waited_s: float) -> JsonObject:
    return {
        "jsonrpc": "2.0",
        "method": "notifications/progress",
        "params": {
            "progressToken": token,
            "progress": step,
            "message": f"Still running after {waited_s:.0f} s: waiting for the system of "
            "record or for a free slot to it.",
        },
    }


async def _send(response: web.StreamResponse, message: JsonObject) -> None:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    await response.write(f"event: message\ndata: {data}\n\n".encode())


async def answer_with_progress(
    request: web.Request,
    answer: Awaitable[tuple[JsonObject, int]],
    token: ProgressToken,
    interval_s: float,
    headers: Mapping[str, str],
) -> web.StreamResponse:
    """``answer`` (the JSON-RPC message and its status) as one JSON body if it is ready
    within ``interval_s``, else as an event stream with progress until it is."""
    started = time.monotonic()
    task = asyncio.ensure_future(answer)
    try:
        await asyncio.wait({task}, timeout=interval_s)
        if task.done():
            message, status = task.result()
            return web.json_response(message, status=status, headers=headers)
        stream = web.StreamResponse(
            headers={**headers, "Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await stream.prepare(request)
        step = 0
        try:
            while not task.done():
                step += 1
                await _send(stream, _notification(token, step, time.monotonic() - started))
                await asyncio.wait({task}, timeout=interval_s)
            await _send(stream, task.result()[0])
            await stream.write_eof()
        except ConnectionResetError:
            await task  # the client left; the call still ends, and is audited, as it would
        return stream
    except asyncio.CancelledError:
        task.cancel()
        raise
