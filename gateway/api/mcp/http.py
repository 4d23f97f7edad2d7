"""The MCP Streamable HTTP transport at ``/mcp``, on the gateway's own aiohttp app.

Every request first shows it was meant for this gateway (``Host`` and, from a browser,
``Origin`` on the allow-list of :mod:`gateway.api.mcp.rebinding`, 403 otherwise), then
proves who it is (``Authorization: Bearer``, 401 otherwise). Then the era is
read from the ``MCP-Protocol-Version`` header:

* 2026-07-28: a self-contained POST; the ``_meta`` envelope and the ``MCP-Protocol-
  Version``/``Mcp-Method``/``Mcp-Name`` headers are checked against each other; no
  session, any instance can answer.
* earlier revisions: ``initialize`` opens a session (``Mcp-Session-Id``), bound to the
  agent that opened it; later requests name it; ``DELETE`` ends it.

Answers are single JSON bodies (the spec lets a server choose JSON over SSE), except a
``tools/call`` that asks for progress and is still running after
``mcp.progress_interval_s``: it becomes an event stream (:mod:`.progress`). The gateway
never sends requests to clients, so ``GET`` (the server-to-client stream) is 405.
Protocol errors are JSON-RPC errors with the status the spec assigns, never 500.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.api.mcp.jsonrpc import (
    HEADER_MISMATCH,
    HTTP_STATUS,
    INVALID_REQUEST,
    PARSE_ERROR,
    JsonObject,
    RequestId,
    RpcError,
    check_request,
    error_message,
    is_notification,
    is_response,
    parse,
    request_id_of,
    result_message,
)
from gateway.api.mcp.progress import accepts_event_stream, answer_with_progress, progress_token
from gateway.api.mcp.protocol import Exchange, McpHandler
from gateway.api.mcp.rebinding import HostAllowList
from gateway.api.mcp.sessions import McpSession, McpSessions, SessionStore, SharedMcpSessions
from gateway.api.mcp.versions import (
    ASSUMED_HANDSHAKE_VERSION,
    MODERN_VERSIONS,
    SUPPORTED_VERSIONS,
    check_envelope,
    envelope_version,
    unsupported,
)
from gateway.api.middleware import BACKEND_MS, REQUEST_ID, trace_context
from gateway.api.shedding import IN_FLIGHT
from gateway.appkeys import IN_FORCE, PIPELINE, REGISTRY
from gateway.config.mcp import McpConfig
from gateway.identity import Agent
from gateway.state.store import StateStore
from schemas.errors import NotAcceptable, UnsupportedMediaType

MCP_HANDLER = web.AppKey("mcp_handler", McpHandler)
MCP_SESSIONS = web.AppKey("mcp_sessions", SessionStore)
MCP_HOSTS = web.AppKey("mcp_hosts", HostAllowList)
PROGRESS_INTERVAL_S = web.AppKey("mcp_progress_interval_s", float)

SESSION_HEADER = "Mcp-Session-Id"
ROUTING_HEADERS = ("MCP-Protocol-Version", "Mcp-Method", "Mcp-Name")


def add_mcp_routes(
    app: web.Application,
    config: McpConfig,
    public_url: str | None,
    shared_state: StateStore | None = None,
) -> None:
    """Mount ``/mcp``; needs the registry, directory and pipeline already on the app.
    ``shared_state``: the store several processes share, for handshake-era sessions."""
    if not config.enabled:
        return
    app[MCP_HOSTS] = HostAllowList(public_url, config.allowed_hosts, config.allowed_origins)
    app[PROGRESS_INTERVAL_S] = config.progress_interval_s
    app[MCP_HANDLER] = McpHandler(app[REGISTRY], app[IN_FORCE], app[PIPELINE], app[IN_FLIGHT])
    app[MCP_SESSIONS] = (
        McpSessions(config.max_sessions, config.session_idle_s, config.max_sessions_per_agent)
        if shared_state is None
        else SharedMcpSessions(
            shared_state,
            config.session_idle_s,
            config.max_sessions_per_agent or config.max_sessions,
        )
    )
    app.router.add_post("/mcp", post)
    app.router.add_get("/mcp", get, allow_head=False)
    app.router.add_delete("/mcp", delete)


async def _admit(request: web.Request) -> Agent:
    """Who is calling, through an allowed host and origin; raises 403/401 problems
    otherwise. Hosts first: a rebound request learns nothing, not even about keys."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    served_port = sockname[1] if isinstance(sockname, tuple) and len(sockname) > 1 else None
    request.app[MCP_HOSTS].check(
        request.headers.get("Host"), request.headers.get("Origin"), served_port
    )
    return await request.app[MCP_HANDLER].authenticate(request.headers.get("Authorization"))


async def get(request: web.Request) -> web.Response:
    await _admit(request)
    return web.Response(status=405, headers={"Allow": "POST, DELETE"})


async def delete(request: web.Request) -> web.Response:
    agent = await _admit(request)
    session_id = request.headers.get(SESSION_HEADER)
    if session_id is None:
        return _error(None, RpcError(INVALID_REQUEST, f"Name the session in {SESSION_HEADER}."))
    if not await request.app[MCP_SESSIONS].close(session_id, agent.id):
        return _error(None, _no_session(), 404)
    return web.Response(status=204)


