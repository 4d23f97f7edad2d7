"""ACME Sales: a simulated ERP speaking OData V4 and, in its SAP flavour, OData V2.

One SQLite file of business partners, products and sales orders with items, served
twice from its own ``$metadata``:

- V4 at ``/odata/v4/sales`` (``acme_odata_v4.xml``): ``value`` envelopes,
  ``@odata.nextLink``, ``@odata.etag``, the bound action ``AcmeSales.Release`` and the
  function ``OpenAmount(CustomerID='…')``;
- V2 at ``/sap/opu/odata/sap/ZACME_SALES_SRV`` (``acme_odata_v2.xml``), as SAP Gateway
  does it: the ``d`` envelope, ``__next``, ``/Date(ms)/``, ``MERGE``, the FunctionImports
  ``ReleaseSalesOrder`` and ``OpenAmount``, SAP error bodies, and writes that need an
  ``X-CSRF-Token`` fetched with a GET and bound to the ``SAP_SESSIONID`` cookie.

Every API call needs ``Authorization: Bearer`` with a token from ``POST /oauth/token``
(client credentials :data:`CLIENT_ID` / :data:`CLIENT_SECRET`, Basic or form). Writes
to business partners and sales orders need ``If-Match`` (428 without, 412 when stale).

``POST /_sandbox/faults`` switches fault modes (``count``: for that many API calls):
``throttled`` (429 + ``Retry-After``), ``unavailable`` (503 + ``Retry-After``),
``stale_etag`` (writes answer 412), ``slow`` (answers held ``delay_s``),
``committed_timeout`` (a POST is committed, then its answer held ``delay_s``), and the
one-off events ``token_expired`` (every issued token is revoked) and ``csrf_expired``
(every CSRF token is dropped); ``page_size`` sets server-driven paging.
``GET /_sandbox/stats`` counts API calls, token and CSRF fetches and CSRF refusals.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox import http_faults
from sandbox.acme_odata_api import Api
from sandbox.acme_odata_store import Store
from sandbox.acme_odata_wire import Flavour, error

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "V2", "V4", "create_app"]

CLIENT_ID = "lastmile-gateway"
CLIENT_SECRET = "acme-sandbox-secret"  # noqa: S105 - the sandbox's published test credential
TOKEN_LIFETIME_S = 3600
V4 = Flavour("4.0", "/odata/v4/sales")
V2 = Flavour("2.0", "/sap/opu/odata/sap/ZACME_SALES_SRV")
_WRITES = frozenset({"POST", "PUT", "PATCH", "MERGE", "DELETE"})


@dataclass
class Faults:
    mode: str = "ok"
    delay_s: float = 0.0
    count: int = 0
    retry_after: str = ""
    page_size: int = 50


@dataclass
class Stats:
    api_calls: int = 0
    writes: int = 0
    token_fetches: int = 0
    csrf_fetches: int = 0
    csrf_refused: int = 0
    unauthorized: int = 0


@dataclass
class Security:
    """Issued access tokens (token -> expiry) and CSRF tokens (session -> token)."""

    tokens: dict[str, float] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)


STORE = web.AppKey("store", Store)
FAULTS = web.AppKey("faults", Faults)
STATS = web.AppKey("stats", Stats)
SECURITY = web.AppKey("security", Security)
RELEASE = web.AppKey("release", asyncio.Event)
CSRF_SESSION = web.RequestKey("csrf_session", str)


def create_app(db_path: Path) -> web.Application:
    """The ACME Sales OData application over the SQLite file at ``db_path``."""
    app = web.Application(middlewares=[_gate])
    app[STORE] = Store(db_path)
    app[FAULTS] = Faults()
    app[STATS] = Stats()
    app[SECURITY] = Security()
    app[RELEASE] = asyncio.Event()
    for flavour in (V4, V2):
        api = Api(flavour, app[STORE], app[FAULTS])
        app.router.add_route("*", flavour.root + "{tail:(/.*)?}", api.handle)
    app.router.add_post("/oauth/token", _token)
    app.router.add_post("/_sandbox/faults", _set_faults)
    app.router.add_get("/_sandbox/stats", _stats)
    http_faults.install(app)
    app.on_shutdown.append(_release_held)
    app.on_cleanup.append(_close)
    return app


async def _release_held(app: web.Application) -> None:
    app[RELEASE].set()


async def _close(app: web.Application) -> None:
    app[STORE].close()


def _flavour(request: web.Request) -> Flavour | None:
    for flavour in (V4, V2):
        if request.path == flavour.root or request.path.startswith(flavour.root + "/"):
            return flavour
    return None


async def _held(app: web.Application, delay_s: float) -> None:
    """Hold an answer ``delay_s``; the server's shutdown releases it, so tests never wait."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(app[RELEASE].wait(), delay_s)


_FOR_WRITES = {"stale_etag": _WRITES - {"POST"}, "committed_timeout": frozenset({"POST"})}
"""Faults that only a write can meet; a counted one is used up by those writes alone."""


