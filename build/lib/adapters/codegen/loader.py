"""Read a WSDL and every schema it pulls in, without ever letting XML reach the network.

A WSDL is rarely one file: SAP inlines its schema, NetSuite imports 46 XSDs across ~45
namespaces, and schemas ``xsd:include`` one another. Peers stop here (Azure API Management
rejects ``xsd:import``/``xsd:include``); we follow them all, each document once.

Safety rules, because a WSDL is untrusted input:

- documents are parsed by lxml with entity resolution, DTD loading and network access off,
  and a document carrying a DTD at all is refused (no XXE, no billion laughs);
- a local WSDL may only pull in local files; a WSDL given by URL is fetched once over
  HTTP(S) with a size limit, and its imports are resolved relative to it, on the same
  origin, within a total byte budget. Nothing else is ever fetched.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from lxml import etree

from adapters.soap_xml import hardened_parser

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAX_DOCUMENTS = 500
FETCH_TIMEOUT_S = 30.0


class GeneratorError(Exception):
    """The WSDL cannot be turned into an adapter; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class SchemaDocument:
    """One ``xsd:schema`` element and the namespace its global components belong to.

    ``target_namespace`` differs from the element's own attribute for a chameleon
    include (a schema without a target namespace takes the includer's).
    """

    element: etree._Element
    target_namespace: str
    source: str


@dataclass(slots=True)
class LoadedWsdl:
    """Every WSDL definitions element and schema reachable from the entry document."""

    entry: str
    definitions: list[etree._Element] = field(default_factory=list)
    schemas: list[SchemaDocument] = field(default_factory=list)


def parse_document(data: bytes, source: str) -> etree._Element:
    """Parse one untrusted document; DTDs and entity declarations are refused outright."""
    try:
        root = etree.fromstring(data, parser=hardened_parser(), base_url=source)
    except etree.XMLSyntaxError as exc:
        raise GeneratorError(f"{source}: not well-formed XML ({exc})") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise GeneratorError(f"{source}: DTDs are forbidden in WSDL and XSD documents")
    return root


class _Reader:
    """Reads documents from the entry's own world: local files, or one remote origin."""

    def __init__(self, entry: str) -> None:
        self.remote = _is_url(entry)
        self.origin = _origin(entry) if self.remote else ""
        self.total = 0

    def read(self, location: str, referrer: str) -> bytes:
        if self.remote:
            if not _is_url(location) or _origin(location) != self.origin:
                raise GeneratorError(
                    f"{referrer}: refusing to fetch {location}: imports of a remote WSDL "
                    f"must stay on {self.origin}"
                )
            data = _fetch(location)
        else:
            if _is_url(location) or location.startswith(("ftp:", "file:")):
                raise GeneratorError(
                    f"{referrer}: refusing to fetch {location}: a local WSDL may only import "
                    "local files (download the schema and point schemaLocation at it)"
                )
            path = Path(location)
            try:
                size = path.stat().st_size
                if size > MAX_DOCUMENT_BYTES:
                    raise GeneratorError(f"{location}: larger than {MAX_DOCUMENT_BYTES} bytes")
                data = path.read_bytes()
            except OSError as exc:
                raise GeneratorError(f"{referrer}: cannot read {location} ({exc})") from None
        self.total += len(data)
        if self.total > MAX_TOTAL_BYTES:
            raise GeneratorError(f"{location}: the WSDL and its imports exceed {MAX_TOTAL_BYTES}")
        return data

    def resolve(self, base: str, location: str) -> str:
        if self.remote:
            return urljoin(base, location)
        if _is_url(location):
            return location
        return str((Path(base).parent / location).resolve())


def load_wsdl(source: str) -> LoadedWsdl:
    """Load a WSDL (path or http(s) URL) and every WSDL and XSD it imports or includes."""
    reader = _Reader(source)
    entry = source if reader.remote else str(Path(source).resolve())
    loaded = LoadedWsdl(entry=entry)
    seen: set[tuple[str, str]] = set()
    pending: list[tuple[str, str, str | None]] = [(entry, "the command line", None)]
    while pending:
        location, referrer, chameleon_ns = pending.pop(0)
        key = (location, chameleon_ns or "")
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > MAX_DOCUMENTS:
            raise GeneratorError(f"{entry}: more than {MAX_DOCUMENTS} imported documents")
        root = parse_document(reader.read(location, referrer), location)
        if root.tag == f"{{{WSDL_NS}}}definitions":
            loaded.definitions.append(root)
            for imp in root.iterfind(f"{{{WSDL_NS}}}import"):
                if imp.get("location"):
                    target = reader.resolve(location, imp.get("location", ""))
                    pending.append((target, location, None))
            schemas = list(root.iterfind(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema"))
        elif root.tag == f"{{{XSD_NS}}}schema":
            schemas = [root]
        else:
            raise GeneratorError(f"{location}: neither a WSDL 1.1 definitions nor an XSD schema")
        for schema in schemas:
            namespace = schema.get("targetNamespace") or chameleon_ns or ""
            loaded.schemas.append(SchemaDocument(schema, namespace, location))
            for child in schema:
                local = etree.QName(child).localname if isinstance(child.tag, str) else ""
                href = child.get("schemaLocation")
                if local not in ("import", "include", "redefine") or not href:
                    continue
                target = reader.resolve(location, href)
                pending.append((target, location, namespace if local != "import" else None))
    if not loaded.definitions:
        raise GeneratorError(f"{entry}: not a WSDL (no wsdl:definitions element)")
    return loaded


def _fetch(url: str) -> bytes:
    accept = {"Accept": "application/xml, text/xml, */*"}
    request = urllib.request.Request(url, headers=accept)  # noqa: S310 - http(s) only, see _is_url
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:  # noqa: S310
            if _origin(response.geturl()) != _origin(url):
                raise GeneratorError(f"{url}: refusing a redirect to {response.geturl()}")
            data: bytes = response.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise GeneratorError(f"{url}: cannot fetch ({exc})") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise GeneratorError(f"{url}: larger than {MAX_DOCUMENT_BYTES} bytes")
    return data


def _is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
