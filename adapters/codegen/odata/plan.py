"""The operations and classes an OData service gets: per entity set and per function/action.

Per entity set: ``get`` by key, ``query`` (a typed equality filter per filterable
primitive property, ``$top``/``$skip``/``$orderby``), and ``create``/``update``/
``delete`` where ``sap:creatable``/``updatable``/``deletable`` or the Capabilities
Insert/Update/DeleteRestrictions allow. Per V2 FunctionImport and V4 bound or imported
function/action: one operation whose input is the binding entity's key (if bound to one
entity) and its parameters. Read or write and risk are guesses from the method and the
annotations, marked ``# TODO confirm`` in the emitted module.

Facets are kept in the classes: ``Nullable="false"`` is a type without ``None``,
``MaxLength``, ``Precision``/``Scale`` and enum members as pydantic constraints, key
properties required.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from adapters.codegen.modelplan import ClassPlan, FieldPlan
from adapters.codegen.naming import Names, class_name, field_name, identifier_words, snake
from adapters.codegen.odata.csdl import (
    EntitySet,
    Property,
    Service,
    ServiceCallable,
    StructuredType,
)
from adapters.codegen.odata.types import FILTERABLE, SKIPPED, expression, sensitive, simple_type
from adapters.codegen.pytypes import Imports
from adapters.codegen.xsd import SimpleType

MAX_NAME = 64
RESERVED_MODULE_NAMES = frozenset(
    {"Annotated", "Any", "CanonicalModel", "ConfigDict", "Decimal", "Field", "Literal",
     "ODataBinary", "ODataDate", "ODataDateTime", "ODataModel", "date", "datetime", "time"}
)  # fmt: skip
_TYPE_NAMES = frozenset({"date", "datetime", "time"})
_SERIALIZED = frozenset(
    {"ODataDateTime", "ODataBinary", "list[ODataDateTime]", "list[ODataBinary]"}
)
PAGE_LIMIT = 1000
ETAG_DOC = "The record's ETag: pass it back to an update or delete (sent as If-Match)."


@dataclass(slots=True)
class ODataOperationPlan:
    """One generated operation: its gateway name, its OData call and its models."""

    name: str
    function: str
    constant: str
    kind: str  # get | query | create | update | delete | function | action
    input: ClassPlan
    output: ClassPlan
    entity_set: str = ""
    target: str = ""  # function/action name as called on the wire
    method: str = "GET"
    namespace: str = ""  # of a bound V4 function/action
    keys: dict[str, str] = field(default_factory=dict)  # key property -> Edm type
    types: dict[str, str] = field(default_factory=dict)  # property or parameter -> Edm type
    filters: dict[str, str] = field(default_factory=dict)  # filterable property -> Edm type
    bound: bool = False
    collection: bool = False  # the answer is a list (under "value")
    effect: str = "READ"
    risk: str = "LOW"
    idempotent: bool = True
    documentation: str = ""
    reference_property: str = ""  # a create's external-reference property (a guess)


class ServicePlanner:
    """Plans classes for the types the operations reach (one class per type and role)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.imports = Imports()
        self.names = Names(RESERVED_MODULE_NAMES)
        self.classes: list[ClassPlan] = []
        self._types: dict[tuple[str, bool], ClassPlan] = {}

    def structured(self, qname: str, *, answer: bool = True) -> ClassPlan:
        """The class of an entity or complex type, as the service answers it (``answer``)
        or as agents send it (``…Input``: dates read strictly, no ETag)."""
        known = self._types.get((qname, answer))
        if known is not None:
            return known
        type_ = self.service.types[qname]
        doc = _documentation(type_.label, type_.description) or (
            f"The {'entity' if type_.is_entity else 'complex'} type {type_.name}."
        )
        suffix = "" if answer else "Input"
        plan = ClassPlan(self.names.take(class_name(type_.name) + suffix), type_.name, doc)
        self._types[(qname, answer)] = plan
        if type_.base and type_.base in self.service.types:
            plan.base = self.structured(type_.base, answer=answer)
        keys = set(self.service.key_of(type_))
        names = Names({f.name for f in (plan.base.all_fields() if plan.base else [])})
        for prop in type_.properties:
            self.add_field(plan, names, prop, required=prop.name in keys, answer=answer)
        if type_.is_entity and plan.base is None and answer:
            self.etag_field(plan, names)
        self.classes.append(plan)
        plan.filled = True
        return plan

    def add_field(
        self,
        plan: ClassPlan,
        names: Names,
        prop: Property,
        *,
        required: bool,
        nullable: bool = True,
        answer: bool = True,
    ) -> FieldPlan | None:
        """A field for ``prop``; ``nullable`` False refuses null even where the type allows
        it (a filter or a key is a value, never null)."""
        if prop.type in SKIPPED:
            return None
        python = field_name(prop.name)
        if python in _TYPE_NAMES:
            python += "_"  # a field `date: date` would shadow the type in its own annotation
        fp = FieldPlan(names.take(python), prop.name, "", required,
                       _documentation(prop.label, prop.description))  # fmt: skip
        simple = simple_type(self.service, prop)
        if simple is not None:
            fp.simple = simple
            item = expression(simple, self.imports, answer=answer)
        elif prop.type in self.service.types:
            fp.complex = self.structured(prop.type, answer=answer)
            item = fp.complex.name
        else:
            self.imports.use("Any")
            item = "Any"  # Geography, Edm.Untyped, Edm.PrimitiveType
        if prop.collection:
            item = f"list[{item}]"
            fp.max_occurs = None
        fp.min_occurs = 1 if required else 0
        fp.nillable = prop.nullable and nullable and not required
        if answer and not required and item in _SERIALIZED:
            # the runtime's serializer cannot render a None default (JSON Schema of
            # answers): an optional non-nullable date in an answer also accepts null
            fp.nillable = True
        fp.annotation = f"{item} | None" if fp.nillable else item
        fp.sensitive = sensitive(fp, prop.label)
        plan.fields.append(fp)
        return fp

    def deep_record(self, type_: StructuredType) -> ClassPlan:
        """A new record of ``type_`` inside another's create (keys the server may number
        optional, never null), planned once per type."""
        known = self._types.get((type_.qname + "#deep", False))
        if known is not None:
            return known
        keys = set(self.service.key_of(type_))
        props = [p for p in self.service.all_properties(type_) if p.creatable]
        fields = [(p, not p.nullable and p.name not in keys, True) for p in props]
        plan = self.record(f"{class_name(type_.name)}New", f"A new {type_.name}.", fields)
        self._types[(type_.qname + "#deep", False)] = plan
        return plan

    def etag_field(self, plan: ClassPlan, names: Names) -> None:
        """The runtime answers a record's ETag under ``etag`` (unless a property is so named)."""
        if any(f.alias == "etag" for f in plan.all_fields()):
            return
        fp = FieldPlan(names.take("etag"), "etag", "str | None", False, ETAG_DOC)
        fp.min_occurs, fp.nillable = 0, True
        plan.fields.append(fp)

    def empty(self, name: str, doc: str) -> ClassPlan:
        plan = ClassPlan(self.names.take(name), name, doc)
        self.classes.append(plan)
        return plan

    def record(
        self, name: str, doc: str, props: list[tuple[Property, bool, bool]], *, answer: bool = False
    ) -> ClassPlan:
        """A class of ``(property, required, nullable)`` fields, in order; agents' input
        unless ``answer``."""
        plan = ClassPlan(self.names.take(name), name, doc)
        names = Names()
        for prop, required, nullable in props:
            self.add_field(plan, names, prop, required=required, nullable=nullable, answer=answer)
        self.classes.append(plan)
        return plan

    def page(self, name: str, doc: str, item: ClassPlan) -> ClassPlan:
        """A query's answer: ``{"items": [...], "more": bool}`` (``adapters.odata_operation``)."""
        plan = ClassPlan(self.names.take(name), name, doc)
        items = FieldPlan("items", "items", f"list[{item.name}]", True, "The records found.")
        items.complex, items.max_occurs, items.min_occurs = item, None, 0
        more = FieldPlan("more", "more", "bool", True,
                         "More records remain beyond the page cap: go on with skip.")  # fmt: skip
        more.simple = SimpleType("boolean")
        plan.fields += [items, more]
        self.classes.append(plan)
        return plan

    def wrapper(
        self, name: str, doc: str, item: ClassPlan | None, prop: Property | None
    ) -> ClassPlan:
        """``{"value": ...}``: a list of records, or a primitive answer."""
        plan = ClassPlan(self.names.take(name), name, doc)
        if item is not None:
            fp = FieldPlan("value", "value", f"list[{item.name}] | None", False, "The records.")
            fp.complex, fp.max_occurs, fp.min_occurs = item, None, 0
            plan.fields.append(fp)
        elif prop is not None:
            self.add_field(plan, Names(), prop, required=False, answer=True)
        self.classes.append(plan)
        return plan


