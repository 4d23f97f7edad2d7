"""The XSD type model the emitters work from (read by :mod:`adapters.codegen.schemaset`).

zeep's own schema model is built to (de)serialize XML and drops what a model
needs to validate (length, pattern, digits and value facets), so we keep our own small
model that holds every restriction: facets, occurrence bounds, nillability, ``xs:choice``,
extension, abstract types and the documentation. Names are ``{namespace}local``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lxml import etree

from adapters.codegen.loader import XSD_NS, GeneratorError

SOAP_ENC_NS = "http://schemas.xmlsoap.org/soap/encoding/"
ANY_TYPE = f"{{{XSD_NS}}}anyType"
UNBOUNDED = None


@dataclass(frozen=True, slots=True)
class Facets:
    """The constraining facets of a simple type, after its whole restriction chain."""

    length: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    patterns: tuple[tuple[str, ...], ...] = ()  # steps ANDed; patterns in one step ORed
    enumeration: tuple[str, ...] | None = None
    total_digits: int | None = None
    fraction_digits: int | None = None
    min_inclusive: str | None = None
    max_inclusive: str | None = None
    min_exclusive: str | None = None
    max_exclusive: str | None = None


@dataclass(frozen=True, slots=True)
class SimpleType:
    """A simple type: a built-in at its root, facets, or a list or union of simple types."""

    builtin: str
    facets: Facets = Facets()
    name: str | None = None
    item: SimpleType | None = None
    members: tuple[SimpleType, ...] = ()
    documentation: str = ""


@dataclass(slots=True)
class ElementUse:
    """An element where it occurs: in a content model, or as a WSDL message part."""

    name: str
    type: str | SimpleType | ComplexType
    min_occurs: int = 1
    max_occurs: int | None = 1
    nillable: bool = False
    documentation: str = ""


@dataclass(slots=True)
class Wildcard:
    """``xs:any``: content the schema does not describe."""

    min_occurs: int = 1
    max_occurs: int | None = 1


@dataclass(slots=True)
class Group:
    """A model group; ``choice`` keeps its branches so the emitter can enforce one of them."""

    kind: Literal["sequence", "choice", "all"]
    items: list[ElementUse | Group | Wildcard] = field(default_factory=list)
    min_occurs: int = 1
    max_occurs: int | None = 1


@dataclass(slots=True)
class AttributeUse:
    name: str
    type: str | SimpleType
    required: bool = False
    documentation: str = ""


@dataclass(slots=True)
class ComplexType:
    """A complex type; ``base`` is the extended complex type, ``value`` simple content."""

    name: str | None = None
    abstract: bool = False
    base: str | None = None
    content: Group | None = None
    attributes: list[AttributeUse] = field(default_factory=list)
    value: SimpleType | None = None
    documentation: str = ""


def qname_tag(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}" if namespace else local


def local_name(qname: str) -> str:
    return qname.rsplit("}", 1)[-1]


def documentation(element: etree._Element) -> str:
    """The text of an element's ``xs:annotation/xs:documentation``, whitespace folded."""
    texts = [
        " ".join("".join(doc.itertext()).split())
        for doc in element.iterfind(f"{{{XSD_NS}}}annotation/{{{XSD_NS}}}documentation")
    ]
    return " ".join(t for t in texts if t)


def resolve_qname(element: etree._Element, value: str) -> str:
    """A QName attribute value (``tns:char4``) as ``{namespace}local``, per the element's scope."""
    prefix, _, local = value.rpartition(":")
    namespace = element.nsmap.get(prefix or None)
    if namespace is None:
        if prefix:
            raise GeneratorError(f"unknown namespace prefix {prefix!r} in {value!r}")
        namespace = ""
    return qname_tag(namespace, local)
