"""ACME ERP finance: a simulated SAP-like finance system speaking SOAP 1.1 and 1.2.

A real server on loopback with a static document/literal WSDL (``acme_finance.wsdl``,
served at ``/sap/bc/srt/acme/finance?wsdl``), requests parsed with a hardened lxml
parser and validated against the WSDL's schema with ``lxml.etree.XMLSchema``, data in
SQLite (``acme_finance_books``). Invalid requests get a Client/Sender fault; business
errors come back, SAP-style, in a ``RETURN`` table of a successful reply.

``POST /_sandbox/faults`` switches on what a bad day looks like (see :class:`Faults`);
``GET /_sandbox/stats`` counts calls and posted documents; ``GET /_sandbox/last_headers``
shows the headers of the last SOAP call (see ``sandbox.http_faults``). Held replies (``slow``,
``commit_then_timeout``, ``drip``) are released when the server shuts down, so tests
never wait them out.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import random
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web
from lxml import etree

from sandbox import acme_finance_books as books
from sandbox import http_faults
from sandbox.acme_finance_hostile import hostile_body

ENDPOINT = "/sap/bc/srt/acme/finance"
NS = "urn:acme:erp:fi"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSDL_TEXT = resources.files("sandbox").joinpath("acme_finance.wsdl").read_text("utf-8")
FAULT_MODES = frozenset(
    {"ok", "slow", "http500", "soap_fault", "drip", "malformed", "xxe", "billion_laughs"}
    | {"huge", "garbage", "commit_then_timeout", "unavailable", "throttled", "reset"}
)


@dataclass
class Faults:
    """What the SOAP endpoint does instead of answering normally.

    ``slow`` holds each call ``delay_s`` before handling it; ``http500`` answers a seeded
    random ``rate`` of calls with a bare HTTP 500; ``soap_fault`` answers with a fault of
    ``fault_code`` (Server or Client); ``drip`` sends a valid reply a few bytes every
    ``delay_s``; ``malformed``, ``xxe``, ``billion_laughs``, ``huge`` and ``garbage`` send
    hostile or broken bodies; ``commit_then_timeout`` stores a write, then holds its reply
    ``delay_s``; ``unavailable`` (503) and ``throttled`` (429) refuse with ``retry_after``
    as the ``Retry-After`` header (if set); ``reset`` drops the connection unanswered.
    """

    mode: str = "ok"
    delay_s: float = 0.0
    rate: float = 1.0
    fault_code: str = "Server"
    size_bytes: int = 6 * 1024 * 1024
    retry_after: str = ""
    random: random.Random = field(default_factory=lambda: random.Random(0))  # noqa: S311


@dataclass
class Stats:
    calls: Counter[str] = field(default_factory=Counter)
    wsdl_fetches: int = 0
    held: int = 0
    users: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the endpoint demands: HTTP basic and/or a WS-Security UsernameToken."""

    basic: tuple[str, str] | None = None
    ws_security: tuple[str, str] | None = None


class SoapFault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


DB = web.AppKey("db", sqlite3.Connection)
FAULTS = web.AppKey("faults", Faults)
STATS = web.AppKey("stats", Stats)
RELEASE = web.AppKey("release", asyncio.Event)
HOLDING = web.AppKey("holding", asyncio.Event)
SCHEMA = web.AppKey("schema", etree.XMLSchema)
CREDENTIALS = web.AppKey("credentials", Credentials)


def create_app(db_path: Path, credentials: Credentials | None = None) -> web.Application:
    """The ACME ERP finance application over the SQLite file at ``db_path``."""
    app = web.Application()
    app[DB] = books.open_books(db_path)
    app[FAULTS] = Faults()
    app[STATS] = Stats()
    app[RELEASE] = asyncio.Event()
    app[HOLDING] = asyncio.Event()
    app[SCHEMA] = _request_schema()
    app[CREDENTIALS] = credentials or Credentials()
    app.router.add_get("/health", _health)
    app.router.add_get(ENDPOINT, _wsdl)
    app.router.add_post(ENDPOINT, _soap)
    app.router.add_post("/_sandbox/faults", _set_faults)
    app.router.add_get("/_sandbox/stats", _get_stats)
    http_faults.install(app)
    app.on_shutdown.append(_release_held_calls)
    app.on_cleanup.append(_close_db)
    return app


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _request_schema() -> etree.XMLSchema:
    wsdl = etree.fromstring(WSDL_TEXT.encode(), parser=_parser())
    schema = wsdl.find(
        "{http://schemas.xmlsoap.org/wsdl/}types/{http://www.w3.org/2001/XMLSchema}schema"
    )
    assert schema is not None  # noqa: S101 - our own static file
    return etree.XMLSchema(schema)


async def _release_held_calls(app: web.Application) -> None:
    app[RELEASE].set()


