"""XSD simple types as Python type expressions that keep their restrictions.

``char4`` becomes ``Annotated[str, Field(max_length=4)]``, ``curr11.2`` becomes
``Annotated[Decimal, Field(max_digits=11, decimal_places=2)]``, an enumeration becomes a
``Literal`` of its values, and an XSD pattern becomes an anchored regular expression.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from adapters.codegen.xsd import Facets, SimpleType

_STRINGS = {
    "string", "normalizedString", "token", "language", "Name", "NCName", "NMTOKEN",
    "NMTOKENS", "ID", "IDREF", "IDREFS", "ENTITY", "ENTITIES", "anyURI", "QName",
    "NOTATION", "duration", "gYear", "gYearMonth", "gMonth", "gMonthDay", "gDay",
}  # fmt: skip
_INT_BOUNDS: dict[str, tuple[int | None, int | None]] = {
    "integer": (None, None),
    "long": (-(2**63), 2**63 - 1),
    "int": (-(2**31), 2**31 - 1),
    "short": (-(2**15), 2**15 - 1),
    "byte": (-(2**7), 2**7 - 1),
    "nonNegativeInteger": (0, None),
    "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0),
    "negativeInteger": (None, -1),
    "unsignedLong": (0, 2**64 - 1),
    "unsignedInt": (0, 2**32 - 1),
    "unsignedShort": (0, 2**16 - 1),
    "unsignedByte": (0, 2**8 - 1),
}
_OTHER = {
    "boolean": "bool",
    "decimal": "Decimal",
    "float": "float",
    "double": "float",
    "date": "date",
    "dateTime": "datetime",
    "time": "time",
    "base64Binary": "bytes",
    "hexBinary": "bytes",
}


@dataclass(slots=True)
class Imports:
    """What the emitted module needs from the standard library and pydantic."""

    names: set[str] = field(default_factory=set)
    dropped: list[str] = field(default_factory=list)  # restrictions we could not express

    def use(self, *names: str) -> None:
        self.names.update(names)


def base_python(builtin: str) -> str:
    if builtin in _STRINGS:
        return "str"
    if builtin in _INT_BOUNDS:
        return "int"
    return _OTHER.get(builtin, "Any")


def simple_expression(simple: SimpleType, imports: Imports) -> str:
    """A type expression for ``simple``; names it uses are recorded in ``imports``."""
    if simple.builtin == "list" and simple.item is not None:
        inner = simple_expression(simple.item, imports)
        return _annotated(f"list[{inner}]", _length_args(simple.facets), imports)
    if simple.builtin == "union":
        members = list(dict.fromkeys(simple_expression(m, imports) for m in simple.members))
        return " | ".join(members) if members else "str"
    python = base_python(simple.builtin)
    if python in ("Decimal", "date", "datetime", "time", "Any"):
        imports.use(python)
    facets = simple.facets
    if facets.enumeration is not None and python in ("str", "int", "bool"):
        imports.use("Literal")
        values = [_literal(v, python) for v in dict.fromkeys(facets.enumeration)]
        return f"Literal[{', '.join(values)}]"
    if facets.enumeration is not None:
        imports.dropped.append(f"enumeration on {simple.builtin} {simple.name or ''}".strip())
    if facets.patterns and python != "str":
        imports.dropped.append(f"pattern on {simple.builtin} {simple.name or ''}".strip())
    args: list[str] = []
    if python == "str":
        args += _length_args(facets)
        pattern = translate_patterns(facets.patterns[-1]) if facets.patterns else None
        if facets.patterns and pattern is None:
            imports.dropped.append(f"pattern {facets.patterns[-1]!r}")
        elif pattern is not None:
            args.append(f"pattern={py_pattern(pattern)}")
        # an empty element is the empty string in a reply, where zeep reads it as None
        # (the constraints first, so they stay string constraints with string messages)
        imports.use("Annotated", "BeforeValidator", "xml_text")
        if not args:
            return "Annotated[str, BeforeValidator(xml_text)]"
        imports.use("Field")
        return f"Annotated[str, Field({', '.join(args)}), BeforeValidator(xml_text)]"
    elif python == "int":
        args += _int_args(simple.builtin, facets)
    elif python in ("Decimal", "float"):
        if python == "Decimal" and facets.total_digits is not None:
            args.append(f"max_digits={facets.total_digits}")
        if python == "Decimal" and facets.fraction_digits is not None:
            args.append(f"decimal_places={facets.fraction_digits}")
        args += _bound_args(facets, python, imports)
    return _annotated(python, args, imports)


def py_string(text: str) -> str:
    """A double-quoted Python string literal (JSON's escapes are all valid Python)."""
    return json.dumps(text)


def py_pattern(pattern: str) -> str:
    """A regular expression as a raw string literal where possible, for readability."""
    if '"' in pattern or pattern.endswith("\\") or not pattern.isascii():
        return py_string(pattern)
    return f'r"{pattern}"'


def _annotated(python: str, args: list[str], imports: Imports) -> str:
    if not args:
        return python
    imports.use("Annotated", "Field")
    return f"Annotated[{python}, Field({', '.join(args)})]"


def _literal(value: str, python: str) -> str:
    if python == "int":
        return str(int(value))
    if python == "bool":
        return "True" if value in ("true", "1") else "False"
    return py_string(value)


def _length_args(facets: Facets) -> list[str]:
    low = facets.length if facets.length is not None else facets.min_length
    high = facets.length if facets.length is not None else facets.max_length
    args = []
    if low:
        args.append(f"min_length={low}")
    if high is not None:
        args.append(f"max_length={high}")
    return args


def _int_args(builtin: str, facets: Facets) -> list[str]:
    low, high = _INT_BOUNDS.get(builtin, (None, None))
    for text, is_low, inclusive in (
        (facets.min_inclusive, True, True),
        (facets.min_exclusive, True, False),
        (facets.max_inclusive, False, True),
        (facets.max_exclusive, False, False),
    ):
        if text is None:
            continue
        value = int(text) + (0 if inclusive else (1 if is_low else -1))
        if is_low:
            low = value if low is None else max(low, value)
        else:
            high = value if high is None else min(high, value)
    if facets.total_digits is not None:
        limit = 10**facets.total_digits - 1
        low = -limit if low is None else max(low, -limit)
        high = limit if high is None else min(high, limit)
    return ([f"ge={low}"] if low is not None else []) + ([f"le={high}"] if high is not None else [])


def _bound_args(facets: Facets, python: str, imports: Imports) -> list[str]:
    args = []
    for text, key in (
        (facets.min_inclusive, "ge"),
        (facets.min_exclusive, "gt"),
        (facets.max_inclusive, "le"),
        (facets.max_exclusive, "lt"),
    ):
        if text is None:
            continue
        try:
            float(text)
        except ValueError:
            continue
        args.append(
            f"{key}=Decimal({py_string(text)})" if python == "Decimal" else f"{key}={float(text)!r}"
        )
    return args


_XSD_ESCAPES = {
    "i": "[A-Za-z_:]",
    "I": "[^A-Za-z_:]",
    "c": "[-A-Za-z0-9._:]",
    "C": "[^-A-Za-z0-9._:]",
}


def translate_patterns(step: tuple[str, ...]) -> str | None:
    """The patterns of one restriction step (any may match) as one anchored expression."""
    parts = [translate_pattern(p) for p in step]
    if not parts or any(p is None for p in parts):
        return None
    if len(parts) == 1:
        return parts[0]
    return "^(?:" + "|".join(f"(?:{p[4:-2]})" for p in parts if p) + ")$"


def translate_pattern(pattern: str) -> str | None:
    """An XSD regular expression as an anchored Python/Rust one, or None if we cannot.

    XSD patterns match the whole value, have no anchors (``^`` and ``$`` are plain
    characters) and add ``\\i``/``\\c``, Unicode block escapes and class subtraction.
    Block escapes and subtraction are not translated: the pattern is then dropped and
    reported, rather than enforced wrongly.
    """
    if "\\p{Is" in pattern or "\\P{Is" in pattern:
        return None
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(
                _XSD_ESCAPES.get(nxt, "\\" + nxt)
                if not in_class or nxt not in "iIcC"
                else "\\" + nxt
            )
            i += 2
            continue
        if char == "[" and in_class:
            return None  # class subtraction, `[a-z-[aeiou]]`: an escaped `\\-[` is not one
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char in "^$" and not (in_class and char == "^" and out[-1:] == ["["]):
            char = "\\" + char
        out.append(char)
        i += 1
    translated = f"^(?:{''.join(out)})$"
    try:
        re.compile(translated)
    except re.error:
        return None
    return translated
