"""The REST face of the gateway: the catalog, invocation, health and readiness.

Nothing here decides anything about a call: the handler turns the HTTP request
into an :class:`~gateway.pipeline.Invocation`, runs the pipeline and renders the
outcome. Protocol details (headers, content types, body limits) stop here.
"""

from __future__ import annotations

import asyncio
import re

from aiohttp import web

from adapters.base import safe_text
from gateway.api.middleware import BACKEND_MS, MAX_BODY_BYTES, REQUEST_ID
from gateway.api.problems import problem_response
from gateway.identity import AgentDirectory
from gateway.pipeline import Invocation, Pipeline
from gateway.registry import Registry
from schemas.api import Readiness
from schemas.errors import (
    FieldError,
    Forbidden,
    MalformedJson,
    PayloadTooLarge,
    UnknownOperation,
    UnsupportedMediaType,
    ValidationFailed,
)

REGISTRY = web.AppKey("registry", Registry)
DIRECTORY = web.AppKey("directory", AgentDirectory)
PIPELINE = web.AppKey("pipeline", Pipeline)

JSON = "application/json"
_ON_BEHALF_OF = re.compile(r"^[\w.@+:/-]{1,200}$")


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


def _on_behalf_of(request: web.Request) -> str | None:
    value = request.headers.get("X-On-Behalf-Of")
    if value is None:
        return None
    if not _ON_BEHALF_OF.match(value):
        raise ValidationFailed(
            "The X-On-Behalf-Of header is invalid: name the end user in at most 200 "
            "characters (letters, digits and . _ @ + : / -).",
            [
                FieldError(
                    field="header:X-On-Behalf-Of",
                    message="invalid end-user name",
                    expected="1-200 characters of letters, digits and . _ @ + : / -",
                    received=safe_text(value, 120),
                )
            ],
        )
    return value


_DRY_RUN_VALUES = {"true": True, "1": True, "false": False, "0": False}


def _dry_run(request: web.Request) -> bool:
    """``X-Dry-Run: true`` asks for the call to be checked but not carried out."""
    value = request.headers.get("X-Dry-Run")
    if value is None:
        return False
    decided = _DRY_RUN_VALUES.get(value.strip().lower())
    if decided is None:
        raise ValidationFailed(
            "The X-Dry-Run header must be 'true' or 'false'.",
            [
                FieldError(
                    field="header:X-Dry-Run",
                    message="not a boolean",
                    expected="true or false",
                    received=safe_text(value, 120),
                )
            ],
        )
    return decided


async def invoke(request: web.Request) -> web.StreamResponse:
    request_id = request[REQUEST_ID]
    inv = Invocation(
        request_id=request_id,
        protocol="rest",
        operation_name=request.match_info["name"],
        credentials=request.headers.get("Authorization"),
        input_source=RequestBody(request),
        on_behalf_of=_on_behalf_of(request),
        idempotency_key=request.headers.get("Idempotency-Key"),
        dry_run=_dry_run(request),
    )
    await request.app[PIPELINE].run(inv)
    if inv.backend_ms is not None:
        request[BACKEND_MS] = inv.backend_ms
    if inv.error is not None:
        return problem_response(inv.error, request_id, request.path)
    assert inv.output is not None  # noqa: S101 - a call without error has an output
    body = b"".join(
        (
            b'{"request_id":"',
            request_id.encode(),
            b'","operation":"',
            inv.operation_name.encode(),
            b'","output":',
            inv.output.model_dump_json().encode(),
            b"}",
        )
    )
    return web.Response(body=body, content_type=JSON)


async def list_operations(request: web.Request) -> web.Response:
    agent = request.app[DIRECTORY].authenticate(request.headers.get("Authorization"))
    entries = [
        entry.model_dump(mode="json")
        for name, entry in request.app[REGISTRY].catalog.items()
        if agent.may_call(name)
    ]
    return web.json_response({"agent": agent.id, "operations": entries})


async def get_operation(request: web.Request) -> web.Response:
    agent = request.app[DIRECTORY].authenticate(request.headers.get("Authorization"))
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
    readiness = Readiness(ready=all(c.ready for c in checks), backends=list(checks))
    return web.Response(
        text=readiness.model_dump_json(),
        status=200 if readiness.ready else 503,
        content_type=JSON,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/v1/operations", list_operations)
    app.router.add_get("/v1/operations/{name}", get_operation)
    app.router.add_post("/v1/operations/{name}", invoke)
