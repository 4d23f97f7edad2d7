"""Read the loaded schemas into the XSD type model, lazily and once per component.

Components are resolved on demand and memoised by qualified name (``{namespace}local``),
so a schema graph as large as NetSuite's is read once, and recursive types terminate:
a complex type is registered before its content is read.
"""

from __future__ import annotations

from dataclasses import replace

from lxml import etree

from adapters.codegen.loader import XSD_NS, GeneratorError, LoadedWsdl, SchemaDocument
from adapters.codegen.xsd import (
    ANY_TYPE,
    SOAP_ENC_NS,
    UNBOUNDED,
    AttributeUse,
    ComplexType,
    ElementUse,
    Group,
    SimpleType,
    Wildcard,
    documentation,
    local_name,
    qname_tag,
    resolve_qname,
)


def _occurs(element: etree._Element) -> tuple[int, int | None]:
    low = int(element.get("minOccurs", "1"))
    high_text = element.get("maxOccurs", "1")
    return low, (UNBOUNDED if high_text == "unbounded" else int(high_text))


def _x(local: str) -> str:
    return f"{{{XSD_NS}}}{local}"


_FACET_INT = {"length", "minLength", "maxLength", "totalDigits", "fractionDigits"}
_FACET_FIELDS = {
    "length": "length",
    "minLength": "min_length",
    "maxLength": "max_length",
    "totalDigits": "total_digits",
    "fractionDigits": "fraction_digits",
    "minInclusive": "min_inclusive",
    "maxInclusive": "max_inclusive",
    "minExclusive": "min_exclusive",
    "maxExclusive": "max_exclusive",
}


