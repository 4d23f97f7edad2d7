"""What both sandboxes do alike at the HTTP level, whatever protocol they speak.

- ``refusal``: a 429 or 503 answer, with a ``Retry-After`` exactly as the test set it
  (delay-seconds or an HTTP-date), the way a throttling or maintenance proxy answers;
- ``reset``: the connection closed with no answer, after the request arrived;
- ``remember`` and ``GET /_sandbox/last_headers``: the headers the last API call carried
  (``traceparent`` and friends; credentials left out), so tests can see what a gateway
  sent without a sandbox of their own.
"""

from __future__ import annotations

from aiohttp import web

LAST_HEADERS = web.AppKey("last_headers", dict[str, str])
_NOT_SHOWN = frozenset({"authorization", "proxy-authorization", "cookie"})


def install(app: web.Application) -> None:
    """Add the inspection route and its state to a sandbox application."""
    app[LAST_HEADERS] = {}
    app.router.add_get("/_sandbox/last_headers", _last_headers)


def remember(request: web.Request) -> None:
    """Keep the headers of this API call for ``GET /_sandbox/last_headers``."""
    kept = request.app[LAST_HEADERS]  # one dict for the app's life: a started app is frozen
    kept.clear()
    kept.update(
        (name.lower(), value)
        for name, value in request.headers.items()
        if name.lower() not in _NOT_SHOWN
    )


def refusal(status: int, retry_after: str, body: bytes, content_type: str) -> web.Response:
    """A "not now" answer; an empty ``retry_after`` sends no ``Retry-After`` at all."""
    headers = {"Retry-After": retry_after} if retry_after else {}
    return web.Response(status=status, body=body, content_type=content_type, headers=headers)


async def reset(request: web.Request) -> web.StreamResponse:
    """Drop the connection without a byte of answer, as a crashing backend or a
    firewall's reset does; the client sees the server disconnect."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)  # never sent: the transport is gone


async def _last_headers(request: web.Request) -> web.Response:
    return web.json_response(request.app[LAST_HEADERS])
