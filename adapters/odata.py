"""The adapter for OData V2 and V4 services (``kind: odata``), on the shared HTTP boundary.

What a handler gets is an :class:`ODataClient` bound to one backend and one call::

    operations: OperationSet[ODataClient] = OperationSet()

    @operations.operation("sales.partner.get", input=PartnerKey, output=Partner, ...)
    async def partner_get(client: ODataClient, request: PartnerKey) -> Canonical:
        \"\"\"Read one business partner by its number.\"\"\"
        return await client.get("A_BusinessPartner", {"BusinessPartner": request.number})

Client methods (entity sets, properties and functions by their ``$metadata`` names; key
values typed, see ``adapters.odata_types.literal``)::

    get(entity_set, key, *, key_types=None, select=(), expand=())   -> record
    query(entity_set, Query(...))                                    -> Collection
    create(entity_set, body, *, reference_property=None, edm_types=None)  -> record
    update(entity_set, key, body, *, etag=None, key_types=None)      -> record | {}
    delete(entity_set, key, *, etag=None, key_types=None)            -> {}
    invoke(name, params, *, method="POST", param_types=None, bound=None) -> record
    find(entity_set, property, value)                                -> record | None

A *record* is the entity with the protocol's envelope taken off (V2 ``d``/``results``,
``__metadata``, ``__deferred`` links, V4 ``@odata.*`` annotations) and its ETag (V2
``__metadata.etag``, V4 ``@odata.etag``, or the ``ETag`` header) under ``"etag"``, so
an agent can pass it back to an update or delete, which send it as ``If-Match``. A
stale ETag answers 409 ``backend_conflict``: "read it again" (see
``adapters.odata_errors`` for every status). Expanded navigation properties come back
as nested records or lists of records. Values keep their wire form (``"12.50"``,
``/Date(ms)/``) and are read faithfully by the output model's types
(``adapters.odata_types``); numbers are parsed as ``Decimal``, never float.

Paging: :meth:`ODataClient.query` follows ``@odata.nextLink`` (V4) and ``__next`` (V2)
on the service's own origin, up to ``max_pages`` pages; if more remain,
``Collection.next_link`` says so (the agent can continue with ``$skip``).

Writes: SAP services (``csrf: true``) need an ``X-CSRF-Token`` fetched with a GET of the
service root and sent back with the session cookie; the runtime fetches it once, keeps
it, and on a 403 ``X-CSRF-Token: Required`` fetches a fresh one and sends the write once
more (the write was refused, not made, so this is safe). V2 updates use ``MERGE``, V4
``PATCH``. A create with ``reference_property`` puts the gateway's backend key (the
client's ``external_reference``) into that property, and :meth:`ODataClient.find` looks
the write up by it, so an unknown outcome (timeout after the request was sent) is looked
up before any re-send.

For generated adapters, :class:`ODataOperation` describes one operation as data and
:func:`send` / :func:`lookup` run it; see their docstrings.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from adapters.base import OperationSet, ServedOperations
from adapters.http import HttpBackend, HttpSettings
from adapters.odata_operation import ODataOperation, lookup, send
from adapters.odata_query import Query
from adapters.odata_session import Collection, ODataClient, ServiceSession
from adapters.odata_types import ODataVersion
from schemas.api import BackendReadiness
from schemas.errors import BackendError, BackendUnavailable

__all__ = [
    "Collection",
    "ODataAdapter",
    "ODataClient",
    "ODataOperation",
    "ODataSettings",
    "Query",
    "lookup",
    "send",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ODataSettings(HttpSettings):
    """Resolved settings of one OData backend (secrets already read from the environment).

    ``service_root`` ends at the service (``…/sap/opu/odata/sap/API_SALES_ORDER_SRV``);
    ``csrf`` turns on SAP's token protocol for writes; ``max_pages`` caps server-driven
    paging per call; ``query`` is added to every request (``sap-client=100``).
    """

    service_root: str
    version: ODataVersion = "4.0"
    csrf: bool = False
    max_pages: int = 10
    query: Mapping[str, str] = field(default_factory=dict)
    keep_cookies: bool = True


class ODataAdapter(ServedOperations[ODataClient]):
    """Serves an :class:`OperationSet` of OData handlers against one service."""

    def __init__(self, name: str, settings: ODataSettings, operations: OperationSet[ODataClient]):
        super().__init__(name, operations, settings.total_timeout_s, settings.operation_timeouts)
        self._settings = settings
        self._http = HttpBackend(name, settings)
        self._session = ServiceSession(
            self._http,
            settings.service_root,
            settings.version,
            csrf=settings.csrf,
            max_pages=settings.max_pages,
            query=settings.query,
        )

    async def start(self) -> None:
        await self._http.start()

    async def close(self) -> None:
        await self._http.close()

    def client(self, total_s: float, external_reference: str | None = None) -> ODataClient:
        if not self._http.started:
            raise BackendUnavailable(f"Backend {self._name!r} is not started.")
        return ODataClient(self._session, total_s, external_reference)

    async def check(self) -> BackendReadiness:
        """Ready when the service document answers 2xx."""
        started = time.perf_counter()
        try:
            await self.client(min(2.0, self._settings.total_timeout_s)).service_document()
        except BackendError as exc:
            return BackendReadiness(name=self._name, ready=False, detail=exc.detail)
        elapsed = (time.perf_counter() - started) * 1000
        return BackendReadiness(name=self._name, ready=True, latency_ms=round(elapsed, 2))
