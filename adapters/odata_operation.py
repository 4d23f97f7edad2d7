"""OData operations as data, for generated adapters: :class:`ODataOperation` and :func:`send`.

``lastmile adapter new --odata`` writes one :class:`ODataOperation` per operation and a
two-line handler; the logic lives here, so a fix reaches every generated adapter
without regenerating it::

    ORDER_CREATE = ODataOperation(
        kind="create", entity_set="SalesOrders",
        types={"NetAmount": "Edm.Decimal", "OrderDate": "Edm.DateTimeOffset"},
        reference_property="ExternalReference",  # TODO confirm
    )

    @operations.operation("acme_odata.sales_orders.create", input=OrderNew, output=Order,
                          effect=Effect.WRITE, idempotent=False, risk=Risk.MEDIUM,
                          owner="sales", external_reference=True)
    async def sales_orders_create(client: ODataClient, request: OrderNew) -> Canonical:
        \"\"\"Create a sales order with its items.\"\"\"
        return await send(client, ORDER_CREATE, request)

    @operations.lookup("acme_odata.sales_orders.create")
    async def sales_orders_find(client: ODataClient, request: OrderNew, key: str):
        return await lookup(client, ORDER_CREATE, key)

How the input model's fields (by alias, i.e. by ``$metadata`` name) are used:

- ``get``: the ``keys`` fields form the key predicate; optional ``select``/``expand``
  (lists of names) become ``$select``/``$expand``. Answer: the record.
- ``query``: each ``filters`` field given becomes ``Name eq literal`` (joined by
  ``and``); optional ``top``, ``skip``, ``orderby`` (``["Name", "Other desc"]``),
  ``select``, ``expand``. Answer: ``{"items": [records], "more": bool}`` (``more``: the
  page cap stopped before the last page; continue with ``skip``).
- ``create``: every other field is the body (nested records and lists are a deep
  insert); ``reference_property`` gets the backend key. Answer: the created record.
- ``update``: the ``keys`` fields address the entity, ``etag`` goes to ``If-Match``,
  the other fields *given* (unset ones are left out) are the change. Answer: the record
  the service returned, or ``{"etag": new}``/{} for 204.
- ``delete``: ``keys`` and ``etag``. Answer: {}.
- ``action`` / ``function``: the fields are the parameters (``method`` GET for a
  function, POST for an action; a V2 FunctionImport puts them in the query either way);
  ``bound=True`` addresses the entity by ``keys`` first. Answer: the returned record,
  or ``{"value": …}``.

Every name is checked against ``adapters.odata_types.IDENTIFIER`` and, for ``select``,
``orderby`` and ``expand``, against the operation's ``types``/``navigations``; every
value becomes a literal of its Edm type (``types``, default ``Edm.String``). A name or
value that does not fit is a 422 ``validation_failed`` naming the field, never text
spliced into a URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from adapters.base import Canonical
from adapters.odata_query import Query, all_of, eq
from adapters.odata_session import ODataClient
from adapters.odata_types import IDENTIFIER, EdmType
from schemas.errors import FieldError, ValidationFailed

__all__ = ["OPTION_FIELDS", "ODataOperation", "lookup", "send"]

OPTION_FIELDS = frozenset({"select", "expand", "orderby", "top", "skip", "etag"})
"""Input field names (aliases) that are query options or the If-Match value, never data."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ODataOperation:
    """One operation on an OData service, described as data (see the module docstring)."""

    kind: Literal["get", "query", "create", "update", "delete", "action", "function"]
    entity_set: str = ""
    keys: Mapping[str, EdmType] = field(default_factory=dict)
    types: Mapping[str, EdmType] = field(default_factory=dict)
    filters: Mapping[str, EdmType] = field(default_factory=dict)
    navigations: tuple[str, ...] = ()
    name: str = ""  # the action, function or FunctionImport
    namespace: str = ""  # of a V4 bound action/function
    method: Literal["GET", "POST"] = "POST"
    bound: bool = False
    reference_property: str | None = None