def _documentation(label: str, description: str) -> str:
    if label and description and description.lower() != label.lower():
        return f"{label}: {description}"
    return label or description


def operation_name(prefix: str, resource: str, verb: str, used: set[str]) -> str:
    """``prefix.resource.verb`` within 64 characters (a tool name every MCP client takes):
    a long resource or verb is cut and marked with a digest of the full name."""
    full = f"{prefix}.{identifier_words(resource)}.{identifier_words(verb)}"
    act = identifier_words(verb)
    res_room = max(4, MAX_NAME - len(prefix) - 2 - min(len(act), 24))
    res = identifier_words(resource)[: min(28, res_room)].strip("_")
    room = MAX_NAME - len(prefix) - len(res) - 2
    if len(act) > room:
        digest = hashlib.sha256(full.encode()).hexdigest()[:6]
        act = f"{act[: max(1, room - 7)].rstrip('_')}_{digest}"
    name = f"{prefix}.{res}.{act}"
    base, n = name, 2
    while name in used:
        name = f"{base[: MAX_NAME - 3]}_{n}"
        n += 1
    used.add(name)
    return name


_REFERENCE = re.compile(
    r"^(external_?(reference|ref|id|document(_?number)?)|purchase_?order_?by_?customer|"
    r"customer_?purchase_?order(_?number)?|your_?reference)$",
    re.IGNORECASE,
)


