"""How the two flavours of the sandbox put records on the wire and read payloads.

V4: ``{"@odata.context": …, "value": [...]}``, ``@odata.etag``, ISO 8601 instants,
decimals as strings when the client asked for ``IEEE754Compatible=true`` (else JSON
numbers), errors ``{"error": {"code", "message", "details"}}``.

V2 (SAP Gateway): ``{"d": {"results": [...]}}``, ``__metadata`` with ``uri``, ``type``
and ``etag``, ``/Date(ms)/`` instants, decimals always strings, unexpanded navigation
as ``__deferred``, errors ``{"error": {"code", "message": {"lang", "value"},
"innererror": {"errordetails": [...]}}}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from aiohttp import web

from sandbox.acme_odata_store import SETS, EntitySet

__all__ = ["Flavour", "PayloadError", "error", "read_payload", "render"]

CATEGORIES = ("Person", "Organization")
ADDRESS = ("Street", "City", "PostalCode", "Country")
_V2_DATE = re.compile(r"/Date\((-?[0-9]{1,15})(?:[+-][0-9]{4})?\)/")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NAMESPACE = "AcmeSales"


@dataclass(frozen=True, slots=True)
class Flavour:
    """One face of the service: V4 at ``/odata/v4/sales``, V2 (SAP) at
    ``/sap/opu/odata/sap/ZACME_SALES_SRV``."""

    version: Literal["2.0", "4.0"]
    root: str

    @property
    def items(self) -> str:
        return "to_Item" if self.version == "2.0" else "Items"


class PayloadError(ValueError):
    """A request body the service refuses (400 with an OData error)."""


def error(
    flavour: Flavour, status: int, code: str, message: str, details: list[str] | None = None
) -> web.Response:
    if flavour.version == "2.0":
        inner = [{"code": code, "message": d, "severity": "error"} for d in details or []]
        body: dict[str, Any] = {
            "error": {
                "code": code,
                "message": {"lang": "en", "value": message},
                "innererror": {"errordetails": inner},
            }
        }
    else:
        body = {
            "error": {
                "code": code,
                "message": message,
                "details": [{"code": code, "message": d} for d in details or []],
            }
        }
    return web.json_response(body, status=status)


def etag(version: int) -> str:
    return f'W/"{version}"'


def render(
    flavour: Flavour,
    entity: EntitySet,
    doc: dict[str, Any],
    version: int,
    base: str,
    *,
    ieee754: bool,
    items: list[dict[str, Any]] | None = None,
    select: list[str] | None = None,
) -> dict[str, Any]:
    """One record as the flavour sends it; ``items`` is the expanded navigation."""
    names = [n for n in entity.types if not select or n in select or n in entity.keys]
    out: dict[str, Any] = {}
    if flavour.version == "2.0":
        meta: dict[str, Any] = {
            "uri": f"{base}{flavour.root}/{entity.name}({_key_text(entity, doc)})",
            "type": f"{NAMESPACE}.{entity.type_name}",
        }
        if entity.concurrency:
            meta["etag"] = etag(version)
        out["__metadata"] = meta
    elif entity.concurrency:
        out["@odata.etag"] = etag(version)
    for name in names:
        out[name] = _value(flavour, entity.types[name], doc.get(name), ieee754)
    if entity.items:
        item_set = SETS["SalesOrderItems"]
        if items is None and flavour.version == "2.0":
            key = _key_text(entity, doc)
            out[flavour.items] = {
                "__deferred": {"uri": f"{base}{flavour.root}/{entity.name}({key})/{flavour.items}"}
            }
        elif items is not None:
            rendered = [render(flavour, item_set, i, 1, base, ieee754=ieee754) for i in items]
            out[flavour.items] = {"results": rendered} if flavour.version == "2.0" else rendered
    return out


def _key_text(entity: EntitySet, doc: dict[str, Any]) -> str:
    parts = [
        (k, f"'{doc[k]}'" if isinstance(doc.get(k), str) else str(doc.get(k))) for k in entity.keys
    ]
    return parts[0][1] if len(parts) == 1 else ",".join(f"{k}={v}" for k, v in parts)


def _value(flavour: Flavour, edm: str, value: Any, ieee754: bool) -> Any:
    if value is None:
        return None
    if edm == "Edm.Decimal":
        return value if flavour.version == "2.0" or ieee754 else float(value)
    if edm == "Edm.DateTimeOffset" and flavour.version == "2.0":
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        millis = int((moment - _EPOCH) / timedelta(milliseconds=1))
        return f"/Date({millis})/"
    if edm == f"{NAMESPACE}.Address" and flavour.version == "2.0":
        return {"__metadata": {"type": f"{NAMESPACE}.Address"}, **value}
    return value


def read_payload(
    flavour: Flavour, entity: EntitySet, body: Any, *, partial: bool
) -> dict[str, Any]:
    """A create (or, ``partial``, an update) body as a stored document; PayloadError
    names the first property that does not fit."""
    if not isinstance(body, dict):
        raise PayloadError("The request body must be a JSON object.")
    doc: dict[str, Any] = {}
    for name, value in body.items():
        if name in ("__metadata",) or name.startswith("@"):
            continue
        if name == flavour.items and entity.items:
            continue  # the deep insert's items: read by the caller
        if name not in entity.types:
            raise PayloadError(f"Property '{name}' is not part of {entity.type_name}.")
        doc[name] = _read(entity, name, entity.types[name], value)
    if not partial:
        for name in entity.required:
            if doc.get(name) in (None, ""):
                raise PayloadError(f"Property '{name}' is required.")
    return doc


def _read(entity: EntitySet, name: str, edm: str, value: Any) -> Any:
    if value is None:
        if name in entity.required or name in entity.keys:
            raise PayloadError(f"Property '{name}' must not be null.")
        return None
    if edm == "Edm.String":
        if not isinstance(value, str):
            raise PayloadError(f"Property '{name}' must be a string.")
        limit = entity.max_length.get(name)
        if limit is not None and len(value) > limit:
            raise PayloadError(f"Property '{name}' is longer than {limit} characters.")
        return value
    if edm == "Edm.Decimal":
        try:
            number = Decimal(str(value)) if not isinstance(value, bool) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise PayloadError(f"Property '{name}' must be a decimal number.")
        return format(number, "f")
    if edm == "Edm.Int32":
        if isinstance(value, bool) or not isinstance(value, int):
            raise PayloadError(f"Property '{name}' must be an integer.")
        return value
    if edm == "Edm.DateTimeOffset":
        return _instant(name, value)
    if edm == "Edm.Guid":
        if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F-]{36}", value):
            raise PayloadError(f"Property '{name}' must be a GUID.")
        return value.lower()
    if edm == "Edm.Binary":
        try:
            return base64.b64encode(base64.b64decode(str(value), validate=True)).decode()
        except (binascii.Error, ValueError) as exc:
            raise PayloadError(f"Property '{name}' must be base64.") from exc
    if edm == f"{NAMESPACE}.PartnerCategory":
        if value not in CATEGORIES:
            raise PayloadError(f"Property '{name}' must be one of {', '.join(CATEGORIES)}.")
        return value
    if edm == f"{NAMESPACE}.Address":
        if not isinstance(value, dict):
            raise PayloadError(f"Property '{name}' must be an Address.")
        return {k: value.get(k) for k in ADDRESS}
    raise PayloadError(f"Property '{name}' cannot be written.")


def _instant(name: str, value: Any) -> str:
    if isinstance(value, str):
        match = _V2_DATE.fullmatch(value)
        if match:
            moment = _EPOCH + timedelta(milliseconds=int(match.group(1)))
            return moment.isoformat().replace("+00:00", "Z")
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None  # type: ignore[assignment]
        if moment is not None and moment.tzinfo is not None:
            return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    raise PayloadError(f"Property '{name}' must be a date and time with an offset.")


def dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)
