"""Edm types as the shared simple-type model, so the shared samples and naming apply.

Each Edm primitive maps to the XSD built-in with the same value space, its CSDL facets
to XSD facets: ``MaxLength`` → max length, ``Precision``/``Scale`` → total and fraction
digits (``Scale="variable"`` → no limit on decimals), an ``EnumType`` → an enumeration of
its member names (how V4 JSON writes them), ``Edm.Guid`` → a UUID pattern.
"""

from __future__ import annotations

import re

from adapters.codegen.modelplan import SENSITIVE_NAMES, FieldPlan
from adapters.codegen.naming import field_name
from adapters.codegen.odata.csdl import Property, Service
from adapters.codegen.pytypes import Imports, base_python, py_pattern, py_string
from adapters.codegen.xsd import Facets, SimpleType

GUID = "[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
_EDM = {
    "Edm.String": "string",
    "Edm.Boolean": "boolean",
    "Edm.Byte": "unsignedByte",
    "Edm.SByte": "byte",
    "Edm.Int16": "short",
    "Edm.Int32": "int",
    "Edm.Int64": "long",
    "Edm.Decimal": "decimal",
    "Edm.Double": "double",
    "Edm.Single": "float",
    "Edm.DateTime": "dateTime",
    "Edm.DateTimeOffset": "dateTime",
    "Edm.Date": "date",
    "Edm.TimeOfDay": "time",
    "Edm.Time": "duration",  # V2: a time of day written as a duration (PT12H30M)
    "Edm.Duration": "duration",
    "Edm.Guid": "string",
    "Edm.Binary": "base64Binary",
}
FILTERABLE = frozenset(
    {"Edm.String", "Edm.Boolean", "Edm.Byte", "Edm.SByte", "Edm.Int16", "Edm.Int32",
     "Edm.Int64", "Edm.Decimal", "Edm.DateTime", "Edm.DateTimeOffset", "Edm.Date",
     "Edm.Guid"}
)  # fmt: skip
"""Edm types whose values the runtime writes as ``$filter`` and key literals."""
_RUNTIME_TYPES = {"datetime": "ODataDateTime", "date": "ODataDate", "bytes": "ODataBinary"}
_BOUNDS = {
    "unsignedByte": (0, 255),
    "byte": (-128, 127),
    "short": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
}
SKIPPED = ("Edm.Stream",)  # media content is not a JSON property


def simple_type(service: Service, prop: Property) -> SimpleType | None:
    """The simple type of a primitive or enum property; None for structured types."""
    typedef = service.typedefs.get(prop.type)
    if typedef is not None:
        merged = Property(prop.name, typedef.type, prop.collection, prop.nullable,
                          prop.max_length or typedef.max_length,
                          prop.precision or typedef.precision,
                          prop.scale if prop.scale is not None else typedef.scale)  # fmt: skip
        return simple_type(service, merged)
    enum = service.enums.get(prop.type)
    if enum is not None:
        if enum.flags:
            return SimpleType("string", name=enum.qname)  # "Red,Blue": any combination
        return SimpleType("string", Facets(enumeration=tuple(enum.members)), name=enum.qname)
    builtin = _EDM.get(prop.type)
    if builtin is None:
        return None
    if prop.type == "Edm.Guid":
        return SimpleType(builtin, Facets(patterns=((GUID,),)), name=prop.type)
    if builtin == "string":
        return SimpleType(builtin, Facets(max_length=prop.max_length), name=prop.type)
    if builtin == "decimal":
        facets = Facets(total_digits=prop.precision, fraction_digits=prop.scale)
        return SimpleType(builtin, facets, name=prop.type)
    return SimpleType(builtin, name=prop.type)


def expression(simple: SimpleType, imports: Imports, *, answer: bool = True) -> str:
    """A pydantic type expression keeping the facets (no XML-specific validators).

    In what the service answers (``answer``), dates and binary use the runtime's types,
    which read ``/Date(ms)/`` and base64; in what agents send, plain ``datetime`` and
    ``date`` (validated strictly from ISO 8601: a before-validator would defeat strict
    JSON parsing) and base64 text read as bytes.
    """
    python = base_python(simple.builtin)
    facets = simple.facets
    if facets.enumeration is not None:
        imports.use("Literal")
        return f"Literal[{', '.join(py_string(v) for v in facets.enumeration)}]"
    if python in _RUNTIME_TYPES and (answer or python == "bytes"):
        imports.use(_RUNTIME_TYPES[python])
        return _RUNTIME_TYPES[python]
    if python in ("Decimal", "time", "date", "datetime"):
        imports.use(python)
    args: list[str] = []
    if python == "str" and facets.max_length is not None:
        args.append(f"max_length={facets.max_length}")
    if python == "str" and facets.patterns:
        args.append(f"pattern={py_pattern('^' + facets.patterns[0][0] + '$')}")
    if simple.builtin in _BOUNDS:
        low, high = _BOUNDS[simple.builtin]
        args += [f"ge={low}", f"le={high}"]
    if python == "Decimal" and facets.total_digits is not None:
        args.append(f"max_digits={facets.total_digits}")
    if python == "Decimal" and facets.fraction_digits is not None:
        args.append(f"decimal_places={facets.fraction_digits}")
    if not args:
        return python
    imports.use("Annotated", "Field")
    return f"Annotated[{python}, Field({', '.join(args)})]"


def sensitive(fp: FieldPlan, label: str) -> str:
    """The Sensitive category the name or the label suggests (``Tax number``, ``E-Mail``).

    Only free text: an enumeration or a flag is not personal data.
    """
    simple = fp.simple
    if simple is None or base_python(simple.builtin) != "str" or simple.facets.enumeration:
        return ""
    names = [field_name(fp.alias).rstrip("_"), re.sub(r"[^a-z0-9]+", "_", label.lower())]
    for category, pattern in SENSITIVE_NAMES:
        if any(pattern.search(name) for name in names if name):
            return category
    return ""