async def _close_db(app: web.Application) -> None:
    app[DB].close()


async def hold(request: web.Request, seconds: float) -> None:
    """Wait ``seconds``, or until the server shuts down."""
    app = request.app
    app[STATS].held += 1
    app[HOLDING].set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(app[RELEASE].wait(), seconds)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"STATUS": "OK"})


async def _wsdl(request: web.Request) -> web.Response:
    if "wsdl" not in request.query:
        raise web.HTTPMethodNotAllowed("GET", ["POST"])
    request.app[STATS].wsdl_fetches += 1
    own = f"http://{request.host}{ENDPOINT}"
    text = WSDL_TEXT.replace(f"http://127.0.0.1:8082{ENDPOINT}", own)
    return web.Response(text=text, content_type="text/xml")


async def _soap(request: web.Request) -> web.StreamResponse:
    http_faults.remember(request)
    raw = await request.read()
    version = SOAP12 if "soap+xml" in request.content_type else SOAP11
    try:
        envelope = _envelope(raw)
        version = envelope.nsmap.get(envelope.prefix, SOAP11)
        _check_credentials(request, envelope)
        operation, fields = _operation(request.app[SCHEMA], envelope)
    except SoapFault as fault:
        return _fault_response(version, fault)
    request.app[STATS].calls[operation] += 1
    early = await _fault_before(request, version, operation)
    if early is not None:
        return early
    reply = books.SERVICES[operation](request.app[DB], fields)
    body = _envelope_bytes(version, _reply_element(operation, reply))
    faults = request.app[FAULTS]
    if faults.mode == "commit_then_timeout" and operation in books.WRITES:
        await hold(request, faults.delay_s)
    if faults.mode == "drip":
        return await _drip(request, version, body, faults.delay_s)
    return web.Response(body=body, content_type=_content_type(version), charset="utf-8")


def _envelope(raw: bytes) -> Any:
    try:
        root = etree.fromstring(raw, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise SoapFault("Client", f"Request is not well-formed XML: {exc.msg}") from exc
    if root.getroottree().docinfo.doctype:
        raise SoapFault("Client", "DOCTYPE is not allowed in SOAP messages")
    if etree.QName(root).localname != "Envelope" or etree.QName(root).namespace not in (
        SOAP11,
        SOAP12,
    ):
        raise SoapFault("Client", "Request is not a SOAP 1.1 or 1.2 envelope")
    return root


def _operation(schema: etree.XMLSchema, envelope: Any) -> tuple[str, dict[str, str]]:
    ns = etree.QName(envelope).namespace
    body = envelope.find(f"{{{ns}}}Body")
    call = body[0] if body is not None and len(body) else None
    if call is None or etree.QName(call).namespace != NS:
        raise SoapFault("Client", f"Body must hold one element of namespace {NS}")
    name = etree.QName(call).localname
    if name not in books.SERVICES:
        raise SoapFault("Client", f"Function module {name} does not exist")
    if not schema.validate(call):
        error = schema.error_log.last_error
        raise SoapFault("Client", f"Request {name} is not valid: {error.message if error else ''}")
    return name, {etree.QName(child).localname: child.text or "" for child in call}


def _check_credentials(request: web.Request, envelope: Any) -> None:
    demanded = request.app[CREDENTIALS]
    if demanded.basic is not None:
        expected = base64.b64encode(":".join(demanded.basic).encode()).decode()
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given, f"Basic {expected}"):
            raise web.HTTPUnauthorized(
                text="Logon failed", headers={"WWW-Authenticate": 'Basic realm="SAP"'}
            )
        request.app[STATS].users[f"basic:{demanded.basic[0]}"] += 1
    if demanded.ws_security is not None:
        user = _username_token(envelope, *demanded.ws_security)
        request.app[STATS].users[f"wsse:{user}"] += 1


def _username_token(envelope: Any, username: str, password: str) -> str:
    token = envelope.find(f".//{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        raise SoapFault("Client", "wsse:FailedAuthentication: no UsernameToken")
    user = token.findtext(f"{{{WSSE}}}Username") or ""
    secret = token.find(f"{{{WSSE}}}Password")
    given = secret.text or "" if secret is not None else ""
    if secret is not None and secret.get("Type", "").endswith("#PasswordDigest"):
        nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "")
        created = token.findtext(f"{{{WSU}}}Created") or ""
        digest = hashlib.sha1(nonce + created.encode() + password.encode()).digest()  # noqa: S324 - the WSS spec
        expected = base64.b64encode(digest).decode()
    else:
        expected = password
    if user != username or not hmac.compare_digest(given, expected):
        raise SoapFault("Client", "wsse:FailedAuthentication: user or password is wrong")
    return user


