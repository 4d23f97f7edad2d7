"""The generic adapter for legacy REST/JSON systems, on one shared aiohttp session.

One :class:`aiohttp.ClientSession` per backend for the life of the process gives
connection pooling; every call carries connect/read/total timeouts; answers are
size-bounded. aiohttp's exceptions are translated here, at the boundary, into the
most specific ``schemas.errors`` class, so handlers and the pipeline never see them.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from pydantic import BaseModel

from adapters.base import (
    BackendPreview,
    Canonical,
    Operation,
    OperationSet,
    ServedOperations,
    safe_text,
    within,
)
from adapters.http_session import pooled_session
from adapters.tracing import trace_headers
from schemas.api import BackendReadiness
from schemas.common import Effect
from schemas.errors import (
    BackendError,
    BackendNotFound,
    BackendRejected,
    BackendTimeout,
    BackendUnavailable,
    ContractViolation,
)


@dataclass(frozen=True, slots=True)
class RestSettings:
    """Resolved settings of one REST backend (secrets already read from the environment)."""

    base_url: str
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 10.0
    total_timeout_s: float = 15.0
    max_connections: int = 100
    max_response_bytes: int = 4 * 1024 * 1024
    health_path: str = "/"
    headers: Mapping[str, str] = field(default_factory=dict)
    bearer_token: str | None = None
    basic_auth: tuple[str, str] | None = None
    operation_timeouts: Mapping[str, float] = field(default_factory=dict)


class RestClient:
    """What a REST handler gets: JSON calls against one backend, with this call's timeout."""

    __slots__ = ("_session", "_settings", "_timeout", "external_reference")

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: RestSettings,
        total_s: float,
        external_reference: str | None = None,
    ) -> None:
        #: the gateway's backend key for this write; handlers put it in the system's
        #: external reference field so that a lookup can find the write later
        self.external_reference = external_reference
        self._session = session
        self._settings = settings
        self._timeout = aiohttp.ClientTimeout(
            total=total_s,
            connect=settings.connect_timeout_s,
            sock_read=min(settings.read_timeout_s, total_s),
        )

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return await self.request("POST", path, body=body)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON answer of a 2xx response.

        A 404 raises :class:`BackendNotFound`, other 4xx :class:`BackendRejected`
        (the backend's own message passed on, made safe), 5xx :class:`BackendError`.
        """
        url = self._settings.base_url.rstrip("/") + path
        try:
            async with self._session.request(
                method,
                url,
                params=params,
                json=body,
                timeout=self._timeout,
                headers=trace_headers(),
            ) as response:
                raw = await self._read_bounded(response)
                status = response.status
        except TimeoutError as exc:
            raise BackendTimeout(
                f"The backend did not answer within {self._timeout.total:g} s."
            ) from exc
        except aiohttp.ClientConnectionError as exc:
            raise BackendUnavailable(f"The backend cannot be reached: {safe_text(exc)}") from exc
        except aiohttp.ClientError as exc:
            raise BackendError(f"The backend call failed: {safe_text(exc)}") from exc
        return _interpret(status, raw)

    async def _read_bounded(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self._settings.max_response_bytes
        if response.content_length is not None and response.content_length > limit:
            raise ContractViolation(f"The backend answered with more than {limit} bytes.")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise ContractViolation(f"The backend answered with more than {limit} bytes.")
            chunks.append(chunk)
        return b"".join(chunks)


class _Captured(Exception):
    """Stops a handler at the request a dry run must not send."""


class CapturingClient(RestClient):
    """A client that records the request a handler would send instead of sending it.

    For writes, reads (GET) still go through, since handlers may need them to build
    the request; the first other request is captured and the handler stopped there.
    For reads, the first request is captured.
    """

    __slots__ = ("_reads_pass", "captured")

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: RestSettings,
        total_s: float,
        reads_pass: bool,
    ) -> None:
        super().__init__(session, settings, total_s)
        self._reads_pass = reads_pass
        self.captured: dict[str, Any] | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        if method == "GET" and self._reads_pass:
            return await super().request(method, path, params=params, body=body)
        self.captured = {
            "method": method,
            "path": path,
            "query": dict(params) if params else None,
            "body": dict(body) if body is not None else None,
        }
        raise _Captured


def _interpret(status: int, raw: bytes) -> Any:
    try:
        decoded = json.loads(raw) if raw else None
    except ValueError as exc:
        if status < 400:
            raise ContractViolation(
                "The backend answered with something that is not JSON."
            ) from exc
        decoded = None
    if status < 300:
        return decoded
    message = _backend_message(decoded) or f"HTTP {status}"
    if status == 404:
        raise BackendNotFound(f"The backend has no such record: {message}")
    if 400 <= status < 500:
        raise BackendRejected(f"The backend rejected the request: {message}")
    if status in (502, 503, 504):
        raise BackendUnavailable(f"The backend is unavailable: {message}")
    raise BackendError(f"The backend failed: {message}")


def _backend_message(decoded: object) -> str:
    if isinstance(decoded, Mapping):
        for key in ("message", "MESSAGE", "error", "detail", "MSG"):
            if isinstance(decoded.get(key), str):
                return safe_text(decoded[key])
    return ""


class RestAdapter(ServedOperations[RestClient]):
    """Serves an :class:`OperationSet` of REST handlers against one backend."""

    def __init__(self, name: str, settings: RestSettings, operations: OperationSet[RestClient]):
        super().__init__(name, operations, settings.total_timeout_s, settings.operation_timeouts)
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = pooled_session(
            headers=self._settings.headers,
            max_connections=self._settings.max_connections,
            basic_auth=self._settings.basic_auth,
            bearer_token=self._settings.bearer_token,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def client(self, total_s: float, external_reference: str | None = None) -> RestClient:
        if self._session is None:
            raise BackendUnavailable(f"Backend {self._name!r} is not started.")
        return RestClient(self._session, self._settings, total_s, external_reference)

    async def check(self) -> BackendReadiness:
        started = time.perf_counter()
        try:
            await self.client(min(2.0, self._settings.total_timeout_s)).get(
                self._settings.health_path
            )
        except BackendError as exc:
            return BackendReadiness(name=self._name, ready=False, detail=exc.detail)
        elapsed = (time.perf_counter() - started) * 1000
        return BackendReadiness(name=self._name, ready=True, latency_ms=round(elapsed, 2))

    async def preview(self, operation: Operation, payload: BaseModel) -> BackendPreview:
        """The request ``call`` would send, captured instead of sent, and the state before
        and after where the operation declares a state reader."""
        total = operation.timeout_s or self._settings.total_timeout_s
        if self._session is None:
            raise BackendUnavailable(f"Backend {self._name!r} is not started.")
        capturing = CapturingClient(
            self._session, self._settings, total, reads_pass=operation.effect is Effect.WRITE
        )
        reader = self._set.state_reader(operation.name)

        async def capture() -> tuple[Canonical | None, Canonical | None]:
            with contextlib.suppress(_Captured):
                await self._set.handler(operation.name)(capturing, payload)
            return await reader(self.client(total), payload) if reader else (None, None)

        before, after = await within(total, capture())
        return BackendPreview(capturing.captured, before, after)
