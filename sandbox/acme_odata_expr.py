"""The sandbox's reading of OData URL syntax: literals, key predicates and ``$filter``.

Deliberately its own small parser (not the gateway's builder run backwards), so a test
that sends a hostile value through the gateway sees what a real service would make of
the URL: a value that escaped its quotes would change the result, and a URL that is not
OData is refused with 400. Supported: ``eq ne gt ge lt le``, ``and``, ``or``, ``not``,
parentheses, ``contains``/``substringof``/``startswith``/``endswith``, and the literals
of both versions (``'it''s'``, ``12.5M``, ``10L``, ``guid'…'``, ``datetime'…'``,
``datetimeoffset'…'``, bare V4 GUIDs and dates, ``true``/``false``/``null``, enum
``Ns.Type'Member'``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["ExprError", "parse_filter", "parse_key"]

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>'(?:[^']|'')*')
  | (?P<typed>(?:guid|datetime|datetimeoffset|time|binary|X)'[^']*')
  | (?P<enum>[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)+'[A-Za-z_]\w*')
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
  | (?P<datetime>[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9:.]+(?:Z|[+-][0-9]{2}:[0-9]{2}))?)
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?[MmLlDdFf]?)
  | (?P<name>[A-Za-z_][\w]*(?:/[A-Za-z_][\w]*)*)
  | (?P<punct>[(),=])
    )""",
    re.VERBOSE,
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}
_FUNCTIONS = frozenset({"contains", "substringof", "startswith", "endswith"})


class ExprError(ValueError):
    """The text is not OData the sandbox understands (answered with 400)."""


class _Literal:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _tokens(text: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExprError(f"syntax error at position {position}")
        position = match.end()
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
    return found


def literal_value(kind: str, text: str) -> Any:
    """A literal token's value in the sandbox's stored form (str, int, Decimal …)."""
    if kind == "string":
        return text[1:-1].replace("''", "'")
    if kind == "typed":
        prefix, _, rest = text.partition("'")
        return rest[:-1] if prefix != "datetime" or "Z" in rest else rest[:-1] + "Z"
    if kind == "enum":
        return text.split("'")[1]
    if kind in ("guid", "datetime"):
        return text
    if kind == "number":
        body = text.rstrip("MmLlDdFf")
        try:
            return int(body) if re.fullmatch(r"-?[0-9]+", body) else Decimal(body)
        except InvalidOperation as exc:
            raise ExprError(f"bad number {text!r}") from exc
    if kind == "name" and text in ("true", "false"):
        return text == "true"
    if kind == "name" and text == "null":
        return None
    raise ExprError(f"{text!r} is not a literal")


def parse_key(text: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """``'4711'`` or ``SalesOrderID='1',ItemNo=10`` as {key property: value}."""
    tokens = _tokens(text)
    if len(keys) == 1 and len(tokens) == 1:
        return {keys[0]: literal_value(*tokens[0])}
    found: dict[str, Any] = {}
    index = 0
    while index < len(tokens):
        if index + 2 >= len(tokens) or tokens[index + 1] != ("punct", "="):
            raise ExprError("bad key predicate")
        found[tokens[index][1]] = literal_value(*tokens[index + 2])
        index += 3
        if index < len(tokens):
            if tokens[index] != ("punct", ","):
                raise ExprError("bad key predicate")
            index += 1
    if set(found) != set(keys):
        raise ExprError(f"the key is {', '.join(keys)}")
    return found


def parse_filter(text: str, known: Callable[[str], bool]) -> Predicate:
    """A predicate over stored rows; ``known`` says which property names exist."""
    parser = _Parser(_tokens(text), known)
    predicate = parser.disjunction()
    if parser.position != len(parser.tokens):
        raise ExprError("unexpected text after the filter expression")
    return predicate


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]], known: Callable[[str], bool]) -> None:
        self.tokens = tokens
        self.position = 0
        self.known = known

    def peek(self) -> tuple[str, Any]:
        return self.tokens[self.position] if self.position < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, Any]:
        token = self.peek()
        if token[0] == "end":
            raise ExprError("the filter ends too early")
        self.position += 1
        return token

    def expect(self, punct: str) -> None:
        if self.take() != ("punct", punct):
            raise ExprError(f"expected {punct!r}")

    def disjunction(self) -> Predicate:
        left = self.conjunction()
        while self.peek() == ("name", "or"):
            self.take()
            left = _either(left, self.conjunction())
        return left

    def conjunction(self) -> Predicate:
        left = self.unary()
        while self.peek() == ("name", "and"):
            self.take()
            left = _both(left, self.unary())
        return left

    def unary(self) -> Predicate:
        if self.peek() == ("name", "not"):
            self.take()
            inner = self.unary()
            return lambda row: not inner(row)
        if self.peek() == ("punct", "("):
            self.take()
            inner = self.disjunction()
            self.expect(")")
            return inner
        return self.comparison()

    def operand(self) -> Callable[[Row], Any]:
        kind, text = self.take()
        if kind == "name" and text in _FUNCTIONS:
            return self.function(text)
        if kind == "name" and text not in ("true", "false", "null"):
            if not self.known(text):
                raise ExprError(f"property {text!r} does not exist")
            return lambda row: _path(row, text)
        value = literal_value(kind, text)
        return lambda row: value

    def function(self, name: str) -> Callable[[Row], Any]:
        self.expect("(")
        first = self.operand()
        self.expect(",")
        second = self.operand()
        self.expect(")")
        if name == "substringof":  # V2: substringof(needle, haystack)
            first, second = second, first

        def apply(row: Row) -> bool:
            hay, needle = first(row), second(row)
            if not isinstance(hay, str) or not isinstance(needle, str):
                return False
            if name in ("contains", "substringof"):
                return needle.lower() in hay.lower()
            return hay.startswith(needle) if name == "startswith" else hay.endswith(needle)

        return apply

    def comparison(self) -> Predicate:
        left = self.operand()
        kind, op = self.peek()
        if kind != "name" or op not in _COMPARE:
            return lambda row: left(row) is True  # a bare boolean function call
        self.take()
        right = self.operand()
        compare = _COMPARE[op]
        return lambda row: compare(_comparable(left(row)), _comparable(right(row)))


def _either(first: Predicate, second: Predicate) -> Predicate:
    return lambda row: first(row) or second(row)


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda row: first(row) and second(row)


def _path(row: Row, name: str) -> Any:
    value: Any = row
    for step in name.split("/"):
        value = value.get(step) if isinstance(value, Mapping) else None
    return value


def _comparable(value: Any) -> Any:
    """Stored decimals are strings; compare them as numbers when they look like one."""
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+\.[0-9]+", value):
        return Decimal(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(value)
    return value