def declared(op: ODataOperation, record: Canonical) -> Canonical:
    """A written record with only the entity's properties (a create's or update's
    ``types`` name them all) and its ETag: a service that echoes a deep insert's items,
    or adds a property in a later release, still answers within the generated contract,
    so a write that was made is never reported as a contract violation."""
    if not op.types:
        return record
    wanted = {*op.types, "etag"}
    return {name: value for name, value in record.items() if name in wanted}


async def send(client: ODataClient, op: ODataOperation, payload: BaseModel) -> Canonical:
    """Run ``op`` with ``payload`` (already validated) and answer in the output's shape."""
    values = payload.model_dump(mode="python", by_alias=True, exclude_unset=True)
    key = {name: values.get(name) for name in op.keys}
    if op.kind in ("get", "update", "delete") or op.bound:
        missing = [name for name, value in key.items() if value is None]
        if missing:
            raise _invalid(missing[0], "a key property needs a value")
    if op.kind == "get":
        select, expand = _names(op, values)
        return await client.get(op.entity_set, key, key_types=op.keys, select=select, expand=expand)
    if op.kind == "query":
        found = await client.query(op.entity_set, _query(op, values))
        return {"items": found.items, "more": found.next_link is not None}
    data = {k: v for k, v in values.items() if k not in OPTION_FIELDS}
    if op.kind == "create":
        created = await client.create(
            op.entity_set, data, reference_property=op.reference_property, edm_types=op.types
        )
        return declared(op, created)
    etag = values.get("etag")
    if op.kind == "update":
        change = {k: v for k, v in data.items() if k not in op.keys}
        updated = await client.update(
            op.entity_set, key, change, etag=etag, key_types=op.keys, edm_types=op.types
        )
        return declared(op, updated)
    if op.kind == "delete":
        return await client.delete(op.entity_set, key, etag=etag, key_types=op.keys)
    params = {k: v for k, v in data.items() if not (op.bound and k in op.keys)}
    return await client.invoke(
        op.name,
        params,
        method="GET" if op.kind == "function" and client.version == "4.0" else op.method,
        param_types=op.types,
        bound=(op.entity_set, key) if op.bound else None,
        namespace=op.namespace,
    )


async def lookup(client: ODataClient, op: ODataOperation, key: str) -> Canonical | None:
    """The record a ``create`` made with backend ``key`` (by ``reference_property``)."""
    if not op.reference_property:
        return None
    found = await client.find(op.entity_set, op.reference_property, key)
    return None if found is None else declared(op, found)


def _query(op: ODataOperation, values: Mapping[str, Any]) -> Query:
    conditions = [
        eq(name, values[name], edm)
        for name, edm in op.filters.items()
        if values.get(name) is not None
    ]
    select, expand = _names(op, values)
    orderby: list[tuple[str, bool]] = []
    for item in values.get("orderby") or ():
        name, _, direction = str(item).partition(" ")
        if name not in op.types or direction not in ("", "asc", "desc"):
            raise _invalid("orderby", f"{item!r} is not a sortable property (and asc/desc)")
        orderby.append((name, direction == "desc"))
    return Query(
        filter=all_of(*conditions),
        select=select,
        expand=expand,
        orderby=orderby,
        top=values.get("top"),
        skip=values.get("skip"),
    )


def _names(op: ODataOperation, values: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    select = [str(n) for n in values.get("select") or ()]
    expand = [str(n) for n in values.get("expand") or ()]
    for name in select:
        if name not in op.types or not IDENTIFIER.fullmatch(name):
            raise _invalid("select", f"{name!r} is not a property of {op.entity_set}")
    for name in expand:
        if name not in op.navigations:
            raise _invalid("expand", f"{name!r} is not a navigation of {op.entity_set}")
    return select, expand


def _invalid(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field_name}: {message}",
        errors=[FieldError(field=field_name, message=message)],
    )
