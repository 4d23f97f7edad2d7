"""Which pydantic classes and aliases to generate, with their fields, from the XSD model.

Only what the operations reach is generated (plus the subtypes of reached types, since a
schema may send any subtype where its base is declared). Content models are flattened
into fields: ``minOccurs="0"`` makes a field optional, ``maxOccurs>1`` a list, a choice
keeps its branches for a validator that allows exactly one, ``xs:any`` opens the class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.codegen.naming import Names, class_name, field_name
from adapters.codegen.pytypes import Imports, base_python, simple_expression
from adapters.codegen.schemaset import SchemaSet
from adapters.codegen.sensitive import SENSITIVE_NAMES as SENSITIVE_NAMES  # re-exported
from adapters.codegen.sensitive import guess_sensitive
from adapters.codegen.wsdl import ServiceOperation
from adapters.codegen.xsd import (
    ANY_TYPE,
    ComplexType,
    ElementUse,
    Group,
    SimpleType,
    Wildcard,
    local_name,
)

MAX_UNION_SUBTYPES = 8
SIMPLE_CONTENT_ALIAS = "_value_1"  # zeep's name for the text of a simple-content element
WILDCARD_NOTE = "Content the schema leaves open (xs:any), passed on unchecked."
RESERVED_MODULE_NAMES = frozenset(
    {"Annotated", "Any", "CanonicalModel", "ConfigDict", "Decimal", "Field", "Literal",
     "Self", "WsdlModel", "check_choice", "date", "datetime", "model_validator", "time"}
)  # fmt: skip


@dataclass(slots=True)
class FieldPlan:
    name: str
    alias: str
    annotation: str
    required: bool
    description: str = ""
    simple: SimpleType | None = None
    complex: ClassPlan | None = None
    min_occurs: int = 1
    max_occurs: int | None = 1
    nillable: bool = False
    union: list[ClassPlan] = field(default_factory=list)  # concrete classes accepted
    attribute: bool = False
    sensitive: str = ""  # a schemas.common.Sensitive category, guessed from name or docs


@dataclass(slots=True)
class ClassPlan:
    name: str
    xsd_name: str
    documentation: str = ""
    base: ClassPlan | None = None
    abstract: bool = False
    fields: list[FieldPlan] = field(default_factory=list)
    choices: list[tuple[tuple[tuple[str, ...], ...], bool, bool]] = field(default_factory=list)
    subtypes: list[ClassPlan] = field(default_factory=list)
    filled: bool = False

    def all_fields(self) -> list[FieldPlan]:
        return (self.base.all_fields() if self.base else []) + self.fields

    def all_choices(self) -> list[tuple[tuple[tuple[str, ...], ...], bool, bool]]:
        return (self.base.all_choices() if self.base else []) + self.choices


@dataclass(slots=True)
class OperationModels:
    operation: ServiceOperation
    input: ClassPlan
    output: ClassPlan
    unwrapped_output: tuple[str, ...]  # the children zeep unwraps from the reply element


class ModelPlan:
    """Plans classes and simple-type aliases; emission order puts base classes first."""

    def __init__(self, schemas: SchemaSet) -> None:
        self.schemas = schemas
        self.imports = Imports()
        self.names = Names(RESERVED_MODULE_NAMES)
        self.aliases: dict[str, tuple[str, str]] = {}  # xsd qname -> (python name, expression)
        self.classes: list[ClassPlan] = []
        self._by_type: dict[int, ClassPlan] = {}
        self._derived = self._derived_index()

    def _derived_index(self) -> dict[str, list[str]]:
        derived: dict[str, list[str]] = {}
        for name in self.schemas.complex_names():
            base = self.schemas.complex_type(name).base
            if base is not None:
                derived.setdefault(base, []).append(name)
        return derived

    # -- operations ---------------------------------------------------------------------

    def operation(self, op: ServiceOperation, op_class: str) -> OperationModels:
        request = self._message_class(op.input, f"{op_class}Input")
        reply = self._message_class(op.output, f"{op_class}Output")
        single = len(op.output) == 1 and not op.reply_headers
        return OperationModels(op, request, reply, _unwrapped(reply) if single else ())

    def _message_class(self, parts: list[ElementUse], fallback: str) -> ClassPlan:
        if len(parts) == 1:
            type_ = self.schemas.type_of(parts[0].type)
            if isinstance(type_, ComplexType) and not type_.abstract:
                return self.complex_class(type_, parts[0].name)
        wrapper = ComplexType(documentation="The body parts of the message.")
        wrapper.content = Group("sequence", list(parts))
        return self.complex_class(wrapper, fallback)

    # -- types --------------------------------------------------------------------------

    def complex_class(self, type_: ComplexType, element_name: str = "") -> ClassPlan:
        known = self._by_type.get(id(type_))
        if known is not None:
            return known
        xsd_name = local_name(type_.name) if type_.name else element_name
        plan = ClassPlan(self.names.take(class_name(xsd_name)), xsd_name, type_.documentation)
        plan.abstract = type_.abstract
        self._by_type[id(type_)] = plan
        if type_.base is not None:
            plan.base = self.complex_class(self.schemas.complex_type(type_.base))
        self._fill(plan, type_)
        self.classes.append(plan)  # after its base: bases are always emitted first
        for sub in self._derived.get(type_.name or "", []):
            plan.subtypes.append(self.complex_class(self.schemas.complex_type(sub)))
        return plan

    def _fill(self, plan: ClassPlan, type_: ComplexType) -> None:
        taken = {f.alias for f in (plan.base.all_fields() if plan.base else [])}
        names = Names({f.name for f in (plan.base.all_fields() if plan.base else [])})
        if type_.value is not None:
            self._add(plan, names, taken, ElementUse(SIMPLE_CONTENT_ALIAS, type_.value), 1, 1)
        for attribute in type_.attributes:
            use = ElementUse(attribute.name, attribute.type, documentation=attribute.documentation)
            if self._add(plan, names, taken, use, 1 if attribute.required else 0, 1):
                plan.fields[-1].attribute = True
        if type_.content is not None:
            self._flatten(plan, names, taken, type_.content, optional=False, repeated=False)

    def _flatten(
        self,
        plan: ClassPlan,
        names: Names,
        taken: set[str],
        group: Group,
        *,
        optional: bool,
        repeated: bool,
    ) -> list[str]:
        optional = optional or group.min_occurs == 0
        repeated = repeated or group.max_occurs != 1
        if group.kind == "choice":
            branches: list[tuple[str, ...]] = []
            emptiable = False
            for item in group.items:
                branch = self._item(plan, names, taken, item, optional=True, repeated=repeated)
                emptiable = emptiable or _emptiable(item)
                if branch:
                    branches.append(tuple(branch))
            if len(branches) > 1:
                required = not optional and not emptiable
                plan.choices.append((tuple(branches), required, not repeated))
            return [name for branch in branches for name in branch]
        added: list[str] = []
        for item in group.items:
            added += self._item(plan, names, taken, item, optional=optional, repeated=repeated)
        return added

    def _item(
        self,
        plan: ClassPlan,
        names: Names,
        taken: set[str],
        item: ElementUse | Group | Wildcard,
        *,
        optional: bool,
        repeated: bool,
    ) -> list[str]:
        if isinstance(item, Wildcard):
            # zeep calls xs:any content `_value_N`; a closed field keeps the class closed.
            count = 1 + sum(f.alias.startswith("_value_") for f in plan.all_fields())
            use = ElementUse(f"_value_{count}", ANY_TYPE, documentation=WILDCARD_NOTE)
            low = 0 if optional else item.min_occurs
            high = None if repeated else item.max_occurs
            added = self._add(plan, names, taken, use, low, high, python_name="any_content")
            return [added] if added else []
        if isinstance(item, Group):
            return self._flatten(plan, names, taken, item, optional=optional, repeated=repeated)
        low = 0 if optional else item.min_occurs
        high = None if repeated and item.max_occurs != 0 else item.max_occurs
        added = self._add(plan, names, taken, item, low, high)
        return [added] if added else []

    def _add(
        self,
        plan: ClassPlan,
        names: Names,
        taken: set[str],
        use: ElementUse,
        low: int,
        high: int | None,
        *,
        python_name: str = "",
    ) -> str | None:
        if use.name in taken or high == 0:
            return None
        taken.add(use.name)
        python = python_name or field_name(use.name)
        if python in RESERVED_MODULE_NAMES:  # `date: date` would shadow the type in the class
            python += "_"
        name = names.take(python)
        fp = FieldPlan(name, use.name, "", low >= 1, use.documentation)
        fp.min_occurs, fp.max_occurs, fp.nillable = low, high, use.nillable
        item = self._type_expression(use, fp)
        if high != 1:
            item = f"list[{item}]"
        if low == 0 or use.nillable:
            item = f"{item} | None"
        fp.annotation = item
        fp.sensitive = _sensitive(fp)
        plan.fields.append(fp)
        return fp.name

    def _type_expression(self, use: ElementUse, fp: FieldPlan) -> str:
        ref = use.type
        if ref == ANY_TYPE:
            self.imports.use("Any")
            return "Any"
        type_ = self.schemas.type_of(ref)
        if isinstance(type_, SimpleType):
            fp.simple = type_
            if (
                isinstance(ref, str)
                and type_.name
                and not type_.name.startswith("{http://www.w3.org/2001/XMLSchema}")
            ):
                return self._alias(ref, type_)
            return simple_expression(type_, self.imports)
        plan = self.complex_class(type_, use.name)
        fp.complex = plan
        if not plan.abstract:
            # A concrete base stays itself: sending a subtype in its place needs an
            # xsi:type that a plain mapping cannot carry, so the base is the honest contract.
            return plan.name
        concrete = [c for c in self._descendants(plan) if not c.abstract]
        if 1 <= len(concrete) <= MAX_UNION_SUBTYPES:
            fp.union = concrete
            return " | ".join(c.name for c in concrete)
        if len(concrete) > MAX_UNION_SUBTYPES:
            note = (
                f"Polymorphic: the schema accepts any of {len(concrete)} subtypes of "
                f"{plan.name} here; narrow the type to the ones you use."
            )
            fp.description = f"{fp.description} {note}".strip()
        return plan.name

    def _descendants(self, plan: ClassPlan) -> list[ClassPlan]:
        out: list[ClassPlan] = []
        for sub in plan.subtypes:
            out += [sub, *self._descendants(sub)]
        return out

    def _alias(self, qname: str, simple: SimpleType) -> str:
        if qname not in self.aliases:
            name = self.names.take(class_name(local_name(qname), "Value"))
            self.aliases[qname] = (name, simple_expression(simple, self.imports))
        return self.aliases[qname][0]


def _sensitive(fp: FieldPlan) -> str:
    """The Sensitive category a text field's name or documentation suggests (VAT number,
    IBAN, e-mail...); see :mod:`adapters.codegen.sensitive`. Only free text."""
    simple = fp.simple
    if simple is None or base_python(simple.builtin) != "str" or simple.facets.enumeration:
        return ""
    return guess_sensitive(fp.alias, f"{fp.description} {simple.documentation}")


def _unwrapped(reply: ClassPlan) -> tuple[str, ...]:
    """The path zeep strips from a reply (``zeep.wsdl.messages.soap``, ``deserialize``).

    A reply element with one child (element or attribute) is answered by that child's
    value; if that value is itself a record with exactly one element and no attributes,
    by that element's value (NAV ``CreateMultiple_Result`` answers the list of customers
    inside its ``Customer_List``).
    """
    fields = reply.all_fields()
    if len(fields) != 1:
        return ()
    only = fields[0]
    inner = only.complex.all_fields() if only.complex and not only.union else []
    if only.max_occurs == 1 and len(inner) == 1 and not inner[0].attribute:
        return (only.alias, inner[0].alias)
    return (only.alias,)


def _emptiable(item: ElementUse | Group | Wildcard) -> bool:
    if isinstance(item, ElementUse | Wildcard):
        return item.min_occurs == 0
    if item.min_occurs == 0:
        return True
    if item.kind == "choice":
        return any(_emptiable(i) for i in item.items)
    return all(_emptiable(i) for i in item.items)
