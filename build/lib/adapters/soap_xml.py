"""XML safety for SOAP: how untrusted XML is parsed, and how zeep values become plain Python.

Every byte a SOAP backend sends is parsed here, by lxml with a parser that never
resolves entities, never touches the network, never loads a DTD and refuses huge
trees; a document that carries a DTD at all is refused, because no SOAP message may
(SOAP 1.1 section 3, SOAP 1.2 part 1 section 5). zeep's own parsing of the WSDL at
start-up runs with :func:`zeep_settings`, every ``forbid_*`` switch set explicitly:
zeep 4.3.3 changed their defaults, and before it ``forbid_external`` did nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from decimal import Decimal
from typing import Any

from lxml import etree
from zeep import Settings
from zeep.helpers import serialize_object
from zeep.xsd import ComplexType
from zeep.xsd.valueobjects import CompoundValue

from schemas.errors import ContractViolation


def zeep_settings(*, forbid_external: bool) -> Settings:
    """zeep's parse settings for WSDL/XSD documents, nothing left to a default.

    ``forbid_external`` blocks http(s) imports reached from the entry-point WSDL; it is
    off only for a WSDL fetched over HTTP, whose imports our transport still limits to
    the WSDL's own origin (see ``adapters.soap_wsdl``).
    """
    return Settings(
        strict=True,
        raw_response=False,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=forbid_external,
        xml_huge_tree=False,
        xsd_ignore_sequence_order=False,
    )


def hardened_parser() -> etree.XMLParser:
    """A fresh lxml parser for untrusted XML (one per parse: parsers are not shared
    across threads)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_untrusted(raw: bytes) -> etree._Element:
    """Parse a backend's reply, or raise :class:`ContractViolation` saying why not.

    Entity expansion is off, so a billion-laughs body costs what its bytes cost; a
    DOCTYPE is refused outright, so XXE and entity tricks end here too.
    """
    if not raw.strip():
        raise ContractViolation("The backend answered with an empty body instead of SOAP XML.")
    if _starts_with_doctype(raw):
        raise _DOCTYPE_REFUSED
    try:
        root = etree.fromstring(raw, parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise ContractViolation(
            f"The backend answered with malformed XML ({_short(exc.msg)})."
        ) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _DOCTYPE_REFUSED
    return root


_DOCTYPE_REFUSED = ContractViolation(
    "The backend answered with a DOCTYPE (entity declarations), which SOAP forbids; "
    "the reply was refused unread as a possible XML attack."
)
_PROLOG_ITEM = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->)", re.DOTALL)


def _starts_with_doctype(raw: bytes) -> bool:
    """Whether the prolog (before the root element) holds a DOCTYPE.

    Checked before parsing, so libxml2 never reads a DTD's entity declarations; the
    docinfo check after parsing covers encodings this byte scan does not read.
    """
    pos = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    while (item := _PROLOG_ITEM.match(raw, pos)) is not None:
        pos = item.end()
    return raw[pos : pos + 64].lstrip().startswith(b"<!DOCTYPE")


def _short(message: object) -> str:
    text = str(message)
    return text if len(text) <= 120 else text[:119] + "…"


def to_plain(value: Any) -> Any:
    """A zeep reply as plain Python: dicts, lists, str, Decimal, date, ... never zeep objects.

    Values zeep could not type (``xsd:any`` content arrives as lxml elements) become
    their text, so nothing from lxml or zeep reaches a handler's result either.
    """
    _fill_empty_records(value)
    return _plain(serialize_object(value, dict))


def _fill_empty_records(value: Any) -> None:
    """A required element of a record type that arrived empty (``<RETURN/>``, an empty
    SAP table) is an empty record, not an absent one; zeep reads both as None. Only
    required, non-nillable record elements are filled, so absence stays absence."""
    if isinstance(value, list):
        for item in value:
            _fill_empty_records(item)
        return
    if not isinstance(value, CompoundValue):
        return
    for name, element in getattr(value._xsd_type, "elements", ()):
        child = value[name] if name in value else None  # noqa: SIM401 - CompoundValue has no .get
        if (
            child is None
            and isinstance(element.type, ComplexType)
            and element.min_occurs >= 1
            and not element.nillable
            and not element.accepts_multiple
        ):
            value[name] = element.type()
        else:
            _fill_empty_records(child)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str | Decimal | date | time):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, etree._Element):
        return "".join(value.itertext())
    return str(value)
