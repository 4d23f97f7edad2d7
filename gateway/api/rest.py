"""The REST face of the gateway: the catalog, invocation, health and readiness.

Nothing here decides anything about a call: the handler turns the HTTP request
into an :class:`~gateway.pipeline.Invocation`, runs the pipeline and renders the
outcome. Protocol details (headers, content types, body limits) stop here.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from adapters.base import safe_text
from gateway.api.middleware import BACKEND_MS, MAX_BODY_BYTES, REQUEST_ID
from gateway.api.problems import problem_response
from gateway.appkeys import AGENTS, METRICS, PIPELINE, REGISTRY, RESILIENCE
from gateway.pipeline import Invocation
from schemas.api import Readiness
from schemas.errors import (
    ApprovalRequired,
    FieldError,
    Forbidden,
    MalformedJson,
    PayloadTooLarge,
    UnknownOperation,
    UnsupportedMediaType,
    ValidationFailed,
)

JSON = "application/json"


class RequestBody:
    """The REST input source: the body, read only when the pipeline asks for it."""

    __slots__ = ("_request",)

    def __init__(self, request: web.Request) -> None:
        self._request = request

    async def read(self) -> bytes:
        content_type = self._request.content_type
        if content_type != JSON and not content_type.endswith("+json"):
            raise UnsupportedMediaType(
                f"Send the input as a JSON object with 'Content-Type: {JSON}' "
                f"(got {content_type[:100]!r})."
            )
        limit = self._request.app[MAX_BODY_BYTES]
        length = self._request.content_length
        try:
            if length is not None and length > limit:
                raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=length)
            body = await self._request.read()  # aiohttp enforces client_max_size while reading
        except web.HTTPRequestEntityTooLarge:
            raise PayloadTooLarge(
                f"The request body is larger than {limit} bytes; send less data per call."
            ) from None
        if not body.strip():
            raise MalformedJson("The request body is empty; send a JSON object ({} for no input).")
        return body


def _trace_headers(request: web.Request) -> dict[str, str] | None:
    """W3C trace context the agent sent, so a traced gateway continues the agent's trace."""
    found = {k: request.headers[k] for k in ("traceparent", "tracestate") if k in request.headers}
    return found or None


def _on_behalf_of(request: web.Request) -> str | None:
    """The raw header; the pipeline checks it (after identifying the caller, so a bad
    value is refused and audited like any other bad input)."""
    return request.headers.get("X-On-Behalf-Of")


def _dry_run(request: web.Request) -> bool:
    value = request.headers.get("X-Dry-Run")
    if value is None:
        return False
    if value.strip().lower() in ("true", "1", "yes"):
        return True
    if value.strip().lower() in ("false", "0", "no"):
        return False
    raise ValidationFailed(
        "The X-Dry-Run header must be 'true' or 'false'.",
        [
            FieldError(
                field="header:X-Dry-Run",
                message="not a boolean",
                expected="true or false",
                received=safe_text(value, 40),
            )
        ],
    )


def _held(error: ApprovalRequired, request_id: str, operation: str) -> web.Response:
    """202 Accepted: the call is stored for a person to approve; poll the status URL."""
    body = {
        "request_id": request_id,
        "operation": operation,
        "status": "approval_required",
        "detail": error.detail,
        **error.extras,
    }
    response = web.Response(text=json.dumps(body), status=202, content_type=JSON)
    response.headers["Location"] = str(error.extras["status_url"])
    return response


async def invoke(request: web.Request) -> web.StreamResponse:
    request_id = request[REQUEST_ID]
    inv = Invocation(
        request_id=request_id,
        protocol="rest",
        operation_name=request.match_info["name"],
        credentials=request.headers.get("Authorization"),
        input_source=RequestBody(request),
        on_behalf_of=_on_behalf_of(request),
        dry_run=_dry_run(request),
        idempotency_key=_idempotency_key(request),
        trace_headers=_trace_headers(request),
    )
    await request.app[PIPELINE].run(inv)
    if inv.backend_ms is not None:
        request[BACKEND_MS] = inv.backend_ms
    if isinstance(inv.error, ApprovalRequired):
        return _held(inv.error, request_id, inv.operation_name)
    if inv.error is not None:
        problem = problem_response(inv.error, request_id, request.path)
        for name, value in inv.response_headers.items():
            problem.headers.setdefault(name, value)
        if inv.replayed:
            problem.headers["Idempotent-Replayed"] = "true"
        return problem
    if inv.preview is not None:
        report = {"request_id": request_id, "operation": inv.operation_name, "dry_run": True}
        return web.json_response({**report, **inv.preview}, headers=inv.response_headers)
    assert inv.output is not None  # noqa: S101 - a call without error has an output
    output = (
        json.dumps(inv.visible_output, separators=(",", ":")).encode()
        if inv.visible_output is not None
        else inv.output.model_dump_json().encode()
    )
    body = b"".join(
        (
            b'{"request_id":"',
            request_id.encode(),
            b'","operation":"',
            inv.operation_name.encode(),
            b'","output":',
            output,
            b"}",
        )
    )
    response = web.Response(body=body, content_type=JSON, headers=inv.response_headers)
    if inv.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _idempotency_key(request: web.Request) -> str | None:
    """The ``Idempotency-Key`` header: a bare token (Stripe) or a quoted structured-field
    string (the IETF draft); the pipeline validates it."""
    value = request.headers.get("Idempotency-Key")
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


async def list_operations(request: web.Request) -> web.Response:
    agent = request.app[AGENTS].authenticate(request.headers.get("Authorization"))
    entries = [
        entry.model_dump(mode="json")
        for name, entry in request.app[REGISTRY].catalog.items()
        if agent.may_call(name)
    ]
    return web.json_response({"agent": agent.id, "operations": entries})


async def get_operation(request: web.Request) -> web.Response:
    agent = request.app[AGENTS].authenticate(request.headers.get("Authorization"))
    name = request.match_info["name"]
    entry = request.app[REGISTRY].catalog.get(name)
    if entry is None:
        raise UnknownOperation(
            f"There is no operation named {name[:100]!r}; see GET /v1/operations."
        )
    if not agent.may_call(name):
        raise Forbidden(f"Agent {agent.id!r} may not call {name!r}; see GET /v1/operations.")
    return web.json_response(entry.model_dump(mode="json"))


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    adapters = list(request.app[REGISTRY].adapters.values())
    checks = await asyncio.gather(*(adapter.check() for adapter in adapters))
    breakers = request.app[RESILIENCE].breakers
    for check in checks:
        breaker = breakers.get(check.name)
        if breaker is not None:
            check.circuit = breaker.state.value
            if check.circuit == "open":
                check.ready = False
                check.detail = check.detail or "circuit open: calls fail fast while it recovers"
    readiness = Readiness(ready=all(c.ready for c in checks), backends=list(checks))
    return web.Response(
        text=readiness.model_dump_json(),
        status=200 if readiness.ready else 503,
        content_type=JSON,
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition; scraped from inside the operator's network."""
    await request.app[METRICS].refresh()
    return web.Response(
        body=request.app[METRICS].exposition(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/v1/operations", list_operations)
    app.router.add_get("/v1/operations/{name}", get_operation)
    app.router.add_post("/v1/operations/{name}", invoke)
