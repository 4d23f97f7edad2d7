"""The generic adapter for legacy REST/JSON systems, on the shared HTTP boundary.

``adapters.http`` owns the pooled session, timeouts, bounded reads, trace headers and
the translation of wire failures; this module adds what is REST's own: JSON in and out,
and what a status and a JSON error body mean (404, other 4xx, 5xx).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

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
from adapters.http import HttpBackend, HttpReply, HttpSettings
from schemas.api import BackendReadiness
from schemas.common import Effect
from schemas.errors import (
    BackendError,
    BackendNotFound,
    BackendRejected,
    BackendUnavailable,
    ContractViolation,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RestSettings(HttpSettings):
    """Resolved settings of one REST backend (secrets already read from the environment)."""

    base_url: str
    health_path: str = "/"
    max_pages: int = 10


class RestClient:
    """What a REST handler gets: JSON calls against one backend, with this call's timeout."""

    __slots__ = ("_base_url", "_http", "_total_s", "external_reference", "max_pages")

    def __init__(
        self,
        http: HttpBackend,
        base_url: str,
        total_s: float,
        external_reference: str | None = None,
        max_pages: int = 10,
    ) -> None:
        #: the gateway's backend key for this write; handlers put it in the system's
        #: external reference field so that a lookup can find the write later
        self.external_reference = external_reference
        #: how many pages a handler that follows pagination may fetch for one call
        self.max_pages = max_pages
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._total_s = total_s

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

        A 404 raises :class:`BackendNotFound`, 429/502/503/504 :class:`BackendUnavailable`
        (with the backend's ``Retry-After``), other 4xx :class:`BackendRejected` (the
        backend's own message passed on, made safe), other 5xx :class:`BackendError`.
        """
        return (await self.exchange(method, path, params=params, body=body)).decoded

    async def exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        form: bool = False,
        documented: Mapping[int, str] | None = None,
    ) -> RestAnswer:
        """:meth:`request` with what described APIs need: repeated query parameters,
        headers, a form body, the answer's ``Link`` header, and ``documented`` error
        meanings (by status, from the API's description) added to the error's detail.

        ``path`` may be an absolute URL only on the backend's own origin (a ``Link``
        to follow); anything else is refused rather than sent with our credentials.
        """
        url = self._url(path)
        reply = await self._http.send(
            method,
            url,
            total_s=self._total_s,
            params=params,
            json=None if form else body,
            data=body if form else None,
            headers=headers,
        )
        return RestAnswer(_interpret(reply, documented), reply.link)

    def absolute(self, link: str) -> str:
        """A link from an answer (absolute, or relative to the base URL) as a full URL."""
        return urljoin(self._base_url + "/", link)

    def same_origin(self, url: str) -> bool:
        """Whether an absolute ``url`` is on this backend's origin (a link worth following)."""
        return _origin(url) == _origin(self._base_url)

    def _url(self, path: str) -> str:
        if "://" not in path:
            return self._base_url + path
        if not self.same_origin(path):
            raise ContractViolation("The backend pointed to another host; it was not followed.")
        return path


@dataclass(frozen=True, slots=True)
class RestAnswer:
    """A 2xx answer: its decoded JSON and its ``Link`` header, if any."""

    decoded: Any
    link: str | None = None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class _Captured(Exception):
    """Stops a handler at the request a dry run must not send."""


class CapturingClient(RestClient):
    """A client that records the request a handler would send instead of sending it.

    For writes, reads (GET) still go through, since handlers may need them to build
    the request; the first other request is captured and the handler stopped there.
    For reads, the first request is captured.
    """

    __slots__ = ("_reads_pass", "captured")

    def __init__(self, http: HttpBackend, base_url: str, total_s: float, reads_pass: bool) -> None:
        super().__init__(http, base_url, total_s)
        self._reads_pass = reads_pass
        self.captured: dict[str, Any] | None = None

    async def exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        form: bool = False,
        documented: Mapping[int, str] | None = None,
    ) -> RestAnswer:
        if method == "GET" and self._reads_pass:
            return await super().exchange(
                method,
                path,
                params=params,
                body=body,
                headers=headers,
                form=form,
                documented=documented,
            )
        self.captured = {
            "method": method,
            "path": path,
            "query": dict(params) if params else None,
            "body": dict(body) if isinstance(body, Mapping) else body,
        }
        raise _Captured


def _interpret(reply: HttpReply, documented: Mapping[int, str] | None = None) -> Any:
    status, raw = reply.status, reply.body
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
    message = _backend_message(decoded)
    unavailable = reply.unavailable(message)
    if unavailable is not None:
        raise unavailable
    message = message or f"HTTP {status}"
    meaning = (documented or {}).get(status)
    if meaning:
        message += f" (the API documents HTTP {status} as: {safe_text(meaning, 200)})"
    if status == 404:
        raise BackendNotFound(f"The backend has no such record: {message}")
    if 400 <= status < 500:
        raise BackendRejected(f"The backend rejected the request: {message}")
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
        self._http = HttpBackend(name, settings)

    async def start(self) -> None:
        await self._http.start()

    async def close(self) -> None:
        await self._http.close()

    def client(self, total_s: float, external_reference: str | None = None) -> RestClient:
        if not self._http.started:
            raise BackendUnavailable(f"Backend {self._name!r} is not started.")
        settings = self._settings
        return RestClient(
            self._http, settings.base_url, total_s, external_reference, settings.max_pages
        )

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
        if not self._http.started:
            raise BackendUnavailable(f"Backend {self._name!r} is not started.")
        capturing = CapturingClient(
            self._http, self._settings.base_url, total, reads_pass=operation.effect is Effect.WRITE
        )
        reader = self._set.state_reader(operation.name)

        async def capture() -> tuple[Canonical | None, Canonical | None]:
            with contextlib.suppress(_Captured):
                await self._set.handler(operation.name)(capturing, payload)
            return await reader(self.client(total), payload) if reader else (None, None)

        before, after = await within(total, capture())
        return BackendPreview(capturing.captured, before, after)
