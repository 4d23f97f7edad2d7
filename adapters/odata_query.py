"""Key predicates and system query options, built only from names and typed values.

A ``$filter`` is never text an agent wrote: it is a tree of :class:`Filter` nodes made
by :func:`eq`, :func:`ne`, :func:`gt` … :func:`startswith`, :func:`contains`,
:func:`all_of` and :func:`any_of`, each checking its property name against
``adapters.odata_types.IDENTIFIER`` and rendering its value with
``adapters.odata_types.literal``. A hostile value (``x' or 1 eq 1 or 'a``) stays inside
one quoted string literal; a hostile name is refused. The same holds for key
predicates (:func:`key_predicate`), ``$select``/``$expand`` (names only) and
``$orderby`` (a name and ``asc``/``desc``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from adapters.odata_types import EdmType, ODataVersion, identifier, literal

__all__ = [
    "Filter",
    "Query",
    "all_of",
    "any_of",
    "contains",
    "eq",
    "ge",
    "gt",
    "key_predicate",
    "le",
    "lt",
    "ne",
    "startswith",
]

_COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})


@dataclass(frozen=True, slots=True)
class Filter:
    """One ``$filter`` expression, rendered for a protocol version by :meth:`text`."""

    op: str
    name: str = ""
    value: Any = None
    edm: EdmType = "Edm.String"
    parts: tuple[Filter, ...] = ()

    def text(self, version: ODataVersion) -> str:
        if self.op in ("and", "or"):
            return f" {self.op} ".join(f"({p.text(version)})" for p in self.parts)
        value = literal(self.value, self.edm, version)
        if self.op in _COMPARISONS:
            return f"{self.name} {self.op} {value}"
        if self.op == "contains":
            if version == "2.0":
                return f"substringof({value},{self.name})"
            return f"contains({self.name},{value})"
        return f"startswith({self.name},{value})" + (" eq true" if version == "2.0" else "")


def _compare(op: str, name: str, value: Any, edm: EdmType) -> Filter:
    return Filter(op, identifier(name), value, edm)


def eq(name: str, value: Any, edm: EdmType = "Edm.String") -> Filter:
    return _compare("eq", name, value, edm)


def ne(name: str, value: Any, edm: EdmType = "Edm.String") -> Filter:
    return _compare("ne", name, value, edm)


def gt(name: str, value: Any, edm: EdmType = "Edm.String") -> Filter:
    return _compare("gt", name, value, edm)


def ge(name: str, value: Any, edm: EdmType = "Edm.String") -> Filter:
    return _compare("ge", name, value, edm)


def lt(name: str, value: Any, edm: EdmType = "Edm.String") -> Filter:
    return _compare("lt", name, value, edm)


def le(name: str, value: Any, edm: EdmType = "Edm.String") -> Filter:
    return _compare("le", name, value, edm)


def contains(name: str, value: str) -> Filter:
    """Substring match (V4 ``contains``, V2 ``substringof``) on a string property."""
    return Filter("contains", identifier(name), value, "Edm.String")


def startswith(name: str, value: str) -> Filter:
    return Filter("startswith", identifier(name), value, "Edm.String")


def all_of(*parts: Filter) -> Filter | None:
    """``and`` of the parts given (None parts are skipped); None when none remain."""
    kept = tuple(p for p in parts if p is not None)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else Filter("and", parts=kept)


def any_of(*parts: Filter) -> Filter | None:
    kept = tuple(p for p in parts if p is not None)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else Filter("or", parts=kept)


def key_predicate(
    key: Mapping[str, Any], types: Mapping[str, EdmType], version: ODataVersion
) -> str:
    """``('4711')`` for a single key property, ``(SalesOrder='1',Item='10')`` for a
    compound one; percent-encoded for the URL path. Every key property must be given."""
    if not key:
        raise ValueError("a key predicate needs at least one key property")
    rendered = {
        identifier(n): literal(v, types.get(n, "Edm.String"), version) for n, v in key.items()
    }
    if len(rendered) == 1:
        inner = next(iter(rendered.values()))
    else:
        inner = ",".join(f"{n}={v}" for n, v in rendered.items())
    return "(" + quote(inner, safe="'=,:+-.") + ")"


@dataclass(frozen=True, slots=True)
class Query:
    """The system query options of one read; every field already validated input."""

    filter: Filter | None = None
    select: Sequence[str] = ()
    expand: Sequence[str] = ()
    orderby: Sequence[tuple[str, bool]] = ()  # (property, descending)
    top: int | None = None
    skip: int | None = None
    count: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)  # e.g. sap-client

    def params(self, version: ODataVersion) -> list[tuple[str, str]]:
        """The query string pairs (aiohttp percent-encodes them)."""
        pairs: list[tuple[str, str]] = []
        if self.filter is not None:
            pairs.append(("$filter", self.filter.text(version)))
        if self.select:
            pairs.append(("$select", _names(self.select)))
        if self.expand:
            pairs.append(("$expand", _names(self.expand)))
        if self.orderby:
            order = ",".join(f"{identifier(n)} {'desc' if d else 'asc'}" for n, d in self.orderby)
            pairs.append(("$orderby", order))
        for name, number in (("$top", self.top), ("$skip", self.skip)):
            if number is not None:
                if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                    raise ValueError(f"{name} must be a non-negative integer")
                pairs.append((name, str(number)))
        if self.count:
            pairs.append(("$inlinecount", "allpages") if version == "2.0" else ("$count", "true"))
        pairs += [(identifier(k.replace("-", "_")) and k, v) for k, v in self.extra.items()]
        return pairs


def _names(names: Iterable[str]) -> str:
    """Comma-separated names; ``/`` paths (``to_Item/Product``) allowed, each step checked."""
    return ",".join("/".join(identifier(step) for step in n.split("/")) for n in names)
