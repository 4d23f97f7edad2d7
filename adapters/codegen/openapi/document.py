"""Reading an OpenAPI 3.0/3.1 or Swagger 2.0 description: safely, once, tolerantly.

A description is read from a file or fetched once from an ``http(s)`` URL (bounded in
size, same-origin redirects only), parsed as JSON or YAML (the safe loader), and never
anything else: a ``$ref`` to another document or host is reported and left unresolved.

Real descriptions are imperfect, and a strict validator rejects specs that systems
really publish (Xero writes booleans as ``"false"``, Square reuses ``operationId``s).
Rather than refuse them we repair what has one obvious meaning and report each repair
(:attr:`OpenApiDocument.repairs`), so the engineer sees what the generator assumed.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from adapters.codegen.loader import GeneratorError

MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
FETCH_TIMEOUT_S = 30.0
MAX_REPAIRS_LISTED = 40

BOOLEAN_KEYWORDS = frozenset(
    {"nullable", "readOnly", "writeOnly", "deprecated", "uniqueItems", "allowEmptyValue",
     "explode", "allowReserved"}
)  # fmt: skip
"""Keywords whose value is a boolean in every version; ``"true"``/``"false"`` is repaired."""

Node = dict[str, Any]


@dataclass(slots=True)
class OpenApiDocument:
    """The parsed description, what version it is, and what was repaired in it."""

    source: str
    root: Node
    version: str  # "2.0", "3.0.x" or "3.1.x" as the document states it
    repairs: list[str] = field(default_factory=list)

    @property
    def swagger2(self) -> bool:
        return self.version.startswith("2")

    @property
    def title(self) -> str:
        info = self.root.get("info")
        title = info.get("title") if isinstance(info, dict) else None
        return str(title) if title else "the API"

    def repaired(self, what: str) -> None:
        if what not in self.repairs:  # a schema reached from many places is one repair
            self.repairs.append(what)

    def resolve(self, node: Any, seen: tuple[str, ...] = ()) -> tuple[Any, str]:
        """``node`` with its ``$ref`` chain followed (local refs only), and the name of the
        last component reached (``"Invoice"`` for ``#/components/schemas/Invoice``), or "".

        A remote, dangling or circular ``$ref`` resolves to ``{}`` (anything) and is
        reported: one bad reference should not cost the other hundred operations.
        """
        name = ""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref: str = node["$ref"]
            if ref in seen:
                self.repaired(f"circular $ref {ref}: read as any value")
                return {}, name
            seen = (*seen, ref)
            if not ref.startswith("#"):
                self.repaired(f"$ref {ref} points outside the document: not fetched, any value")
                return {}, name
            target = self._pointer(ref)
            if target is None:
                self.repaired(f"dangling $ref {ref}: read as any value")
                return {}, name
            name = unquote(ref.rsplit("/", 1)[-1]).replace("~1", "/").replace("~0", "~")
            node = target
        return node, name

    def _pointer(self, ref: str) -> Any:
        node: Any = self.root
        for raw in ref[1:].split("/")[1:]:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node


def mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one: descriptions put anything anywhere."""
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def count(value: Any) -> int | None:
    """A non-negative integer keyword value (``maxLength``), or None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def load_document(location: str) -> OpenApiDocument:
    """Read, parse and repair the description at ``location`` (a path or an http(s) URL)."""
    data = _fetch(location) if _is_url(location) else _read(location)
    root = _parse(data, location)
    version = str(root.get("openapi") or root.get("swagger") or "")
    if not version.startswith(("2", "3.0", "3.1")):
        raise GeneratorError(
            f"{location}: not an OpenAPI 3.0/3.1 or Swagger 2.0 description "
            f"(found openapi/swagger version {version or 'none'!r})"
        )
    if not isinstance(root.get("paths"), dict):
        raise GeneratorError(f"{location}: the description has no paths")
    document = OpenApiDocument(location, root, version)
    _repair_booleans(document, root, "#")
    return document


def _read(location: str) -> bytes:
    path = Path(location)
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise GeneratorError(f"{location}: larger than {MAX_DOCUMENT_BYTES} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise GeneratorError(f"{location}: cannot read ({exc.strerror})") from None


def _fetch(url: str) -> bytes:
    accept = {"Accept": "application/json, application/yaml, text/yaml, */*"}
    request = urllib.request.Request(url, headers=accept)  # noqa: S310 - http(s) only
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


def _parse(data: bytes, location: str) -> Node:
    text = data.decode("utf-8-sig", errors="replace")
    try:
        if text.lstrip().startswith("{"):
            parsed = json.loads(text)
        else:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            parsed = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except (ValueError, yaml.YAMLError) as exc:
        raise GeneratorError(f"{location}: neither JSON nor YAML ({exc})") from None
    if not isinstance(parsed, dict):
        raise GeneratorError(f"{location}: the document is not a mapping")
    return parsed


def _repair_booleans(document: OpenApiDocument, node: Any, where: str) -> None:
    """``"true"``/``"false"`` where a boolean belongs: keyword values, and the
    ``default``/``example``/``enum`` of boolean schemas (Xero's 23 such values)."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            _repair_booleans(document, item, f"{where}/{index}")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in BOOLEAN_KEYWORDS and value in ("true", "false"):
            node[key] = value == "true"
            document.repaired(f"{where}/{key}: the string {value!r} read as a boolean")
    if node.get("type") == "boolean":
        for key in ("default", "example"):
            if node.get(key) in ("true", "false"):
                value = node[key]
                node[key] = value == "true"
                document.repaired(f"{where}/{key}: the string {value!r} read as a boolean")
    for key, value in node.items():
        if isinstance(value, dict | list):
            _repair_booleans(document, value, f"{where}/{str(key).replace('/', '~1')}")


def _is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