def reference_property(props: list[Property]) -> str:
    """The creatable text property a create's backend key can go into, so an unknown
    outcome can be looked up before any re-send (``ExternalReference``, SAP's
    ``PurchaseOrderByCustomer``, Business Central's ``externalDocumentNumber``): a guess."""
    for prop in props:
        text = prop.type == "Edm.String" and prop.creatable and not prop.collection
        if text and (_REFERENCE.match(prop.name) or _REFERENCE.match(snake(prop.name))):
            return prop.name
    return ""


def edm_of(service: Service, prop: Property) -> str:
    """The Edm type the runtime renders a literal of: the underlying type of a type
    definition, the qualified name of an enum."""
    typedef = service.typedefs.get(prop.type)
    return typedef.type if typedef is not None else prop.type


def is_filterable(service: Service, prop: Property) -> bool:
    if prop.collection or not prop.filterable:
        return False
    edm = edm_of(service, prop)
    enum = service.enums.get(edm)
    return edm in FILTERABLE or (enum is not None and not enum.flags and not service.v2)


def option_field(plan: ClassPlan, names: Names, alias: str, annotation: str, doc: str) -> None:
    if any(f.alias == alias for f in plan.fields):
        return  # a property of that name: the property wins, the option is not offered
    fp = FieldPlan(names.take(alias), alias, f"{annotation} | None", False, doc)
    fp.min_occurs, fp.nillable = 0, True
    plan.fields.append(fp)


def query_options(
    planner: ServicePlanner, plan: ClassPlan, props: list[Property], *, paging: bool
) -> None:
    """``select`` (property names) and, for a query, ``top`` (1..1000), ``skip`` and
    ``orderby`` (a property, ``desc`` allowed): typed fields, never free text; the
    runtime reads them by these names (``adapters.odata_operation.OPTION_FIELDS``)."""
    names = Names({f.name for f in plan.fields})
    selectable = [p.name for p in props if p.type not in SKIPPED]
    planner.imports.use("Annotated", "Field", "Literal")
    if selectable:
        values = ", ".join(f'"{n}"' for n in selectable)
        option_field(plan, names, "select", f"list[Literal[{values}]]",
                     "Only these properties in the answer ($select).")  # fmt: skip
    if not paging:
        return
    option_field(plan, names, "top", f"Annotated[int, Field(ge=1, le={PAGE_LIMIT})]",
                 "At most this many records ($top).")  # fmt: skip
    option_field(plan, names, "skip", "Annotated[int, Field(ge=0)]",
                 "Skip this many records first ($skip), to page on.")  # fmt: skip
    orderable = [p.name for p in props if is_filterable(planner.service, p)][:60]
    if orderable:
        values = ", ".join(f'"{n}", "{n} desc"' for n in orderable)
        option_field(plan, names, "orderby", f"list[Literal[{values}]]",
                     "Sort by these properties ($orderby; ' desc' for descending).")  # fmt: skip


def set_label(entity_set: EntitySet, type_label: str) -> str:
    return _documentation(entity_set.label or type_label, entity_set.description)


def callable_doc(found: ServiceCallable) -> str:
    return _documentation(found.label, found.description)
