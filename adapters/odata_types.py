"""Edm values on the OData wire and in Python, both directions, V2 and V4.

Two jobs, both pure (no I/O), so the runtime (``adapters.odata``) and generated models
share one reading of the specification:

- **URL literals** (:func:`literal`): the only way a value reaches a key predicate or a
  ``$filter``. Every literal is rendered from a typed Python value by the ABNF of the
  protocol version (strings quoted with ``'`` doubled, V2 type prefixes and suffixes
  such as ``guid'…'``, ``datetime'…'`` and ``12.5M``), so no input can close a quote and
  add a clause. Values of the wrong Python type are refused, never ``str()``-ed.
- **Payload values**: :func:`to_wire` turns a model dump into the JSON an OData service
  accepts (Decimal and Int64 as strings, V2 dates as ``/Date(ms)/``, binary as base64);
  :func:`parse_v2_date` and the ``Annotated`` types below read what services send back,
  so generated output models read ``/Date(1700000000000)/``, ``2024-05-01T10:00:00Z``,
  ``"12.50"`` and base64 faithfully.

Edm type to Python: ``Edm.String`` str; ``Edm.Boolean`` bool; ``Edm.Byte/SByte/Int16/
Int32/Int64`` int; ``Edm.Decimal`` Decimal (:func:`edm_decimal` keeps Precision/Scale,
``Scale="variable"`` only bounds the digits); ``Edm.Single/Double`` float;
``Edm.DateTime`` (V2) and ``Edm.DateTimeOffset`` aware datetime (:data:`ODataDateTime`);
``Edm.Date`` date; ``Edm.TimeOfDay``/V2 ``Edm.Time`` time/str; ``Edm.Guid`` UUID;
``Edm.Binary`` bytes (:data:`ODataBinary`); enums str-valued ``enum.Enum`` members,
complex types nested models; ``Nullable="true"`` ``X | None``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import math
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PlainSerializer

__all__ = [
    "IDENTIFIER",
    "EdmType",
    "ODataBinary",
    "ODataDate",
    "ODataDateTime",
    "ODataVersion",
    "edm_decimal",
    "identifier",
    "literal",
    "parse_v2_date",
    "to_wire",
]

ODataVersion = Literal["2.0", "4.0"]
EdmType = str
"""An Edm type name as ``$metadata`` spells it (``Edm.String``, ``Edm.Decimal`` …), or a
qualified enum type name (``Namespace.Color``) for a V4 enum literal."""

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
"""An OData SimpleIdentifier (the ASCII subset our generators emit): property, entity
set, navigation, function and enum member names."""
_QUALIFIED = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}(\.[A-Za-z_][A-Za-z0-9_]{0,127})+")
_V2_DATE = re.compile(r"/Date\((-?[0-9]{1,15})(?:([+-])([0-9]{4}))?\)/")
_INTEGERS = frozenset({"Edm.Byte", "Edm.SByte", "Edm.Int16", "Edm.Int32", "Edm.Int64"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def identifier(name: str) -> str:
    """``name`` if it is a simple identifier, else ValueError: names never carry syntax."""
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not an OData identifier")
    return name


def literal(value: Any, edm: EdmType, version: ODataVersion) -> str:
    """``value`` as an OData URL literal of type ``edm`` (before percent-encoding).

    Raises ValueError for a value that is not of the type's Python type (a string for
    an integer, a bool for a number, NaN for a decimal): callers validate their input
    with pydantic first, so this is a mapping bug, and it is refused, not guessed at.
    """
    if value is None:
        return "null"
    if edm == "Edm.String":
        if not isinstance(value, str):
            raise ValueError(f"expected str for Edm.String, got {type(value).__name__}")
        return "'" + value.replace("'", "''") + "'"
    if edm == "Edm.Boolean":
        if not isinstance(value, bool):
            raise ValueError("expected bool for Edm.Boolean")
        return "true" if value else "false"
    if edm in _INTEGERS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected int for {edm}")
        return f"{value}L" if version == "2.0" and edm == "Edm.Int64" else str(value)
    if edm == "Edm.Decimal":
        number = _decimal(value)
        text = format(number, "f")
        return f"{text}M" if version == "2.0" else text
    if edm in ("Edm.Double", "Edm.Single"):
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise ValueError(f"expected a number for {edm}")
        if not math.isfinite(float(value)):
            raise ValueError(f"{edm} literal must be finite")
        text = repr(float(value))
        return f"{text}d" if version == "2.0" and edm == "Edm.Double" else text
    if edm == "Edm.Guid":
        guid = value if isinstance(value, uuid.UUID) else _uuid(value)
        return f"guid'{guid}'" if version == "2.0" else str(guid)
    if edm in ("Edm.DateTime", "Edm.DateTimeOffset"):
        return _datetime_literal(value, edm, version)
    if edm == "Edm.Date":
        if not isinstance(value, date) or isinstance(value, datetime):
            raise ValueError("expected date for Edm.Date")
        return f"datetime'{value.isoformat()}T00:00:00'" if version == "2.0" else value.isoformat()
    if edm in ("Edm.TimeOfDay", "Edm.Time"):
        if not isinstance(value, time):
            raise ValueError(f"expected time for {edm}")
        if version == "2.0":
            return f"time'PT{value.hour}H{value.minute}M{value.second}S'"
        return value.isoformat()
    if edm == "Edm.Binary":
        if not isinstance(value, bytes):
            raise ValueError("expected bytes for Edm.Binary")
        if version == "2.0":
            return f"binary'{value.hex().upper()}'"
        return "binary'" + base64.urlsafe_b64encode(value).decode() + "'"
    if _QUALIFIED.fullmatch(edm):  # a V4 enum type
        member = value.value if isinstance(value, enum.Enum) else value
        return f"{edm}'{identifier(str(member))}'"
    raise ValueError(f"no literal form for {edm!r}")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("expected Decimal or int for Edm.Decimal")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError("Edm.Decimal literal must be finite")
    return number


def _uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise ValueError("expected UUID for Edm.Guid")
    return uuid.UUID(value)  # ValueError for anything that is not a GUID


def _datetime_literal(value: Any, edm: str, version: ODataVersion) -> str:
    if not isinstance(value, datetime):
        raise ValueError(f"expected datetime for {edm}")
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    if version == "4.0":
        return utc.isoformat().replace("+00:00", "Z")
    if edm == "Edm.DateTime":  # V2 DateTime has no offset: UTC by SAP convention
        return "datetime'" + utc.replace(tzinfo=None).isoformat() + "'"
    return "datetimeoffset'" + utc.isoformat().replace("+00:00", "Z") + "'"


def parse_v2_date(value: Any) -> Any:
    """``/Date(1700000000000)/`` or ``/Date(1700000000000+0060)/`` as an aware datetime;
    anything else is passed on unchanged for pydantic to read (ISO strings, datetimes)."""
    if not isinstance(value, str):
        return value
    match = _V2_DATE.fullmatch(value)
    if match is None:
        return value
    millis, sign, offset = match.groups()
    moment = _EPOCH + timedelta(milliseconds=int(millis))
    if not sign:
        return moment
    minutes = int(offset) * (1 if sign == "+" else -1)
    return moment.astimezone(timezone(timedelta(minutes=minutes)))


def _v2_date_to_date(value: Any) -> Any:
    parsed = parse_v2_date(value)
    return parsed.date() if isinstance(parsed, datetime) else parsed


def _base64(value: Any) -> Any:
    """Base64 (V2, and V4 writers that use it) or base64url (V4) text as bytes."""
    if not isinstance(value, str):
        return value
    text = value.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


ODataDateTime = Annotated[
    datetime,
    BeforeValidator(parse_v2_date),
    PlainSerializer(_iso, return_type=str, when_used="json"),
]
"""``Edm.DateTimeOffset`` and V2 ``Edm.DateTime``: reads ``/Date(ms)/`` and ISO 8601."""
ODataDate = Annotated[date, BeforeValidator(_v2_date_to_date)]
"""``Edm.Date`` (V4) and a V2 ``Edm.DateTime`` that carries a calendar date (sap:display-format
"Date")."""
ODataBinary = Annotated[
    bytes,
    BeforeValidator(_base64),
    PlainSerializer(lambda b: base64.b64encode(b).decode(), return_type=str, when_used="json"),
]
"""``Edm.Binary``: base64 or base64url on the wire, bytes in Python, base64 in answers."""


def edm_decimal(precision: int | None, scale: int | Literal["variable"] | None) -> Any:
    """The ``Annotated`` Decimal type for ``Edm.Decimal`` with these facets.

    Precision bounds the digits; a numeric Scale bounds the places after the point;
    ``Scale="variable"`` (V4) lets the scale float within the precision, so only the
    digits are bounded. Values stay ``Decimal``: never a float on the way.
    """
    places = scale if isinstance(scale, int) else None
    return Annotated[Decimal, Field(max_digits=precision, decimal_places=places)]


def to_wire(
    value: Any, version: ODataVersion, edm_types: Mapping[str, EdmType] | None = None
) -> Any:
    """A model dump (``mode="python"``, by alias) as an OData JSON payload.

    Decimals (and with ``edm_types`` naming them, Int64) travel as strings, which both
    versions accept (V4 with ``IEEE754Compatible=true``, which the runtime sends);
    datetimes as ``/Date(ms)/`` in V2 and ISO 8601 in V4; UUIDs as text; bytes as
    base64; enum members as their values. Nested records (complex types, deep inserts)
    and lists are converted the same way; ``None`` stays ``null``.
    """
    types = edm_types or {}
    if isinstance(value, Mapping):
        return {k: _wire_field(v, version, types.get(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v, version) for v in value]
    return _wire_scalar(value, version, None)


def _wire_field(value: Any, version: ODataVersion, edm: EdmType | None) -> Any:
    if isinstance(value, Mapping | list | tuple):
        return to_wire(value, version)  # complex values, deep-inserted entities
    return _wire_scalar(value, version, edm)


def _wire_scalar(value: Any, version: ODataVersion, edm: EdmType | None) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value) if edm == "Edm.Int64" else value
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        if version == "2.0":
            return f"/Date({_millis(moment)})/"
        return _iso(moment.astimezone(UTC))
    if isinstance(value, date):
        if version == "2.0":
            return f"/Date({_millis(datetime(value.year, value.month, value.day, tzinfo=UTC))})/"
        return value.isoformat()
    if isinstance(value, time):
        if version == "2.0":
            return f"PT{value.hour}H{value.minute}M{value.second}S"
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _millis(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