def _current(faults: Faults, method: str) -> Faults:
    if method not in _FOR_WRITES.get(faults.mode, {method}):
        return Faults()
    seen = Faults(faults.mode, faults.delay_s, retry_after=faults.retry_after)
    if faults.count > 0:
        faults.count -= 1
        if faults.count == 0:
            faults.mode = "ok"
    return seen


@web.middleware
async def _gate(request: web.Request, handler: Any) -> web.StreamResponse:
    """Faults, then authentication, then (V2 writes) the CSRF token, then the API."""
    flavour = _flavour(request)
    if flavour is None:
        return await handler(request)  # type: ignore[no-any-return]
    app = request.app
    http_faults.remember(request)
    app[STATS].api_calls += 1
    fault = _current(app[FAULTS], request.method)
    if fault.mode in ("throttled", "unavailable"):
        status = 429 if fault.mode == "throttled" else 503
        refusal = error(
            flavour,
            status,
            "SY/530",
            "Too many requests" if status == 429 else "Service in maintenance",
        )
        if fault.retry_after:
            refusal.headers["Retry-After"] = fault.retry_after
        return refusal
    if fault.mode == "slow":
        await _held(app, fault.delay_s)
    refused = _unauthorized(request, flavour) or _csrf(request, flavour)
    if refused is not None:
        return refused
    if fault.mode == "stale_etag" and request.method in _WRITES - {"POST"}:
        return error(
            flavour,
            412,
            "/IWBEP/CM_MGW_RT/022",
            "Precondition failed: the record was changed by another user",
        )
    response = await handler(request)
    session = request.get(CSRF_SESSION)
    if session:
        response.headers["X-CSRF-Token"] = app[SECURITY].csrf[session]
        response.set_cookie("SAP_SESSIONID", session, httponly=True)
    if request.method in _WRITES and response.status < 300:
        app[STATS].writes += 1
        if fault.mode == "committed_timeout" and request.method == "POST":
            await _held(app, fault.delay_s)  # the write is stored; its answer comes too late
    return response  # type: ignore[no-any-return]


def _unauthorized(request: web.Request, flavour: Flavour) -> web.Response | None:
    security = request.app[SECURITY]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expiry = security.tokens.get(token) if scheme.lower() == "bearer" else None
    if expiry is not None and expiry > time.monotonic():
        return None
    request.app[STATS].unauthorized += 1
    refusal = error(flavour, 401, "AUTH/401", "The access token is missing, invalid or expired.")
    refusal.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return refusal


def _csrf(request: web.Request, flavour: Flavour) -> web.Response | None:
    """SAP's protocol: a GET with ``X-CSRF-Token: Fetch`` gets a token for the session
    cookie; a write must send it back with that cookie, else 403 ``Required``."""
    if flavour is not V2:
        return None
    app = request.app
    csrf = app[SECURITY].csrf
    session = request.cookies.get("SAP_SESSIONID", "")
    if request.method == "GET" and request.headers.get("X-CSRF-Token", "").lower() == "fetch":
        app[STATS].csrf_fetches += 1
        request[CSRF_SESSION] = session if session in csrf else secrets.token_hex(12)
        csrf.setdefault(request[CSRF_SESSION], secrets.token_urlsafe(18))
        return None
    if request.method not in _WRITES:
        return None
    sent = request.headers.get("X-CSRF-Token", "")
    if session and sent and csrf.get(session) == sent:
        return None
    app[STATS].csrf_refused += 1
    refusal = error(flavour, 403, "/IWFND/CM_BEC/026", "CSRF token validation failed")
    refusal.headers["X-CSRF-Token"] = "Required"
    return refusal


async def _token(request: web.Request) -> web.Response:
    """OAuth 2.0 client credentials (RFC 6749 §4.4), client authenticated by Basic or form."""
    form = await request.post()
    client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            client_id = ""
    if form.get("grant_type") != "client_credentials":
        return web.json_response({"error": "unsupported_grant_type"}, status=400)
    if client_id != CLIENT_ID or not secrets.compare_digest(secret, CLIENT_SECRET):
        return web.json_response({"error": "invalid_client"}, status=401)
    token = secrets.token_urlsafe(24)
    request.app[SECURITY].tokens[token] = time.monotonic() + TOKEN_LIFETIME_S
    request.app[STATS].token_fetches += 1
    return web.json_response(
        {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_S}
    )


async def _set_faults(request: web.Request) -> web.Response:
    body = await request.json()
    faults, security = request.app[FAULTS], request.app[SECURITY]
    mode = str(body.get("mode", "ok"))
    if mode == "token_expired":
        security.tokens.clear()
        mode = "ok"
    elif mode == "csrf_expired":
        security.csrf.clear()
        mode = "ok"
    faults.mode = mode
    faults.delay_s = float(body.get("delay_s", 0))
    faults.count = int(body.get("count", 0))
    faults.retry_after = str(body.get("retry_after", ""))
    faults.page_size = int(body.get("page_size", faults.page_size))
    return web.json_response({"mode": faults.mode, "page_size": faults.page_size})


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(vars(request.app[STATS]))
