"""The client half of ``lastmile mcp-stdio``: each JSON-RPC message an agent host writes
goes to a running gateway's ``/mcp`` as one Streamable HTTP POST, and what comes back is
turned into the JSON-RPC messages to write to the host.

The relay holds no state of the gateway's and makes no decision: the gateway
authenticates, checks, calls and records; one audit trail, one place to halt. What the
relay does keep is what the stdio transport has and HTTP lacks:

* the handshake-era session: it remembers the ``Mcp-Session-Id`` and protocol version
  an ``initialize`` returned and sends them with later requests; if the gateway has
  ended the session (idle expiry, eviction) it replays the host's ``initialize`` once
  and retries, because a stdio host takes its pipe to be the session; it ends the
  session with ``DELETE`` when it closes;
* the 2026-07-28 routing headers (``MCP-Protocol-Version``, ``Mcp-Method``,
  ``Mcp-Name``), copied from the request's ``_meta`` envelope, method and target.

A failure below JSON-RPC (gateway unreachable or too slow, 401, a problem document, an
answer that is not JSON-RPC or too large) becomes a JSON-RPC error to the request, code
:data:`GATEWAY_ERROR`, with a message for a person and ``data`` for programs; never a
traceback and never the agent key. Imports stay light (aiohttp and our JSON-RPC
helpers): agent hosts start the relay for every session.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Self

import aiohttp

from gateway.api.mcp.jsonrpc import (
    JsonObject,
    RequestId,
    RpcError,
    error_message,
    is_notification,
    is_response,
    parse,
)
from gateway.api.mcp.versions import NAME_BEARING, envelope_version

GATEWAY_ERROR = -32030
"""JSON-RPC code (implementation-defined range) of every error the relay answers itself."""

SESSION_HEADER = "Mcp-Session-Id"
_ACCEPT = "application/json, text/event-stream"
_CHUNK = 64 * 1024
_MAX_DETAIL = 500
_REINITIALIZE_ID = "lastmile-relay-reinitialize"


@dataclass(frozen=True, slots=True)
class RelaySettings:
    """Where the gateway is, who the agent is, and the relay's bounds."""

    endpoint: str  # the gateway's MCP endpoint, ending in /mcp
    key: str = field(repr=False)
    timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    close_timeout_s: float = 2.0  # for the DELETE at exit: hosts wait ~2 s before killing
    max_answer_bytes: int = 16 * 1024 * 1024
    max_concurrent: int = 8


@dataclass(frozen=True, slots=True)
class ClientMessage:
    """One line from the agent host, as sent, and what routing needs to know about it."""

    body: bytes
    id: RequestId | None = None
    method: str | None = None
    params: JsonObject = field(default_factory=dict)
    expects_answer: bool = True  # False for notifications and the host's own responses

    @classmethod
    def of(cls, line: bytes) -> ClientMessage:
        """Read what routing needs; a line that is not a JSON-RPC object goes as it is (the
        gateway answers it with the protocol's error)."""
        try:
            message: Any = parse(line)
        except (ValueError, RecursionError):
            return cls(line)
        if not isinstance(message, dict):
            return cls(line)
        rid, method, params = message.get("id"), message.get("method"), message.get("params")
        return cls(
            line,
            rid if isinstance(rid, str | int) and not isinstance(rid, bool) else None,
            method if isinstance(method, str) else None,
            params if isinstance(params, dict) else {},
            expects_answer=not (is_notification(message) or is_response(message)),
        )


