"""Loading a WSDL once, at start-up: where it may come from, what it may import, and its cache.

zeep builds its model of a WSDL synchronously (zeep #1409), so :func:`load_wsdl` is a
plain function the adapter runs in a worker thread, once. Fetches go through
:class:`GuardedTransport`: a WSDL fetched over HTTP may import documents from its own
origin only (a local WSDL, chosen by the operator, may import local files); fetched
documents are kept in zeep's ``SqliteCache`` so a restart reads them from disk, and
once the WSDL is loaded the transport is sealed: nothing is fetched after start-up,
whatever a later document might reference.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import zeep
from zeep.cache import SqliteCache
from zeep.exceptions import ExternalReferenceForbidden
from zeep.ns import SOAP_ENV_11, SOAP_ENV_12
from zeep.wsdl.bindings.soap import Soap11Binding, Soap12Binding, SoapBinding
from zeep.wsse.username import UsernameToken

from adapters.base import StartupFailed
from adapters.soap_xml import zeep_settings


class GuardedTransport(zeep.Transport):
    """zeep's transport, limited to one origin and sealed after start-up.

    The gateway never sends SOAP calls through it (they go over aiohttp); it only
    fetches the WSDL and the XSDs it imports.
    """

    def __init__(self, origin: str | None, cache: SqliteCache | None, timeout_s: float) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            cache=cache, timeout=timeout_s, operation_timeout=timeout_s
        )
        self.session.trust_env = False  # no proxies from the environment: loopback stays local
        self._origin = origin
        self.sealed = False
        self.fetched: list[str] = []

    def load(self, url: str) -> bytes:
        if self.sealed:
            raise ExternalReferenceForbidden(url)
        parts = urlparse(url)
        if parts.scheme in ("http", "https") and _origin(url) != self._origin:
            raise ExternalReferenceForbidden(url)
        content: bytes = super().load(url)  # type: ignore[no-untyped-call]
        return content

    def _load_remote_data(self, url: str) -> bytes:
        self.fetched.append(url)
        content: bytes = super()._load_remote_data(url)  # type: ignore[no-untyped-call]
        return content

    def post(self, address: str, message: Any, headers: Any) -> Any:
        raise ExternalReferenceForbidden(address)  # calls go over the adapter's aiohttp session

    def get(self, address: str, params: Any, headers: Any) -> Any:
        raise ExternalReferenceForbidden(address)


def _origin(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class WsdlSource:
    """Where a WSDL comes from and how to load it."""

    location: str
    cache_path: Path | None = None
    cache_ttl_s: int = 86_400
    timeout_s: float = 10.0
    service: str | None = None
    port: str | None = None
    soap_version: str = "1.1"
    endpoint: str | None = None
    ws_security: tuple[str, str, bool] | None = None  # username, password, digest


@dataclass(frozen=True, slots=True)
class LoadedWsdl:
    """A loaded WSDL bound to one SOAP port: what the adapter serialises calls with."""

    client: zeep.Client
    binding: SoapBinding
    address: str
    soap_version: str
    fetched: tuple[str, ...]

    @property
    def envelope_ns(self) -> str:
        return SOAP_ENV_12 if isinstance(self.binding, Soap12Binding) else SOAP_ENV_11

    @property
    def operation_names(self) -> frozenset[str]:
        return frozenset(self.binding._operations)


def resolve_location(location: str) -> str:
    """``package:PKG/FILE`` as a file path; URLs and paths unchanged."""
    if not location.startswith("package:"):
        return location
    package, _, name = location.removeprefix("package:").partition("/")
    return str(resources.files(package).joinpath(name))


def load_wsdl(source: WsdlSource) -> LoadedWsdl:
    """Load and bind the WSDL (blocking: run it in a thread), or raise :class:`StartupFailed`
    naming the WSDL and the cause."""
    try:
        location = resolve_location(source.location)
    except (ModuleNotFoundError, ValueError) as exc:
        raise StartupFailed(f"cannot load WSDL {source.location}: {exc}") from exc
    remote = urlparse(location).scheme in ("http", "https")
    try:
        cache = _cache(source) if remote else None
    except (OSError, sqlite3.Error) as exc:
        raise StartupFailed(
            f"cannot open the WSDL cache {source.cache_path}: {_cause(exc)}"
        ) from exc
    transport = GuardedTransport(_origin(location) if remote else None, cache, source.timeout_s)
    wsse = None
    if source.ws_security is not None:
        username, password, digest = source.ws_security
        wsse = UsernameToken(username, password, use_digest=digest)
    try:
        client = zeep.Client(
            location,
            transport=transport,
            settings=zeep_settings(forbid_external=not remote),
            wsse=wsse,
        )
        binding, address = _select_port(client, source)
    except StartupFailed:
        raise
    except Exception as exc:  # zeep, requests, lxml and OS errors all mean the same here
        raise StartupFailed(f"cannot load WSDL {source.location}: {_cause(exc)}") from exc
    finally:
        transport.sealed = True
    return LoadedWsdl(client, binding, address, source.soap_version, tuple(transport.fetched))


def _cache(source: WsdlSource) -> SqliteCache | None:
    if source.cache_path is None:
        return None
    source.cache_path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteCache(path=str(source.cache_path), timeout=source.cache_ttl_s)


def _select_port(client: zeep.Client, source: WsdlSource) -> tuple[SoapBinding, str]:
    services = client.wsdl.services
    if not services:
        raise StartupFailed(f"WSDL {source.location} declares no service")
    if source.service is not None and source.service not in services:
        raise StartupFailed(
            f"WSDL {source.location} has no service {source.service!r} "
            f"(it has: {', '.join(services)})"
        )
    service = services[source.service] if source.service else next(iter(services.values()))
    wanted = Soap12Binding if source.soap_version == "1.2" else Soap11Binding
    ports = [
        p
        for name, p in service.ports.items()
        if (name == source.port if source.port else isinstance(p.binding, wanted))
    ]
    if not ports:
        what = f"port {source.port!r}" if source.port else f"SOAP {source.soap_version} port"
        raise StartupFailed(
            f"WSDL {source.location} has no {what} in service {service.name!r} "
            f"(it has: {', '.join(service.ports)})"
        )
    port = ports[0]
    address = source.endpoint or port.binding_options.get("address")
    if not address:
        raise StartupFailed(f"WSDL {source.location} gives no address; set 'endpoint'")
    return port.binding, str(address)


def _cause(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    text = " ".join(text.split())
    return f"{type(exc).__name__}: {text[:300]}"
