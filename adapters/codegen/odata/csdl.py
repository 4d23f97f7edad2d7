"""Read a CSDL ``$metadata`` document (OData V2 or V4) into a small service model.

The document is untrusted and goes through the WSDL generator's hardened parser
(:func:`adapters.codegen.loader.parse_document`: no DTD, no entities, no network).
Vocabulary ``edmx:Reference``s are never fetched: their ``edmx:Include`` aliases are
mapped to the namespaces we know (Core, Common, Capabilities), and terms are matched by
namespace, so ``SAP__common.Label`` and ``Common.Label`` read the same.

SAP's V2 documents mix the V2 EDM namespace with V4 ``Annotations`` (SOURCES.md of the
corpus): model elements are taken from any EDM namespace, annotation elements from any
namespace, and nothing under an ``Annotations`` block is mistaken for the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from adapters.codegen.loader import MAX_DOCUMENT_BYTES, GeneratorError, parse_document
from adapters.codegen.loader import _fetch as fetch_document

EDMX_NS = (
    "http://schemas.microsoft.com/ado/2007/06/edmx",
    "http://docs.oasis-open.org/odata/ns/edmx",
)
SAP_NS = "http://www.sap.com/Protocols/SAPData"
METADATA_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
CORE, COMMON = "Org.OData.Core.V1", "com.sap.vocabularies.Common.v1"
CAPABILITIES = "Org.OData.Capabilities.V1"
_KNOWN_ALIASES = {"Core": CORE, "Common": COMMON, "Capabilities": CAPABILITIES}


def _edm(namespace: str) -> bool:
    return (
        namespace.startswith("http://schemas.microsoft.com/ado/") and namespace.endswith("/edm")
    ) or namespace == "http://docs.oasis-open.org/odata/ns/edm"


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _ns(element: etree._Element) -> str:
    return etree.QName(element).namespace or "" if isinstance(element.tag, str) else ""


def _children(element: etree._Element, local: str) -> list[etree._Element]:
    return [c for c in element if _local(c) == local and _edm(_ns(c))]


@dataclass(slots=True)
class Property:
    """A structural property or a parameter, with the facets a model must keep."""

    name: str
    type: str  # qualified: Edm.String, or Namespace.Type
    collection: bool = False
    nullable: bool = True
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None  # None for Scale="variable" (any number of decimals)
    label: str = ""
    description: str = ""
    creatable: bool = True
    updatable: bool = True
    filterable: bool = True


@dataclass(frozen=True, slots=True)
class Navigation:
    """A navigation property: where it leads and whether to many."""

    name: str
    target: str  # the entity type's qualified name
    collection: bool


@dataclass(slots=True)
class StructuredType:
    """An entity or complex type; ``key`` is empty for complex types."""

    qname: str
    name: str
    is_entity: bool
    base: str | None = None
    abstract: bool = False
    properties: list[Property] = field(default_factory=list)
    key: list[str] = field(default_factory=list)
    label: str = ""
    description: str = ""
    navigations: list[Navigation] = field(default_factory=list)


@dataclass(slots=True)
class EnumType:
    qname: str
    name: str
    members: list[str]
    flags: bool = False


@dataclass(slots=True)
class EntitySet:
    name: str
    entity_type: str
    creatable: bool = True
    updatable: bool = True
    deletable: bool = True
    label: str = ""
    description: str = ""
    singleton: bool = False


@dataclass(slots=True)
class ServiceCallable:
    """A V2 FunctionImport, or a V4 Function/Action (bound, or unbound via its import)."""

    name: str
    action: bool  # V4 Action, or a V2 FunctionImport sent by POST
    method: str  # GET or POST
    parameters: list[Property] = field(default_factory=list)
    returns: str | None = None
    returns_collection: bool = False
    bound_to: str | None = None  # the entity type a bound operation is called on
    bound_collection: bool = False
    entity_set: str = ""  # V2 EntitySet=, or the set an import answers from
    namespace: str = ""  # of a V4 function/action (a bound call is namespace-qualified)
    imported: bool = False  # unbound: callable from the service root (V2, or a V4 import)
    label: str = ""
    description: str = ""


@dataclass(slots=True)
class Service:
    """What the generator needs from one ``$metadata`` document."""

    source: str
    version: str  # "2.0" or "4.0"
    namespace: str
    types: dict[str, StructuredType] = field(default_factory=dict)
    enums: dict[str, EnumType] = field(default_factory=dict)
    typedefs: dict[str, Property] = field(default_factory=dict)
    entity_sets: list[EntitySet] = field(default_factory=list)
    callables: list[ServiceCallable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def v2(self) -> bool:
        return self.version.startswith(("1", "2", "3"))

    def all_properties(self, type_: StructuredType) -> list[Property]:
        base = self.types.get(type_.base or "")
        return (self.all_properties(base) if base is not None else []) + type_.properties

    def key_of(self, type_: StructuredType) -> list[str]:
        if type_.key:
            return type_.key
        base = self.types.get(type_.base or "")
        return self.key_of(base) if base is not None else []


def read_service(data: bytes, source: str) -> Service:
    """The service model of one ``$metadata`` document (given as bytes: it declares its
    encoding, and TripPin starts with a byte-order mark)."""
    root = parse_document(data, source)
    if _local(root) != "Edmx" or _ns(root) not in EDMX_NS:
        raise GeneratorError(f"{source}: not a CSDL document (no edmx:Edmx root element)")
    reader = _Reader(root, source)
    return reader.service()


class _Reader:
    def __init__(self, root: etree._Element, source: str) -> None:
        self.root = root
        self.aliases: dict[str, str] = dict(_KNOWN_ALIASES)
        for include in root.iter():
            if _local(include) == "Include" and _ns(include) in EDMX_NS:
                namespace = include.get("Namespace") or ""
                self.aliases[include.get("Alias") or namespace] = namespace
        self.schemas = [s for s in root.iter() if _local(s) == "Schema" and _edm(_ns(s))]
        for schema in self.schemas:
            if schema.get("Alias"):
                self.aliases[schema.get("Alias", "")] = schema.get("Namespace", "")
        self.associations: dict[str, dict[str, tuple[str, str]]] = {}
        for schema in self.schemas:
            for association in _children(schema, "Association"):
                qname = f"{schema.get('Namespace', '')}.{association.get('Name', '')}"
                self.associations[qname] = {
                    end.get("Role", ""): (end.get("Type", ""), end.get("Multiplicity", "1"))
                    for end in _children(association, "End")
                }
        self.version = self._version(source)
        self.out = Service(
            source, self.version, self.schemas[0].get("Namespace", "") if self.schemas else ""
        )
        self.annotations: dict[str, list[etree._Element]] = {}
        for block in root.iter():
            if _local(block) == "Annotations" and block.get("Target"):
                target = self.qualify(block.get("Target", ""))
                self.annotations.setdefault(target, []).extend(
                    a for a in block if _local(a) == "Annotation"
                )

    def _version(self, source: str) -> str:
        if self.root.get("Version", "") == "4.0" or _ns(self.root) == EDMX_NS[1]:
            return "4.0"
        for element in self.root.iter():
            version = element.get(f"{{{METADATA_NS}}}DataServiceVersion")
            if version:
                return version
        if not self.schemas:
            raise GeneratorError(f"{source}: the document has no EDM Schema")
        return "2.0"

    def qualify(self, name: str) -> str:
        """``SAP__self.Travel`` → ``com.sap....Travel``; paths after ``/`` kept."""
        head, slash, rest = name.partition("/")
        namespace, dot, local = head.rpartition(".")
        if dot and namespace in self.aliases:
            head = f"{self.aliases[namespace]}.{local}"
        return head + slash + rest

    def type_name(self, raw: str) -> tuple[str, bool]:
        if raw.startswith("Collection(") and raw.endswith(")"):
            return self.qualify(raw[11:-1]), True
        return self.qualify(raw), False

    # -- annotations ------------------------------------------------------------------

    def terms(self, element: etree._Element, target: str) -> dict[str, etree._Element]:
        """The annotations on ``element`` (inline) and on ``target`` (out of line), by
        qualified term without qualifier."""
        found: dict[str, etree._Element] = {}
        inline = [a for a in element if _local(a) == "Annotation"]
        for annotation in [*self.annotations.get(target, []), *inline]:
            if annotation.get("Qualifier"):
                continue
            found[self.qualify(annotation.get("Term", ""))] = annotation
        return found

    def text_of(self, terms: dict[str, etree._Element], term: str) -> str:
        annotation = terms.get(term)
        if annotation is None:
            return ""
        value = annotation.get("String")
        if value is None:
            value = next((c.text or "" for c in annotation if _local(c) == "String"), "")
        return value.strip()

    def allowed(self, terms: dict[str, etree._Element], term: str, flag: str) -> bool:
        """A Capabilities restriction record's ``flag`` (Insertable...), true if absent."""
        annotation = terms.get(f"{CAPABILITIES}.{term}")
        if annotation is None:
            return True
        for record in annotation.iter():
            if _local(record) == "PropertyValue" and record.get("Property") == flag:
                value = record.get("Bool")
                if value is None:
                    value = next((c.text or "" for c in record if _local(c) == "Bool"), "true")
                return value.strip().lower() != "false"
        return True

    def docs(self, element: etree._Element, target: str) -> tuple[str, str]:
        """(label, description): ``sap:label``/``Common.Label``, then ``Core.Description``
        (``sap:quickinfo`` in V2) — what agents read."""
        terms = self.terms(element, target)
        label = element.get(f"{{{SAP_NS}}}label") or self.text_of(terms, f"{COMMON}.Label")
        description = self.text_of(terms, f"{CORE}.Description") or element.get(
            f"{{{SAP_NS}}}quickinfo", ""
        )
        if not description:
            for child in element:
                if _local(child) == "Documentation":
                    parts = [
                        c.text or "" for c in child if _local(c) in ("Summary", "LongDescription")
                    ]
                    description = " ".join(p.strip() for p in parts if p.strip())
        return label.strip(), description.strip()

    # -- the model --------------------------------------------------------------------

    def service(self) -> Service:
        for schema in self.schemas:
            namespace = schema.get("Namespace", "")
            for element in schema:
                if not _edm(_ns(element)):
                    continue
                local = _local(element)
                qname = f"{namespace}.{element.get('Name', '')}"
                if local in ("EntityType", "ComplexType"):
                    self.out.types[qname] = self.structured(element, qname, local == "EntityType")
                elif local == "EnumType":
                    members = [m.get("Name", "") for m in _children(element, "Member")]
                    flags = element.get("IsFlags", "false") == "true"
                    self.out.enums[qname] = EnumType(qname, element.get("Name", ""), members, flags)
                elif local == "TypeDefinition":
                    self.out.typedefs[qname] = self.prop(element, qname)
                elif local in ("Function", "Action"):
                    found = self.v4_callable(element, qname, local == "Action")
                    found.namespace = namespace
                    self.out.callables.append(found)
        for schema in self.schemas:
            for container in _children(schema, "EntityContainer"):
                self.container(container, f"{schema.get('Namespace', '')}.{container.get('Name')}")
        return self.out

    def structured(self, element: etree._Element, qname: str, entity: bool) -> StructuredType:
        label, description = self.docs(element, qname)
        type_ = StructuredType(qname, element.get("Name", ""), entity, label=label,
                               description=description)  # fmt: skip
        type_.base = self.qualify(element.get("BaseType", "")) or None
        type_.abstract = element.get("Abstract", "false") == "true"
        for key in _children(element, "Key"):
            type_.key = [ref.get("Name", "") for ref in _children(key, "PropertyRef")]
        for prop in _children(element, "Property"):
            type_.properties.append(self.prop(prop, f"{qname}/{prop.get('Name', '')}"))
        for nav in _children(element, "NavigationProperty"):
            found = self.navigation(nav)
            if found is not None:
                type_.navigations.append(found)
        return type_

    def navigation(self, element: etree._Element) -> Navigation | None:
        """V4 names the target type; V2 names an association and the role to go to."""
        name = element.get("Name", "")
        if element.get("Type"):
            target, collection = self.type_name(element.get("Type", ""))
            return Navigation(name, target, collection)
        association = self.associations.get(self.qualify(element.get("Relationship", "")), {})
        end = association.get(element.get("ToRole", ""))
        if end is None:
            return None
        return Navigation(name, self.qualify(end[0]), end[1] == "*")

    def prop(self, element: etree._Element, target: str) -> Property:
        type_, collection = self.type_name(
            element.get("Type") or element.get("UnderlyingType") or ""
        )
        label, description = self.docs(element, target)
        prop = Property(element.get("Name", ""), type_, collection, label=label,
                        description=description)  # fmt: skip
        prop.nullable = element.get("Nullable", "true").lower() != "false"
        prop.max_length = _integer(element.get("MaxLength"))
        prop.precision = _integer(element.get("Precision"))
        prop.scale = _integer(element.get("Scale"))
        if element.get("Scale") is None and type_ == "Edm.Decimal" and not self.out.v2:
            prop.scale = 0  # V4: an absent Scale means 0 decimals
        prop.creatable = element.get(f"{{{SAP_NS}}}creatable", "true") != "false"
        prop.updatable = element.get(f"{{{SAP_NS}}}updatable", "true") != "false"
        prop.filterable = element.get(f"{{{SAP_NS}}}filterable", "true") != "false"
        terms = self.terms(element, target)
        computed = terms.get(f"{CORE}.Computed")
        if computed is not None and computed.get("Bool", "true") != "false":
            prop.creatable = prop.updatable = False
        immutable = terms.get(f"{CORE}.Immutable")
        if immutable is not None and immutable.get("Bool", "true") != "false":
            prop.updatable = False
        return prop

    def v4_callable(self, element: etree._Element, qname: str, action: bool) -> ServiceCallable:
        label, description = self.docs(element, qname)
        found = ServiceCallable(element.get("Name", ""), action, "POST" if action else "GET",
                                label=label, description=description)  # fmt: skip
        params = _children(element, "Parameter")
        if element.get("IsBound", "false") == "true" and params:
            found.bound_to, found.bound_collection = self.type_name(params[0].get("Type", ""))
            params = params[1:]
        found.parameters = [self.prop(p, f"{qname}/{p.get('Name', '')}") for p in params]
        for returned in _children(element, "ReturnType"):
            found.returns, found.returns_collection = self.type_name(returned.get("Type", ""))
        return found

    def container(self, container: etree._Element, qname: str) -> None:
        for element in container:
            local = _local(element)
            if not _edm(_ns(element)):
                continue
            if local in ("EntitySet", "Singleton"):
                self.out.entity_sets.append(
                    self.entity_set(element, f"{qname}/{element.get('Name')}")
                )
            elif local == "FunctionImport" and self.out.v2:
                self.out.callables.append(self.v2_import(element, qname))
            elif local in ("FunctionImport", "ActionImport"):
                self.mark_import(element)

    def entity_set(self, element: etree._Element, target: str) -> EntitySet:
        type_ = self.qualify(element.get("EntityType") or element.get("Type") or "")
        label, description = self.docs(element, target)
        found = EntitySet(element.get("Name", ""), type_, label=label, description=description)
        found.singleton = _local(element) == "Singleton"
        found.creatable = element.get(f"{{{SAP_NS}}}creatable", "true") != "false"
        found.updatable = element.get(f"{{{SAP_NS}}}updatable", "true") != "false"
        found.deletable = element.get(f"{{{SAP_NS}}}deletable", "true") != "false"
        terms = self.terms(element, target)
        found.creatable &= self.allowed(terms, "InsertRestrictions", "Insertable")
        found.updatable &= self.allowed(terms, "UpdateRestrictions", "Updatable")
        found.deletable &= self.allowed(terms, "DeleteRestrictions", "Deletable")
        if found.singleton:
            found.creatable = found.deletable = False
        return found

    def v2_import(self, element: etree._Element, container: str) -> ServiceCallable:
        method = (element.get(f"{{{METADATA_NS}}}HttpMethod") or "GET").upper()
        label, description = self.docs(element, f"{container}/{element.get('Name', '')}")
        found = ServiceCallable(element.get("Name", ""), method != "GET", method,
                                label=label, description=description)  # fmt: skip
        found.entity_set = element.get("EntitySet", "")
        found.imported = True
        if element.get("ReturnType"):
            found.returns, found.returns_collection = self.type_name(element.get("ReturnType", ""))
        for param in _children(element, "Parameter"):
            found.parameters.append(self.prop(param, ""))
        return found

    def mark_import(self, element: etree._Element) -> None:
        """A V4 import makes its unbound function or action callable from the root."""
        target = self.qualify(element.get("Function") or element.get("Action") or "")
        name = target.rpartition(".")[2]
        for callable_ in self.out.callables:
            if callable_.name == name and callable_.bound_to is None:
                callable_.entity_set = element.get("EntitySet", "") or callable_.entity_set
                callable_.imported = True
                callable_.label = callable_.label or element.get(f"{{{SAP_NS}}}label", "")


def _integer(text: str | None) -> int | None:
    if text is None or not text.strip().isdigit():
        return None  # "max", "variable", "Variable", "floating"
    return int(text)


def load_service(source: str) -> Service:
    """Read ``$metadata`` from a file or an http(s) URL (fetched once, size-limited)."""
    if urlsplit(source).scheme in ("http", "https"):
        data = fetch_document(source)
    else:
        path = Path(source)
        try:
            if path.stat().st_size > MAX_DOCUMENT_BYTES:
                raise GeneratorError(f"{source}: larger than {MAX_DOCUMENT_BYTES} bytes")
            data = path.read_bytes()
        except OSError as exc:
            raise GeneratorError(f"{source}: cannot read ({exc})") from None
    return read_service(data, source)