class RelayFailed(Exception):
    """The gateway's answer could not be had or read; ``data`` says why for programs."""

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class GatewayRelay:
    """Forwards messages to one gateway over one HTTP client session; async context manager."""

    def __init__(self, settings: RelaySettings) -> None:
        self._settings = settings
        timeout = aiohttp.ClientTimeout(
            total=settings.timeout_s, connect=settings.connect_timeout_s
        )
        connector = aiohttp.TCPConnector(limit=settings.max_concurrent + 1)
        self._http = aiohttp.ClientSession(timeout=timeout, connector=connector)
        self._session_id: str | None = None
        self._version: str | None = None  # negotiated by initialize (handshake era)
        self._initialize_params: JsonObject | None = None
        self._reopening = asyncio.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self._end_session()
        finally:
            await self._http.close()

    async def forward(self, message: ClientMessage) -> list[JsonObject]:
        """The messages to write back to the host for one of its messages."""
        try:
            answers = await self._exchange(message)
        except RelayFailed as exc:
            text = self._scrub(exc.message)
            log(text)
            if not message.expects_answer:
                return []
            return [error_message(message.id, RpcError(GATEWAY_ERROR, text, exc.data))]
        if message.expects_answer and not answers:
            log("the gateway sent no answer to a request")
            failure = "The gateway accepted the request but sent no answer."
            return [error_message(message.id, RpcError(GATEWAY_ERROR, failure))]
        return answers

    async def _exchange(self, message: ClientMessage) -> list[JsonObject]:
        session_id = self._session_id
        if message.method == "initialize":
            self._initialize_params = message.params
            _, answers = await self._post(message)
            if session_id is not None and self._session_id != session_id:
                await self._delete(session_id)  # the host started over
            return answers
        status, answers = await self._post(message)
        gone = status == 404 and envelope_version(message.params) is None
        if gone and session_id is not None and await self._reopen(session_id):
            _, answers = await self._post(message)
        return answers

    async def _post(self, message: ClientMessage) -> tuple[int, list[JsonObject]]:
        headers = self._headers(message)
        try:
            async with self._http.post(
                self._settings.endpoint, data=message.body, headers=headers
            ) as response:
                answers = await self._answers(response)
                if message.method == "initialize":
                    await self._adopt_session(response, answers)
                return response.status, answers
        except TimeoutError:
            raise RelayFailed(
                f"The gateway at {self._settings.endpoint} did not answer within "
                f"{self._settings.timeout_s:g} s (--timeout).",
                reason="timeout",
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise RelayFailed(
                f"Cannot reach the gateway at {self._settings.endpoint}: "
                f"{_reason(exc.os_error)}. Is it running?",
                reason="unreachable",
            ) from None
        except aiohttp.ClientError as exc:
            raise RelayFailed(
                f"The connection to the gateway at {self._settings.endpoint} failed "
                f"({type(exc).__name__}).",
                reason="connection_failed",
            ) from None

    def _headers(self, message: ClientMessage) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._settings.key}",
            "Content-Type": "application/json",
            "Accept": _ACCEPT,
        }
        version = envelope_version(message.params)
        if version is not None:  # 2026-07-28: the headers mirror the envelope
            if isinstance(version, str) and _fits_header(version):
                headers["MCP-Protocol-Version"] = version
            if message.method is not None and _fits_header(message.method):
                headers["Mcp-Method"] = message.method
            target = message.params.get(NAME_BEARING.get(message.method or "", ""))
            if isinstance(target, str):
                headers["Mcp-Name"] = _header_value(target)
        elif message.method != "initialize" and self._session_id is not None:
            headers[SESSION_HEADER] = self._session_id
            if self._version is not None:
                headers["MCP-Protocol-Version"] = self._version
        return headers

    async def _adopt_session(self, response: aiohttp.ClientResponse, answers: list[Any]) -> None:
        session_id = response.headers.get(SESSION_HEADER)
        if session_id is None or not _fits_header(session_id):
            return
        self._session_id = session_id
        result = answers[0].get("result") if answers else None
        version = result.get("protocolVersion") if isinstance(result, dict) else None
        self._version = version if isinstance(version, str) and _fits_header(version) else None

    async def _reopen(self, expired: str) -> bool:
        """Replay the host's ``initialize`` after the gateway ended its session, once for
        all the requests that found it gone; True if a new session is open."""
        async with self._reopening:
            if self._session_id != expired:  # another request reopened it (or gave up)
                return self._session_id is not None
            if self._initialize_params is not None:
                log("the gateway ended the MCP session; opening a new one")
                initialize = _request(_REINITIALIZE_ID, "initialize", self._initialize_params)
                with contextlib.suppress(RelayFailed):
                    await self._post(initialize)
                    if self._session_id != expired:
                        await self._post(_notification("notifications/initialized"))
                        return True
            self._session_id = None
            return False

    async def _end_session(self) -> None:
        if self._session_id is not None:
            session_id, self._session_id = self._session_id, None
            await self._delete(session_id)

    async def _delete(self, session_id: str) -> None:
        headers = {"Authorization": f"Bearer {self._settings.key}", SESSION_HEADER: session_id}
        timeout = aiohttp.ClientTimeout(total=self._settings.close_timeout_s)
        try:
            async with self._http.delete(self._settings.endpoint, headers=headers, timeout=timeout):
                pass
        except (aiohttp.ClientError, TimeoutError):
            log("could not end the MCP session at the gateway; it expires when idle")

    async def _answers(self, response: aiohttp.ClientResponse) -> list[JsonObject]:
        body = await self._read(response)
        if response.status == 202 and not body.strip():
            return []
        if response.content_type == "text/event-stream":
            return _events(body)
        try:
            message: Any = parse(body.decode("utf-8"))
        except (ValueError, RecursionError):
            message = None
        if _is_jsonrpc(message):
            return [message]
        if isinstance(message, dict) and isinstance(message.get("code"), str):
            raise _problem(response, message)
        raise RelayFailed(
            f"The gateway answered HTTP {response.status} "
            f"({response.content_type or 'no content type'}) with no JSON-RPC message: "
            "is --url a lastmile gateway?",
            status=response.status,
        )

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self._settings.max_answer_bytes
        body = bytearray()
        if (response.content_length or 0) <= limit:
            while chunk := await response.content.read(_CHUNK):
                body += chunk
                if len(body) > limit:
                    break
        if len(body) > limit or (response.content_length or 0) > limit:
            raise RelayFailed(
                f"The gateway's answer is larger than {limit} bytes (--max-answer-bytes).",
                reason="answer_too_large",
            )
        return bytes(body)

    def _scrub(self, text: str) -> str:
        """Our messages never name the key; a gateway's text should not either, but the
        relay does not rely on that (a key too short to be real is left alone)."""
        key = self._settings.key
        return text.replace(key, "[the agent key]") if len(key) >= 8 else text


