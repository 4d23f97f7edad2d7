"""The one HTTP boundary every protocol adapter (REST, SOAP, later OData) speaks through.

An :class:`HttpBackend` owns one pooled ``aiohttp.ClientSession`` per backend for the
life of the process. Every request it sends carries the backend's credentials, the
W3C trace context of the current span, and connect/read/total timeouts; every answer
is read up to ``max_response_bytes`` and no further. What can go wrong on the wire is
translated here, once, into ``schemas.errors``, so protocol adapters, handlers and the
pipeline never see an aiohttp or asyncio exception::

    on the wire                                raised as              status, code
    refused, DNS, TLS, no connection in time   BackendUnavailable     503 backend_unavailable
                                               (nothing was sent: safe to retry)
    no answer within the read/total timeout    BackendTimeout         504 timeout
    reset, closed, body cut short              BackendDisconnected    502 backend_disconnected
                                               (sent: outcome unknown, as for a timeout)
    answer above max_response_bytes            ContractViolation      502 backend_contract_violation
    anything else aiohttp reports              BackendError           502 backend_error

Statuses that mean "not now" read the same for every protocol: 429, 502, 503 and 504
become :class:`BackendUnavailable` (see :meth:`HttpReply.unavailable`), carrying the
backend's ``Retry-After`` (delta-seconds or HTTP-date, :func:`parse_retry_after`)
rounded by the gateway's one rule, ``schemas.errors.retry_after_seconds``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from adapters.base import safe_text
from adapters.http_auth import ClientCredentials, TokenSource
from adapters.tracing import trace_headers
from schemas.errors import (
    BackendDisconnected,
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ContractViolation,
    retry_after_headers,
    retry_after_seconds,
)

__all__ = ["MAX_RETRY_AFTER_S", "HttpBackend", "HttpReply", "HttpSettings", "parse_retry_after"]

MAX_RETRY_AFTER_S = 24 * 3600
"""A backend asking for a longer wait is taken to ask for a day: the value is passed on to
agents, and a hostile or broken backend must not make it absurd."""

_NOT_NOW = frozenset({429, 502, 503, 504})
"""Statuses that say the backend (or its proxy) did not take the call now."""

_CHUNK = 64 * 1024
_DELTA_SECONDS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")  # RFC 9110: digits; a fraction too


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    """What every HTTP-speaking backend is configured with (secrets already resolved).

    Protocol settings (``RestSettings``, ``SoapSettings``) extend it. ``wall_clock`` is
    the clock an HTTP-date ``Retry-After`` is read against; tests inject one.
    """

    connect_timeout_s: float = 2.0
    read_timeout_s: float = 10.0
    total_timeout_s: float = 15.0
    max_connections: int = 100
    max_response_bytes: int = 4 * 1024 * 1024
    headers: Mapping[str, str] = field(default_factory=dict)
    bearer_token: str | None = None
    basic_auth: tuple[str, str] | None = None
    api_key: tuple[str, str] | None = None  # (header name, key)
    oauth2: ClientCredentials | None = None
    operation_timeouts: Mapping[str, float] = field(default_factory=dict)
    wall_clock: Callable[[], float] = time.time
    keep_cookies: bool = False
    """Keep the backend's cookies across calls, also on an IP address (SAP binds a CSRF
    token to its session cookie; the default jar ignores cookies from IP hosts)."""


@dataclass(frozen=True, slots=True)
class HttpReply:
    """One answer, read in full within the size bound.

    ``retry_after_s`` is the backend's ``Retry-After``, parsed and rounded, or None when
    it sent none (or one that is not a delay or a date).
    """

    status: int
    body: bytes
    retry_after_s: int | None = None
    link: str | None = None  # the ``Link`` header (RFC 8288), for paged answers
    headers: Mapping[str, str] = field(default_factory=dict)
    """All answer headers, for protocols that read their own (OData's ETag, X-CSRF-Token)."""

    def unavailable(self, message: str = "") -> BackendUnavailable | None:
        """The error for a status that means "not now" (429, 502, 503, 504), else None.

        ``message`` is the backend's own words, already made safe by the protocol that
        found them in the body. The backend's ``Retry-After`` rides on the error, so the
        agent's answer carries it too.
        """
        if self.status not in _NOT_NOW:
            return None
        detail = f"The backend is unavailable (HTTP {self.status})"
        detail += f": {message}." if message else "."
        if self.retry_after_s is None:
            return BackendUnavailable(detail)
        detail += f" It asks to be called again in {self.retry_after_s} s."
        return BackendUnavailable(detail, headers=retry_after_headers(self.retry_after_s))


def parse_retry_after(value: str | None, now: float) -> int | None:
    """A ``Retry-After`` value in whole seconds from ``now`` (epoch seconds), or None.

    Both forms of RFC 9110 are read: delay-seconds (a fraction is tolerated) and an
    HTTP-date (IMF-fixdate, RFC 850 or asctime; a date without a zone is UTC). The wait
    is rounded by ``schemas.errors.retry_after_seconds`` (up, at least 1: a date in the
    past means "now", which is 1 s) and capped at :data:`MAX_RETRY_AFTER_S`.
    """
    text = (value or "").strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return retry_after_seconds(min(seconds, MAX_RETRY_AFTER_S))


class HttpBackend:
    """The HTTP connection to one backend: a pooled session from :meth:`start` to
    :meth:`close`, and :meth:`send` for each request."""

    __slots__ = ("_name", "_session", "_settings", "_tokens")

    def __init__(self, name: str, settings: HttpSettings) -> None:
        self._name = name
        self._session: aiohttp.ClientSession | None = None
        self._settings = settings
        self._tokens = TokenSource(settings.oauth2) if settings.oauth2 else None

    @property
    def started(self) -> bool:
        return self._session is not None

    async def start(self) -> None:
        """Open the pool; the backend's credentials ride on every request as a default
        header."""
        settings = self._settings
        sent = dict(settings.headers)
        if settings.bearer_token:
            sent["Authorization"] = f"Bearer {settings.bearer_token}"
        if settings.basic_auth:
            sent["Authorization"] = aiohttp.encode_basic_auth(*settings.basic_auth)
        if settings.api_key:
            sent[settings.api_key[0]] = settings.api_key[1]
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=settings.max_connections),
            headers=sent,
            raise_for_status=False,
            cookie_jar=aiohttp.CookieJar(unsafe=True) if settings.keep_cookies else None,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self,
        method: str,
        url: str,
        *,
        total_s: float,
        params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        json: Any = None,
        data: bytes | Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpReply:
        """Send one request within ``total_s`` and read its answer, whatever its status.

        With OAuth 2.0 client credentials, a 401 answer makes the cached token stale and
        the request is sent once more with a fresh one (the token may have been revoked
        early). Raises only ``schemas.errors`` classes, as the module docstring draws them.
        """
        session = self._session
        if session is None:
            raise BackendUnavailable(f"Backend {self._name!r} is not started.")
        settings = self._settings
        timeout = aiohttp.ClientTimeout(
            total=total_s,
            connect=settings.connect_timeout_s,
            sock_read=min(settings.read_timeout_s, total_s),
        )
        for attempt in (1, 2):
            sent = {**(headers or {}), **trace_headers()}
            if self._tokens is not None:
                sent["Authorization"] = await self._tokens.header(session, timeout, attempt > 1)
            try:
                async with session.request(
                    method, url, params=params, json=json, data=data, headers=sent, timeout=timeout
                ) as response:
                    body = await self._read_bounded(response)
                    retry_after = response.headers.get("Retry-After")
                    link = response.headers.get("Link")
                    answered = response.headers.copy()  # case-insensitive
                    status = response.status
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise _translated(exc, timeout) from exc
            if status != 401 or self._tokens is None:
                break
        wait = (
            None if retry_after is None else parse_retry_after(retry_after, settings.wall_clock())
        )
        return HttpReply(status, body, wait, link, answered)

    async def _read_bounded(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self._settings.max_response_bytes
        if response.content_length is not None and response.content_length > limit:
            raise ContractViolation(f"The backend answered with more than {limit} bytes.")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise ContractViolation(f"The backend answered with more than {limit} bytes.")
            chunks.append(chunk)
        return b"".join(chunks)


def _translated(exc: BaseException, timeout: aiohttp.ClientTimeout) -> BackendError:
    """The ``schemas.errors`` class for what aiohttp or asyncio raised (order matters:
    aiohttp's timeouts are also ``TimeoutError``, its connect errors ``OSError``)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return BackendUnavailable(
            f"The backend accepted no connection within {timeout.connect:g} s."
        )
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return BackendTimeout(f"The backend did not answer within {timeout.sock_read:g} s.")
    if isinstance(exc, TimeoutError):
        return BackendTimeout(f"The backend did not answer within {timeout.total:g} s.")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return BackendUnavailable(f"The backend cannot be reached: {safe_text(exc)}")
    if isinstance(
        exc,
        aiohttp.ServerDisconnectedError
        | aiohttp.ClientConnectionResetError
        | aiohttp.ClientOSError
        | aiohttp.ClientPayloadError,
    ):
        return BackendDisconnected(
            "The backend dropped the connection after the request was sent; whether "
            f"it acted is unknown ({type(exc).__name__})."
        )
    if isinstance(exc, aiohttp.ClientConnectionError):  # e.g. a TLS fingerprint mismatch
        return BackendUnavailable(f"The backend cannot be reached: {safe_text(exc)}")
    return BackendError(f"The backend call failed: {safe_text(exc)}")