async def _fault_before(
    request: web.Request, version: str, operation: str
) -> web.StreamResponse | None:
    faults = request.app[FAULTS]
    if faults.mode == "slow":
        await hold(request, faults.delay_s)
    elif faults.mode == "http500" and faults.random.random() < faults.rate:
        return web.Response(status=500, text="500 Internal Server Error", content_type="text/html")
    elif faults.mode == "soap_fault":
        message = (
            "System is busy, try again later (work processes exhausted)"
            if faults.fault_code == "Server"
            else "Function module parameters are inconsistent"
        )
        return _fault_response(version, SoapFault(faults.fault_code, message))
    elif faults.mode in ("unavailable", "throttled"):
        status = 503 if faults.mode == "unavailable" else 429
        return http_faults.refusal(status, faults.retry_after, b"Try later", "text/html")
    elif faults.mode == "reset":
        return await http_faults.reset(request)
    elif faults.mode in ("malformed", "xxe", "billion_laughs", "huge", "garbage"):
        body = hostile_body(faults.mode, version, operation, faults.size_bytes)
        return web.Response(body=body, content_type=_content_type(version), charset="utf-8")
    return None


async def _drip(
    request: web.Request, version: str, body: bytes, every_s: float
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": _content_type(version)})
    await response.prepare(request)
    request.app[STATS].held += 1
    request.app[HOLDING].set()
    try:
        for start in range(0, len(body), 16):
            await response.write(body[start : start + 16])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(request.app[RELEASE].wait(), every_s)
        await response.write_eof()
    except (ConnectionResetError, ConnectionError):
        pass  # the client gave up, as it should
    return response


def _content_type(version: str) -> str:
    return "application/soap+xml" if version == SOAP12 else "text/xml"


def _build(parent: Any, name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, list):
        table = etree.SubElement(parent, name)
        for row in value:
            _build(table, "item", row)
    elif isinstance(value, dict):
        node = etree.SubElement(parent, name)
        for key, child in value.items():
            _build(node, key, child)
    else:
        etree.SubElement(parent, name).text = str(value)


def _reply_element(operation: str, reply: dict[str, Any]) -> Any:
    element = etree.Element(f"{{{NS}}}{operation}Response", nsmap={"n0": NS})
    for key, value in reply.items():
        _build(element, key, value)
    return element


def _envelope_bytes(version: str, payload: Any) -> bytes:
    envelope = etree.Element(f"{{{version}}}Envelope", nsmap={"soap": version})
    etree.SubElement(envelope, f"{{{version}}}Header")
    etree.SubElement(envelope, f"{{{version}}}Body").append(payload)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def _fault_response(version: str, fault: SoapFault) -> web.Response:
    body = etree.Element(f"{{{version}}}Fault")
    if version == SOAP11:
        etree.SubElement(body, "faultcode").text = f"soap:{fault.code}"
        etree.SubElement(body, "faultstring").text = fault.message
        status = 500
    else:
        code = {"Client": "Sender", "Server": "Receiver"}.get(fault.code, fault.code)
        value = etree.SubElement(
            etree.SubElement(body, f"{{{version}}}Code"), f"{{{version}}}Value"
        )
        value.text = f"soap:{code}"
        reason = etree.SubElement(
            etree.SubElement(body, f"{{{version}}}Reason"), f"{{{version}}}Text"
        )
        reason.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        reason.text = fault.message
        status = 400 if code == "Sender" else 500
    data = _envelope_bytes(version, body)
    return web.Response(
        body=data, status=status, content_type=_content_type(version), charset="utf-8"
    )


async def _set_faults(request: web.Request) -> web.Response:
    body = await request.json()
    mode = str(body.get("mode", "ok"))
    if mode not in FAULT_MODES:
        return web.json_response({"error": f"unknown mode {mode!r}"}, status=400)
    faults = request.app[FAULTS]
    faults.mode, faults.delay_s = mode, float(body.get("delay_s", 0))
    faults.rate = float(body.get("rate", 1.0))
    faults.fault_code = str(body.get("fault_code", "Server"))
    faults.size_bytes = int(body.get("size_bytes", 6 * 1024 * 1024))
    faults.retry_after = str(body.get("retry_after", ""))
    faults.random = random.Random(int(body.get("seed", 0)))  # noqa: S311 - deterministic faults
    return web.json_response({"mode": faults.mode})


async def _get_stats(request: web.Request) -> web.Response:
    stats = request.app[STATS]
    return web.json_response(
        {
            "calls": dict(stats.calls),
            "total_calls": sum(stats.calls.values()),
            "wsdl_fetches": stats.wsdl_fetches,
            "held": stats.held,
            "users": dict(stats.users),
            **books.counts(request.app[DB]),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the ACME ERP finance sandbox on loopback.")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--db", type=Path, default=Path("acme_erp.sqlite"))
    args = parser.parse_args()
    web.run_app(create_app(args.db), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