def _problem(response: aiohttp.ClientResponse, problem: JsonObject) -> RelayFailed:
    """An RFC 9457 problem from the gateway, told as one line (401, 413, 429, 503 ...)."""
    code = str(problem["code"])[:100]
    detail = " ".join(str(problem.get("detail") or problem.get("title") or "").split())
    detail = detail[:_MAX_DETAIL]
    data: dict[str, Any] = {"status": response.status, "code": code}
    retry_after = response.headers.get("Retry-After", "")
    if retry_after.isdigit():
        data["retryAfter"] = int(retry_after)
        detail += f" Retry after {retry_after} s."
    return RelayFailed(f"The gateway answered {response.status} {code}: {detail}", **data)


def _events(body: bytes) -> list[JsonObject]:
    """The JSON-RPC messages in a ``text/event-stream`` answer (one per event's data)."""
    messages: list[JsonObject] = []
    data: list[str] = []
    for line in [*body.decode("utf-8", "replace").splitlines(), ""]:
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line and data:
            try:
                message: Any = parse("\n".join(data))
            except (ValueError, RecursionError):
                message = None
            if _is_jsonrpc(message):
                messages.append(message)
            data = []
    return messages


def _reason(error: OSError) -> str:
    """Why a connection failed, in the system's words ("Connection refused")."""
    if isinstance(error.errno, int) and error.errno > 0:
        return os.strerror(error.errno)
    return error.strerror or type(error).__name__  # name resolution: its own codes


def _is_jsonrpc(message: Any) -> bool:
    return isinstance(message, dict) and message.get("jsonrpc") == "2.0"


def _fits_header(value: str) -> bool:
    """Visible ASCII and inner spaces only: what a header carries as it is."""
    return value == value.strip() and all(" " <= char <= "~" for char in value)


def _header_value(value: str) -> str:
    """A value as a header; one that does not fit travels as ``=?base64?...?=``."""
    if _fits_header(value):
        return value
    return "=?base64?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="


def _request(rid: RequestId, method: str, params: JsonObject) -> ClientMessage:
    body = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
    return ClientMessage(json.dumps(body).encode("utf-8"), rid, method, params)


def _notification(method: str) -> ClientMessage:
    body = json.dumps({"jsonrpc": "2.0", "method": method}).encode("utf-8")
    return ClientMessage(body, None, method, {}, expects_answer=False)


def log(text: str) -> None:
    """One line on stderr, which hosts keep as the server's log (stdout is the protocol's)."""
    print(f"lastmile mcp-stdio: {text}", file=sys.stderr, flush=True)
