"""The REST face of the gateway: the catalog, invocation, health and readiness.

Nothing here decides anything about a call: the handler parses the HTTP request once
into a :class:`~gateway.pipeline.CallRequest`, runs the pipeline and renders the
:mod:`outcome <gateway.outcomes>`. Protocol details (headers, content types, body
limits) stop here.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from adapters.base import safe_text
from gateway.api.middleware import BACKEND_MS, MAX_BODY_BYTES, REQUEST_ID, trace_context
from gateway.api.problems import problem_response
from gateway.appkeys import (
    CONFIG_BOARD,
    FLEET,
    GUARDRAILS,
    IN_FORCE,
    METRICS,
    PIPELINE,
    REGISTRY,
    RESILIENCE,
)
from gateway.outcomes import Answered, Held, Outcome, Previewed, Replayed, final
from gateway.pipeline import CallRequest
from schemas.api import FleetReadiness, Readiness
from schemas.errors import (
    FieldError,
    Forbidden,
    MalformedJson,
    PayloadTooLarge,
    StateUnavailable,
    UnknownOperation,
    UnsupportedMediaType,
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


def _dry_run(request: web.Request) -> tuple[bool, tuple[FieldError, ...]]:
    """``X-Dry-Run``; a value that is not a boolean travels as a field error, which the
    pipeline refuses once it knows the caller, so the refusal is audited."""
    value = request.headers.get("X-Dry-Run")
    if value is None:
        return False, ()
    word = value.strip().lower()
    if word in ("true", "1", "yes"):
        return True, ()
    if word in ("false", "0", "no"):
        return False, ()
    problem = FieldError(
        field="header:X-Dry-Run",
        message="not a boolean",
        expected="true or false",
        received=safe_text(value, 40),
    )
    return False, (problem,)


def _held(held: Held, request_id: str, operation: str) -> web.Response:
    """202 Accepted: the call is stored for a person to approve; poll the status URL."""
    error = held.as_error()
    body = {
        "request_id": request_id,
        "operation": operation,
        "status": "approval_required",
        "detail": error.detail,
        **error.extras,
    }
    response = web.Response(text=json.dumps(body), status=202, content_type=JSON)
    response.headers["Location"] = held.status_url
    return response


async def invoke(request: web.Request) -> web.StreamResponse:
    request_id = request[REQUEST_ID]
    dry_run, malformed = _dry_run(request)
    call_request = CallRequest(
        request_id=request_id,
        protocol="rest",
        operation_name=request.match_info["name"],
        credentials=request.headers.get("Authorization"),
        input_source=RequestBody(request),
        on_behalf_of=request.headers.get("X-On-Behalf-Of"),
        idempotency_key=_idempotency_key(request),
        dry_run=dry_run,
        trace_headers=trace_context(request),
        malformed=malformed,
    )
    call, outcome = await request.app[PIPELINE].run(call_request)
    if call.backend_ms is not None:
        request[BACKEND_MS] = call.backend_ms
    response = _render(outcome, request_id, call_request.operation_name, request.path)
    for name, value in call.response_headers.items():
        response.headers.setdefault(name, value)
    if isinstance(outcome, Replayed):
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _render(outcome: Outcome, request_id: str, operation: str, path: str) -> web.Response:
    ending = final(outcome)
    if isinstance(ending, Answered):
        return _answered(ending, request_id, operation)
    if isinstance(ending, Held):
        return _held(ending, request_id, operation)
    if isinstance(ending, Previewed):
        report = {"request_id": request_id, "operation": operation, "dry_run": True}
        return web.json_response({**report, **ending.report})
    return problem_response(ending.error, request_id, path)


def _answered(answered: Answered, request_id: str, operation: str) -> web.Response:
    output = (
        json.dumps(answered.visible, separators=(",", ":")).encode()
        if answered.visible is not None
        else answered.output.model_dump_json().encode()
    )
    body = b"".join(
        (
            b'{"request_id":"',
            request_id.encode(),
            b'","operation":"',
            operation.encode(),
            b'","output":',
            output,
            b"}",
        )
    )
    return web.Response(body=body, content_type=JSON)


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
    agent = await request.app[IN_FORCE].current.agents.sign_in(request.headers.get("Authorization"))
    entries = [
        entry.model_dump(mode="json")
        for name, entry in request.app[REGISTRY].catalog.items()
        if agent.may_call(name)
    ]
    return web.json_response({"agent": agent.id, "operations": entries})


async def get_operation(request: web.Request) -> web.Response:
    agent = await request.app[IN_FORCE].current.agents.sign_in(request.headers.get("Authorization"))
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
    halts_fresh = request.app[GUARDRAILS].halts.fresh()
    readiness = Readiness(
        ready=halts_fresh and all(c.ready for c in checks),
        backends=list(checks),
        halts_fresh=halts_fresh,
        fleet=await _fleet_view(request.app),
        config_version=request.app[IN_FORCE].current.version,
        config_error=request.app[CONFIG_BOARD].error(),
    )
    return web.Response(
        text=readiness.model_dump_json(),
        status=200 if readiness.ready else 503,
        content_type=JSON,
    )


async def _fleet_view(app: web.Application) -> FleetReadiness | None:
    """Who else is live, for operators reading one probe; never fails the probe itself."""
    fleet = app.get(FLEET)
    if fleet is None:
        return None
    try:
        processes = await fleet.processes()
    except StateUnavailable:
        return FleetReadiness(process=fleet.name, detail="the process registry is unreachable")
    return FleetReadiness(
        process=fleet.name,
        live=sorted(p.name for p in processes if p.status == "live"),
        lost=sorted(p.name for p in processes if p.status == "lost"),
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