async def post(request: web.Request) -> web.StreamResponse:
    agent = await _admit(request)
    if request.content_type != "application/json":
        raise UnsupportedMediaType(
            "Send one JSON-RPC message with 'Content-Type: application/json'."
        )
    if not _accepts_json(request.headers.get("Accept")):
        raise NotAcceptable(
            "This endpoint answers in JSON: send 'Accept: application/json, text/event-stream'."
        )
    try:
        message: Any = parse(await request.read())
    except (ValueError, RecursionError):
        return _error(None, RpcError(PARSE_ERROR, "Parse error: the body is not valid JSON."))
    header_version = request.headers.get("MCP-Protocol-Version")
    if header_version is not None and header_version not in SUPPORTED_VERSIONS:
        return _error(request_id_of(message), unsupported(header_version))
    if isinstance(message, dict) and (is_response(message) or is_notification(message)):
        return await _notification(request, message, agent)
    try:
        rid, method, params = check_request(message)
    except RpcError as exc:
        return _error(request_id_of(message), exc)
    if header_version in MODERN_VERSIONS or envelope_version(params) is not None:
        return await _modern(request, rid, method, params)
    if method == "initialize":
        return await _initialize(request, rid, params, agent)
    return await _in_session(request, rid, method, params, agent, header_version)


def _accepts_json(accept: str | None) -> bool:
    if accept is None:
        return True
    kinds = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(kinds & {"application/json", "application/*", "*/*"})


async def _notification(request: web.Request, message: JsonObject, agent: Agent) -> web.Response:
    """Notifications and client responses are acknowledged; ``initialized`` marks a session."""
    if message.get("method") == "notifications/initialized":
        session_id = request.headers.get(SESSION_HEADER)
        sessions = request.app[MCP_SESSIONS]
        session = await sessions.get(session_id, agent.id) if session_id else None
        if session is not None:
            await sessions.mark_initialized(session)
    return web.Response(status=202)


async def _modern(
    request: web.Request, rid: RequestId, method: str, params: JsonObject
) -> web.StreamResponse:
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        for name in ROUTING_HEADERS:  # first-copy and last-copy readers would disagree
            if len(request.headers.getall(name, ())) > 1:
                raise RpcError(HEADER_MISMATCH, f"The {name} header appears more than once")
        version = check_envelope(method, params, headers)
    except RpcError as exc:
        return _error(rid, exc)
    return await _dispatch(request, rid, method, params, version)


async def _initialize(
    request: web.Request, rid: RequestId, params: JsonObject, agent: Agent
) -> web.Response:
    result = request.app[MCP_HANDLER].initialize(params)
    session = await request.app[MCP_SESSIONS].open(agent.id, result["protocolVersion"])
    response = web.json_response(result_message(rid, result))
    response.headers[SESSION_HEADER] = session.id
    return response


async def _in_session(
    request: web.Request,
    rid: RequestId,
    method: str,
    params: JsonObject,
    agent: Agent,
    header_version: str | None,
) -> web.StreamResponse:
    session_id = request.headers.get(SESSION_HEADER)
    if session_id is None:
        return _error(
            rid,
            RpcError(
                INVALID_REQUEST,
                f"Bad Request: no {SESSION_HEADER} header. Send initialize first and repeat "
                f"the {SESSION_HEADER} it returns, or use protocol version {MODERN_VERSIONS[0]}, "
                "which needs no session.",
            ),
        )
    session: McpSession | None = await request.app[MCP_SESSIONS].get(session_id, agent.id)
    if session is None:
        return _error(rid, _no_session(), 404)
    # Any handshake revision we speak is served (post() refused the ones we do not):
    # the specification only rejects invalid or unsupported versions, and clients that
    # share one session across several streams may send the SDK's own revision.
    version = header_version or ASSUMED_HANDSHAKE_VERSION
    return await _dispatch(request, rid, method, params, version)


def _no_session() -> RpcError:
    return RpcError(
        INVALID_REQUEST, "Session not found: it ended or expired. Send initialize again."
    )


async def _dispatch(
    request: web.Request, rid: RequestId, method: str, params: JsonObject, version: str
) -> web.StreamResponse:
    exchange = Exchange(
        request_id=request[REQUEST_ID],
        credentials=request.headers.get("Authorization"),
        protocol_version=version,
        trace_headers=trace_context(request),
    )
    answer = _answer(request, rid, method, params, exchange)
    token = progress_token(method, params)
    if token is not None and accepts_event_stream(request.headers.get("Accept")):
        # the stream's headers leave before the middleware sees the response
        headers = {"X-Request-Id": request[REQUEST_ID]}
        interval_s = request.app[PROGRESS_INTERVAL_S]
        return await answer_with_progress(request, answer, token, interval_s, headers)
    message, status = await answer
    return web.json_response(message, status=status)


async def _answer(
    request: web.Request, rid: RequestId, method: str, params: JsonObject, exchange: Exchange
) -> tuple[JsonObject, int]:
    """The JSON-RPC answer to one request, and the HTTP status it travels with."""
    try:
        result = await request.app[MCP_HANDLER].handle(method, params, exchange)
    except RpcError as exc:
        # Handshake-era clients read 404 as "session gone": their errors travel in a 200.
        status = HTTP_STATUS.get(exc.code, 200) if exchange.modern else 200
        return error_message(rid, exc), status
    if exchange.backend_ms is not None:
        request[BACKEND_MS] = exchange.backend_ms
    return result_message(rid, result), 200


def _error(rid: RequestId | None, error: RpcError, status: int | None = None) -> web.Response:
    return web.json_response(
        error_message(rid, error),
        status=status if status is not None else HTTP_STATUS.get(error.code, 200),
    )
