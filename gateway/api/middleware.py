"""What every HTTP response gets, whatever the route: a request id, the gateway's own
overhead in ``Server-Timing``, and errors as problem documents, never a stack trace."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from gateway.api.problems import problem_response
from gateway.api.protected_resource import point_to_metadata
from schemas.errors import (
    GatewayError,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestRejected,
)

REQUEST_ID = web.RequestKey("request_id", str)
BACKEND_MS = web.RequestKey("backend_ms", float)

MAX_BODY_BYTES = web.AppKey("max_body_bytes", int)

log = structlog.get_logger("lastmile.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_request_id() -> str:
    return "req_" + uuid.uuid4().hex


@web.middleware
async def gateway_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    request_id = new_request_id()
    request[REQUEST_ID] = request_id
    try:
        response = await handler(request)
    except GatewayError as exc:
        response = problem_response(exc, request_id, request.path)
    except web.HTTPException as exc:
        response = problem_response(_from_http(exc, request), request_id, request.path)
    except Exception:
        log.exception("unhandled_error", request_id=request_id, path=request.path)
        error = InternalError(f"The gateway failed unexpectedly; quote request id {request_id}.")
        response = problem_response(error, request_id, request.path)
    if response.status in (401, 403):
        point_to_metadata(request, response)
    backend_ms = request.get(BACKEND_MS)
    total_ms = (time.perf_counter() - started) * 1000
    timing = f"gateway;dur={max(total_ms - (backend_ms or 0.0), 0.0):.3f}"
    if backend_ms is not None:
        timing += f", backend;dur={backend_ms:.3f}"
    response.headers["X-Request-Id"] = request_id
    response.headers["Server-Timing"] = timing
    return response


def _from_http(exc: web.HTTPException, request: web.Request) -> GatewayError:
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return PayloadTooLarge(
            f"The request body is larger than {request.app[MAX_BODY_BYTES]} bytes; "
            "send less data per call."
        )
    if isinstance(exc, web.HTTPNotFound):
        return NotFound(f"There is no resource at {request.path[:200]}. The API lives under /v1/.")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        return MethodNotAllowed(f"{request.method} is not allowed here; use {allowed}.")
    error = RequestRejected(exc.text or exc.reason)
    error.status = exc.status
    return error


def trace_context(request: web.Request) -> dict[str, str] | None:
    """W3C trace context the agent sent, so a traced gateway continues the agent's trace
    (every face passes it on in its ``CallRequest``)."""
    found = {k: request.headers[k] for k in ("traceparent", "tracestate") if k in request.headers}
    return found or None