class SchemaSet:
    """All global components of the loaded schemas, resolved on demand."""

    def __init__(self, loaded: LoadedWsdl) -> None:
        self._raw: dict[str, dict[str, tuple[etree._Element, SchemaDocument]]] = {
            kind: {} for kind in ("simpleType", "complexType", "element", "group", "attributeGroup")
        }
        for schema in loaded.schemas:
            for child in schema.element:
                if not isinstance(child.tag, str):
                    continue
                kind = etree.QName(child).localname
                if kind in self._raw and child.get("name"):
                    tag = qname_tag(schema.target_namespace, child.get("name", ""))
                    self._raw[kind].setdefault(tag, (child, schema))
        self._simple: dict[str, SimpleType] = {}
        self._complex: dict[str, ComplexType] = {}
        self._elements: dict[str, ElementUse] = {}

    # -- lookups ------------------------------------------------------------------------

    def complex_names(self) -> list[str]:
        return list(self._raw["complexType"])

    def is_complex(self, qname: str) -> bool:
        return qname in self._raw["complexType"]

    def global_element(self, qname: str) -> ElementUse:
        """A global element, as a fresh use (callers set its occurrence bounds)."""
        if qname not in self._elements:
            found = self._raw["element"].get(qname)
            if found is None:
                raise GeneratorError(f"element {qname} is referenced but not declared")
            # A placeholder while its type is read, so a recursive element terminates
            # (the recursive use is typed Any: rare, and better than no model at all).
            self._elements[qname] = ElementUse(name=local_name(qname), type=ANY_TYPE)
            self._elements[qname] = self._element(found[0], found[1], global_=True)
        return replace(self._elements[qname])

    def type_of(self, ref: str | SimpleType | ComplexType) -> SimpleType | ComplexType:
        if not isinstance(ref, str):
            return ref
        if ref in self._raw["complexType"]:
            return self.complex_type(ref)
        return self.simple_type(ref)

    def simple_type(self, qname: str) -> SimpleType:
        if qname in self._simple:
            return self._simple[qname]
        namespace, local = qname[1:].split("}", 1) if qname.startswith("{") else ("", qname)
        if namespace in (XSD_NS, SOAP_ENC_NS):
            built = SimpleType(builtin=local, name=qname)
        elif qname in self._raw["simpleType"]:
            element, schema = self._raw["simpleType"][qname]
            self._simple[qname] = SimpleType(builtin="anySimpleType", name=qname)  # cycle guard
            built = replace(self._simple_body(element, schema), name=qname)
        else:
            raise GeneratorError(f"type {qname} is referenced but not declared")
        self._simple[qname] = built
        return built

    def complex_type(self, qname: str) -> ComplexType:
        if qname in self._complex:
            return self._complex[qname]
        element, schema = self._raw["complexType"][qname]
        built = ComplexType(name=qname)
        self._complex[qname] = built  # registered first: recursive types refer back to it
        self._fill_complex(built, element, schema)
        return built

    # -- simple types -------------------------------------------------------------------

    def _simple_body(self, element: etree._Element, schema: SchemaDocument) -> SimpleType:
        docs = documentation(element)
        restriction = element.find(_x("restriction"))
        if restriction is not None:
            return replace(self._restrict(restriction, schema), documentation=docs)
        listing = element.find(_x("list"))
        if listing is not None:
            item = self._simple_ref(listing, "itemType", schema)
            return SimpleType(builtin="list", item=item, documentation=docs)
        union = element.find(_x("union"))
        if union is not None:
            members = [self.simple_type(resolve_qname(union, m)) for m in _member_types(union)]
            members += [self._simple_body(s, schema) for s in union.iterfind(_x("simpleType"))]
            return SimpleType(builtin="union", members=tuple(members), documentation=docs)
        return SimpleType(builtin="anySimpleType", documentation=docs)

    def _simple_ref(self, element: etree._Element, attr: str, schema: SchemaDocument) -> SimpleType:
        if element.get(attr):
            base = self.type_of(resolve_qname(element, element.get(attr, "")))
            return base.value or SimpleType("string") if isinstance(base, ComplexType) else base
        inline = element.find(_x("simpleType"))
        return self._simple_body(inline, schema) if inline is not None else SimpleType("string")

    def _restrict(self, restriction: etree._Element, schema: SchemaDocument) -> SimpleType:
        base = self._simple_ref(restriction, "base", schema)
        facets: dict[str, object] = {}
        enumeration: list[str] = []
        patterns: list[str] = []
        for facet in restriction:
            if not isinstance(facet.tag, str) or facet.get("value") is None:
                continue
            kind, value = etree.QName(facet).localname, facet.get("value", "")
            if kind == "enumeration":
                enumeration.append(value)
            elif kind == "pattern":
                patterns.append(value)
            elif kind in _FACET_FIELDS:
                facets[_FACET_FIELDS[kind]] = int(value) if kind in _FACET_INT else value
        merged = replace(base.facets, **facets)  # type: ignore[arg-type]
        if enumeration:
            merged = replace(merged, enumeration=tuple(enumeration))
        if patterns:
            merged = replace(merged, patterns=(*merged.patterns, tuple(patterns)))
        return replace(base, facets=merged, name=None)

    # -- complex types ------------------------------------------------------------------

    def _fill_complex(
        self, built: ComplexType, element: etree._Element, schema: SchemaDocument
    ) -> None:
        built.abstract = element.get("abstract") in ("true", "1")
        built.documentation = documentation(element)
        body = element
        simple = element.find(_x("simpleContent"))
        complex_content = element.find(_x("complexContent"))
        if simple is not None:
            derivation = simple.find(_x("extension"))
            if derivation is None:
                derivation = simple.find(_x("restriction"))
            if derivation is not None:
                base = self.type_of(resolve_qname(derivation, derivation.get("base", "")))
                if isinstance(base, ComplexType):
                    built.value = base.value
                    built.attributes.extend(base.attributes)
                else:
                    built.value = base
                if etree.QName(derivation).localname == "restriction":
                    built.value = self._restrict(derivation, schema)
                body = derivation
        elif complex_content is not None:
            derivation = complex_content.find(_x("extension"))
            if derivation is not None:
                base_name = resolve_qname(derivation, derivation.get("base", ""))
                if base_name != ANY_TYPE and self.is_complex(base_name):
                    built.base = base_name
            else:
                derivation = complex_content.find(_x("restriction"))
            if derivation is not None:
                body = derivation
        for child in body:
            if not isinstance(child.tag, str):
                continue
            local = etree.QName(child).localname
            if local in ("sequence", "choice", "all", "group"):
                built.content = self._group(child, schema)
            elif local in ("attribute", "attributeGroup"):
                built.attributes.extend(self._attributes(child, schema))

    def _group(self, element: etree._Element, schema: SchemaDocument) -> Group:
        low, high = _occurs(element)
        local = etree.QName(element).localname
        if local == "group":
            ref = resolve_qname(element, element.get("ref", ""))
            found = self._raw["group"].get(ref)
            if found is None:
                raise GeneratorError(f"group {ref} is referenced but not declared")
            inner = next(
                c for c in found[0] if isinstance(c.tag, str) and c.tag != _x("annotation")
            )
            group = self._group(inner, found[1])
            group.min_occurs, group.max_occurs = low, high
            return group
        group = Group(kind=local, min_occurs=low, max_occurs=high)  # type: ignore[arg-type]
        for child in element:
            if not isinstance(child.tag, str):
                continue
            kind = etree.QName(child).localname
            if kind == "element":
                group.items.append(self._element(child, schema, global_=False))
            elif kind in ("sequence", "choice", "all", "group"):
                group.items.append(self._group(child, schema))
            elif kind == "any":
                group.items.append(Wildcard(*_occurs(child)))
        return group

    def _element(
        self, element: etree._Element, schema: SchemaDocument, *, global_: bool
    ) -> ElementUse:
        low, high = (1, 1) if global_ else _occurs(element)
        if element.get("ref"):
            target = self.global_element(resolve_qname(element, element.get("ref", "")))
            target.min_occurs, target.max_occurs = low, high
            return target
        type_: str | SimpleType | ComplexType
        if element.get("type"):
            type_ = resolve_qname(element, element.get("type", ""))
        elif (inline := element.find(_x("complexType"))) is not None:
            type_ = ComplexType()
            self._fill_complex(type_, inline, schema)
        elif (inline := element.find(_x("simpleType"))) is not None:
            type_ = self._simple_body(inline, schema)
        else:
            type_ = ANY_TYPE
        return ElementUse(
            name=element.get("name", ""),
            type=type_,
            min_occurs=low,
            max_occurs=high,
            nillable=element.get("nillable") in ("true", "1"),
            documentation=documentation(element),
        )

    def _attributes(self, element: etree._Element, schema: SchemaDocument) -> list[AttributeUse]:
        if etree.QName(element).localname == "attributeGroup":
            ref = resolve_qname(element, element.get("ref", ""))
            found = self._raw["attributeGroup"].get(ref)
            if found is None:
                return []
            uses: list[AttributeUse] = []
            for child in found[0]:
                if isinstance(child.tag, str) and etree.QName(child).localname in (
                    "attribute",
                    "attributeGroup",
                ):
                    uses.extend(self._attributes(child, found[1]))
            return uses
        if element.get("use") == "prohibited":
            return []
        name = element.get("name") or local_name(resolve_qname(element, element.get("ref", "")))
        type_: str | SimpleType
        if element.get("type"):
            type_ = resolve_qname(element, element.get("type", ""))
        elif (inline := element.find(_x("simpleType"))) is not None:
            type_ = self._simple_body(inline, schema)
        else:
            type_ = SimpleType("string")
        return [AttributeUse(name, type_, element.get("use") == "required", documentation(element))]


def _member_types(union: etree._Element) -> list[str]:
    return (union.get("memberTypes") or "").split()
