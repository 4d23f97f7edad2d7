"""JSON Schema (as OpenAPI writes it) → pydantic classes and type expressions.

The same classes the WSDL generator plans (:class:`adapters.codegen.modelplan.ClassPlan`),
so the one emitter writes both. Constraints are kept as pydantic arguments:
``maxLength``/``minLength``/``pattern`` on text, ``minimum``/``maximum`` (inclusive or
exclusive, in the 3.0 and the 3.1 spelling)/``multipleOf`` on numbers, ``enum`` as a
``Literal``, ``minItems``/``maxItems`` on lists, ``format`` date, date-time, uuid and
decimal as ``date``, ``datetime``, ``UUID`` and ``Decimal``. ``nullable`` (3.0) and
``type: [..., "null"]`` (3.1) become ``| None``.

A schema with ``readOnly`` properties is planned twice, by role: the input variant
(``…Input``) leaves them out, the output variant keeps them (``writeOnly`` the other
way round); a schema without either is one class for both roles.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, Literal

from adapters.codegen.modelplan import ClassPlan, FieldPlan
from adapters.codegen.naming import Names, class_name, field_name
from adapters.codegen.openapi.document import Node, OpenApiDocument, count, mapping
from adapters.codegen.pytypes import Imports, py_pattern, py_string
from adapters.codegen.sensitive import guess_sensitive

Role = Literal["input", "output"]

RESERVED_MODULE_NAMES = frozenset(
    {"Annotated", "Any", "CanonicalModel", "ConfigDict", "Decimal", "Field", "Literal",
     "OpenApiModel", "PlainSerializer", "Self", "UUID", "date", "datetime", "json_number",
     "model_validator"}
)  # fmt: skip
_SCALARS = ("string", "integer", "number", "boolean")
_JS_LITERAL = re.compile(r"/(\^.*\$)/[gimsuy]*")


def schema_types(schema: Node) -> tuple[list[str], bool]:
    """The JSON types a schema allows (inferred when ``type`` is missing) and whether
    null is one of them (3.0 ``nullable``, 3.1 ``"null"`` in ``type`` or ``enum``)."""
    raw = schema.get("type")
    types = [raw] if isinstance(raw, str) else [t for t in raw or [] if isinstance(t, str)]
    nullable = schema.get("nullable") is True or "null" in types
    enum = schema.get("enum")
    if isinstance(enum, list) and None in enum:
        nullable = True
    types = [t for t in types if t != "null"]
    if not types:
        if "properties" in schema or "additionalProperties" in schema:
            types = ["object"]
        elif "items" in schema:
            types = ["array"]
        elif isinstance(enum, list) and enum:
            types = ["string" if any(isinstance(v, str) for v in enum) else "integer"]
    return types, nullable


def excluded(schema: Node, role: Role) -> bool:
    """Whether a property is left out of the model for this role."""
    return schema.get("readOnly") is True if role == "input" else schema.get("writeOnly") is True


class SchemaPlanner:
    """Plans the classes the selected operations reach, once each per role."""

    def __init__(self, document: OpenApiDocument) -> None:
        self.doc = document
        self.imports = Imports()
        self.names = Names(RESERVED_MODULE_NAMES)
        self.classes: list[ClassPlan] = []
        self.field_schemas: dict[int, Node] = {}  # id(FieldPlan) -> its property schema
        self.class_schemas: dict[str, tuple[Node, Role]] = {}  # class name -> its schema
        self._planned: dict[tuple[object, Role], ClassPlan] = {}
        self._role_bound: dict[int, bool] = {}
        self.tags: dict[int, tuple[str, list[str]]] = {}  # id(variant schema) -> its tags
        self.relaxed: dict[int, set[str]] = {}  # id(body schema) -> properties made optional

    # -- classes -------------------------------------------------------------------------

    def object_class(self, node: Any, hint: str, role: Role, *, name: str = "") -> ClassPlan | None:
        """The class for an object schema (following ``$ref``s and a lone ``allOf``),
        or None if the schema is not an object with properties; ``name`` forces the
        class name (an operation's input and output)."""
        schema, ref = self.doc.resolve(node)
        schema, ref = self._single_all_of(schema, ref)
        if not isinstance(schema, dict) or not self._is_record(schema):
            return None
        role_key: Role = role if self._role_matters(schema) else "output"
        key = (ref or id(schema), role_key)
        known = self._planned.get(key)
        if known is not None:
            return known
        base_name = name or class_name(ref or hint)
        if role_key == "input" and role == "input" and not name:
            base_name += "Input"
        documentation = _doc(schema) or f"The {ref or hint} object of the API."
        plan = ClassPlan(self.names.take(base_name), ref or hint, documentation)
        self._planned[key] = plan
        self.class_schemas[plan.name] = (schema, role)
        self._fill(plan, schema, role)
        self.classes.append(plan)
        return plan

    def _single_all_of(self, schema: Any, ref: str) -> tuple[Any, str]:
        while (
            isinstance(schema, dict)
            and isinstance(schema.get("allOf"), list)
            and len(schema["allOf"]) == 1
            and "properties" not in schema
        ):
            schema, inner = self.doc.resolve(schema["allOf"][0])
            ref = inner or ref
        return schema, ref

    def _is_record(self, schema: Node) -> bool:
        if isinstance(schema.get("properties"), dict) and schema["properties"]:
            return True
        parts = schema.get("allOf")
        if isinstance(parts, list) and parts:
            return any(
                isinstance(p, dict) and self._is_record(p)
                for p in (self.doc.resolve(part)[0] for part in parts)
            )
        return False

    def _role_matters(self, schema: Node, depth: int = 0) -> bool:
        """Whether ``readOnly``/``writeOnly`` appears in this schema's properties, nested."""
        known = self._role_bound.get(id(schema))
        if known is not None:
            return known
        self._role_bound[id(schema)] = False  # a cycle adds nothing
        found = False
        for child in _children(schema):
            resolved, _ = self.doc.resolve(child)
            if not isinstance(resolved, dict) or depth > 40:
                continue
            if (
                resolved.get("readOnly") is True
                or resolved.get("writeOnly") is True
                or (isinstance(child, dict) and child.get("readOnly") is True)
                or self._role_matters(resolved, depth + 1)
            ):
                found = True
                break
        self._role_bound[id(schema)] = found
        return found

    def _fill(self, plan: ClassPlan, schema: Node, role: Role) -> None:
        properties, required = self.collect(schema)
        required -= self.relaxed.get(id(schema), set())
        names = Names()
        for alias, prop in properties.items():
            resolved, _ = self.doc.resolve(prop)
            if not isinstance(resolved, dict):
                resolved = {}
            if excluded(resolved, role) or (isinstance(prop, dict) and excluded(prop, role)):
                continue
            self.add_field(plan, names, alias, prop, alias in required, role)

    def collect(self, schema: Node, depth: int = 0) -> tuple[dict[str, Any], set[str]]:
        """The properties and required names of an object schema, ``allOf`` parts merged."""
        properties: dict[str, Any] = {}
        required: set[str] = set()
        for part in schema.get("allOf") or [] if depth < 20 else []:
            resolved, _ = self.doc.resolve(part)
            if isinstance(resolved, dict):
                more, needed = self.collect(resolved, depth + 1)
                properties.update(more)
                required |= needed
        if isinstance(schema.get("properties"), dict):
            properties.update(schema["properties"])
        if isinstance(schema.get("required"), list):
            required |= {r for r in schema["required"] if isinstance(r, str)}
        return properties, required

    def add_field(
        self, plan: ClassPlan, names: Names, alias: str, prop: Any, required: bool, role: Role
    ) -> FieldPlan:
        resolved, _ = self.doc.resolve(prop)
        resolved = resolved if isinstance(resolved, dict) else {}
        description = _doc(prop if isinstance(prop, dict) and "description" in prop else resolved)
        python = field_name(str(alias))
        if python in RESERVED_MODULE_NAMES:  # `date: date` would shadow the type in the class
            python += "_"
        fp = FieldPlan(names.take(python), str(alias), "", required, description)
        fp.min_occurs = 1 if required else 0
        hint = f"{plan.name}{class_name(str(alias), 'Value')}"
        expression, nullable = self.expression(prop, hint, role, fp)
        if nullable or not required:
            expression = f"{expression} | None" if expression != "Any" else "Any"
        fp.nillable = nullable
        fp.annotation = expression
        fp.sensitive = _sensitive(fp, resolved)
        self.field_schemas[id(fp)] = prop if isinstance(prop, dict) else {}
        plan.fields.append(fp)
        return fp

    def empty_class(self, name: str, documentation: str, role: Role) -> ClassPlan:
        """A class without fields: an operation that takes or answers nothing."""
        plan = ClassPlan(self.names.take(name), name, documentation)
        self.class_schemas[plan.name] = ({"type": "object", "properties": {}}, role)
        self.classes.append(plan)
        return plan

    # -- type expressions ----------------------------------------------------------------

    def expression(
        self, node: Any, hint: str, role: Role, fp: FieldPlan | None = None
    ) -> tuple[str, bool]:
        """A type expression for ``node`` (without the ``| None`` of nullability) and
        whether the schema allows null."""
        schema, ref = self.doc.resolve(node)
        if not isinstance(schema, dict):
            self.imports.use("Any")
            return "Any", True
        schema, ref = self._single_all_of(schema, ref)
        outer_nullable = isinstance(node, dict) and node.get("nullable") is True
        types, nullable = schema_types(schema)
        nullable = nullable or outer_nullable
        plan = self.object_class(node, hint, role)
        if plan is not None:
            if fp is not None:
                fp.complex = plan
            return plan.name, nullable
        variants = schema.get("oneOf") or schema.get("anyOf")
        if isinstance(variants, list) and variants:
            return self._union(schema, variants, hint, role, fp), nullable
        if "object" in types:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                inner, inner_null = self.expression(extra, f"{hint}Value", role)
                return f"dict[str, {inner}{' | None' if inner_null else ''}]", nullable
            self.imports.use("Any")
            return "dict[str, Any]", nullable
        if "array" in types:
            inner, inner_null = self.expression(schema.get("items") or {}, f"{hint}Item", role, fp)
            inner = f"{inner} | None" if inner_null and inner != "Any" else inner
            args = _bounds(schema, ("minItems", "min_length"), ("maxItems", "max_length"))
            return self._annotated(f"list[{inner}]", args), nullable
        scalar = next((t for t in types if t in _SCALARS), None)
        if scalar is None:
            self.imports.use("Any")
            return "Any", True
        return self._scalar(schema, scalar, hint), nullable

    def _union(
        self, schema: Node, variants: list[Any], hint: str, role: Role, fp: FieldPlan | None
    ) -> str:
        members: list[str] = []
        classes: list[ClassPlan] = []
        for index, variant in enumerate(variants):
            expression, nullable = self.expression(variant, f"{hint}Option{index + 1}", role)
            members.append(expression)
            if nullable and expression != "Any":
                members.append("None")
            plan = self.object_class(variant, f"{hint}Option{index + 1}", role)
            if plan is not None:
                classes.append(plan)
        unique = list(dict.fromkeys(members))
        if "Any" in unique:
            return "Any"
        if fp is not None and classes:
            fp.union = classes
        union = " | ".join(unique)
        discriminator = schema.get("discriminator")
        if (
            isinstance(discriminator, dict)
            and isinstance(discriminator.get("propertyName"), str)
            and len(classes) == len(variants) >= 2
        ):
            tagged = self._tag_variants(discriminator, variants, classes)
            if tagged:
                self.imports.use("Annotated", "Field")
                return f"Annotated[{union}, Field(discriminator={py_string(tagged)})]"
        return union

    def _tag_variants(
        self, discriminator: Node, variants: list[Any], classes: list[ClassPlan]
    ) -> str:
        """Make the discriminator a ``Literal`` of each variant's tags; the field's Python
        name, or "" if the variants cannot be told apart by it."""
        prop = discriminator["propertyName"]
        tag_map = mapping(discriminator.get("mapping"))
        python = ""
        for variant, plan in zip(variants, classes, strict=True):
            ref = variant.get("$ref", "") if isinstance(variant, dict) else ""
            tags = [str(tag) for tag, target in tag_map.items() if target == ref]
            tags = tags or [ref.rsplit("/", 1)[-1] or plan.xsd_name]
            fp = next((f for f in plan.all_fields() if f.alias == prop), None)
            if fp is None:
                return ""
            self.imports.use("Literal")
            fp.annotation = f"Literal[{', '.join(py_string(t) for t in tags)}]"
            fp.required, fp.min_occurs = True, 1
            self.field_schemas[id(fp)] = {"type": "string", "enum": tags}
            python = fp.name
            resolved, _ = self.doc.resolve(variant)
            self.tags[id(resolved)] = (prop, tags)
        return python

    def _scalar(self, schema: Node, scalar: str, hint: str) -> str:
        enum = schema.get("enum")
        if isinstance(enum, list) and [v for v in enum if v is not None]:
            literal = self._literal(schema, scalar, [v for v in enum if v is not None], hint)
            if literal:
                return literal
        fmt = str(schema.get("format") or "")
        if scalar == "boolean":
            return "bool"
        if scalar == "string":
            special = {"date": "date", "date-time": "datetime", "uuid": "UUID"}.get(fmt)
            if special:
                self.imports.use(special)
                return special
            if fmt == "decimal":
                return self._decimal(schema, as_number=False)
            args = _bounds(schema, ("minLength", "min_length"), ("maxLength", "max_length"))
            pattern = self.pattern(schema, hint)
            if pattern:
                if _compiles(pattern):
                    args.append(f"pattern={py_pattern(pattern)}")
                else:
                    self.imports.dropped.append(f"pattern {pattern!r} on {hint}")
            return self._annotated("str", args)
        if scalar == "number" and fmt == "decimal":
            return self._decimal(schema, as_number=True)
        python = "int" if scalar == "integer" else "float"
        return self._annotated(python, _numeric_args(schema, python))

    def pattern(self, schema: Node, hint: str) -> str:
        """The schema's pattern; one written as a JavaScript literal (``/^[0-9]{5}$/``, as
        Shipwire does) loses its slashes, since taken literally it could never match."""
        pattern = schema.get("pattern")
        if not isinstance(pattern, str):
            return ""
        literal = _JS_LITERAL.fullmatch(pattern)
        if literal:
            self.doc.repaired(f"{hint}: pattern {pattern!r} read as {literal.group(1)!r}")
            schema["pattern"] = pattern = literal.group(1)
        return pattern

    def _decimal(self, schema: Node, *, as_number: bool) -> str:
        self.imports.use("Decimal")
        args = _numeric_args(schema, "Decimal")
        expression = self._annotated("Decimal", args)
        if not as_number:
            return expression
        # a JSON number on the wire: pydantic would write a Decimal as a string
        self.imports.use("Annotated", "PlainSerializer", "json_number")
        inner = (
            expression[len("Annotated[") : -1] if expression.startswith("Annotated[") else "Decimal"
        )
        return f"Annotated[{inner}, PlainSerializer(json_number, when_used='json')]"

    def _literal(self, schema: Node, scalar: str, values: list[Any], hint: str) -> str:
        if scalar in ("integer", "number") and all(
            isinstance(v, int) and not isinstance(v, bool) for v in values
        ):
            self.imports.use("Literal")
            return f"Literal[{', '.join(str(v) for v in dict.fromkeys(values))}]"
        if scalar != "string":
            self.imports.dropped.append(f"enum on {scalar} {hint}")
            return ""
        texts: list[str] = []
        for value in values:
            if not isinstance(value, str):
                self.doc.repaired(
                    f"{hint}: enum value {value!r} of a string read as {_text(value)!r}"
                )
            texts.append(_text(value))
        self.imports.use("Literal")
        return f"Literal[{', '.join(py_string(t) for t in dict.fromkeys(texts))}]"

    def _annotated(self, python: str, args: list[str]) -> str:
        if not args:
            return python
        self.imports.use("Annotated", "Field")
        return f"Annotated[{python}, Field({', '.join(args)})]"


def _children(schema: Node) -> list[Any]:
    out: list[Any] = []
    if isinstance(schema.get("properties"), dict):
        out += list(schema["properties"].values())
    for key in ("allOf", "oneOf", "anyOf"):
        if isinstance(schema.get(key), list):
            out += schema[key]
    if isinstance(schema.get("items"), dict):
        out.append(schema["items"])
    return out


def _doc(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    text = schema.get("description") or schema.get("title") or ""
    return " ".join(str(text).split())


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def _number(value: Any) -> int | float | None:
    """A finite number from a keyword's value (YAML may say ``.inf``), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(value) if isinstance(value, str) else None
        except ValueError:
            return None
    return value if value is not None and math.isfinite(value) else None


def _bounds(schema: Node, *pairs: tuple[str, str]) -> list[str]:
    args = []
    for keyword, argument in pairs:
        value = count(schema.get(keyword))
        if value is not None and not (argument == "min_length" and value == 0):
            args.append(f"{argument}={value}")
    return args


def _numeric_args(schema: Node, python: str) -> list[str]:
    """``ge``/``gt``/``le``/``lt``/``multiple_of`` from either spelling of exclusivity:
    3.0 ``exclusiveMinimum: true`` beside ``minimum``, 3.1 ``exclusiveMinimum: 5``."""
    args: list[str] = []
    for bound, exclusive, inclusive_arg, exclusive_arg in (
        ("minimum", "exclusiveMinimum", "ge", "gt"),
        ("maximum", "exclusiveMaximum", "le", "lt"),
    ):
        flag = schema.get(exclusive)
        value = _number(schema.get(bound))
        if flag is not None and not isinstance(flag, bool) and _number(flag) is not None:
            value, flag = _number(flag), True
        if value is not None:
            args.append(
                f"{exclusive_arg if flag is True else inclusive_arg}={_literal(value, python)}"
            )
    step = _number(schema.get("multipleOf"))
    if step is not None and step > 0:
        args.append(f"multiple_of={_literal(step, python)}")
    return args


def _literal(value: float, python: str) -> str:
    if python == "Decimal":
        exact = Decimal(repr(value) if isinstance(value, float) else str(value))
        return f"Decimal({py_string(format(exact, 'f'))})"
    if python == "int":
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return repr(float(value))


def _sensitive(fp: FieldPlan, schema: Node) -> str:
    """The Sensitive category a free-text field's name or description suggests (VAT number,
    IBAN, e-mail); see :mod:`adapters.codegen.sensitive`."""
    types, _ = schema_types(schema)
    if types != ["string"] or schema.get("enum") or schema.get("format") in ("date", "date-time"):
        return ""
    return guess_sensitive(fp.alias, fp.description)
