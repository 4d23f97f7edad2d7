"""Render the planned classes and aliases as a ``models.py`` that passes ``ruff check``.

Generated code follows the house conventions: models subclass
``schemas.common.CanonicalModel`` (strict, closed, frozen), fields are snake_case with the
XSD name as alias, the XSD documentation becomes docstrings and field descriptions, and
no line exceeds the project's 100 columns.
"""

from __future__ import annotations

import textwrap
import unicodedata

from adapters.codegen.modelplan import ClassPlan, FieldPlan, ModelPlan
from adapters.codegen.pytypes import py_string

LINE = 100
_ASCII = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "..."})


def plain_text(text: str) -> str:
    """Documentation as printable ASCII: generated files stay free of look-alike characters."""
    text = unicodedata.normalize("NFKC", text).translate(_ASCII)
    return "".join(c for c in text if " " <= c <= "~")


def docstring(text: str, indent: str) -> list[str]:
    text = plain_text(text).replace("\\", "/").replace('"""', "'''").strip() or "No documentation."
    if not text.endswith((".", "!", "?")):
        text += "."
    width = LINE - len(indent) - 6
    lines = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False)
    if len(lines) == 1 and text[-1:] != '"':
        return [f'{indent}"""{lines[0]}"""']
    return [f'{indent}"""{lines[0]}', *(f"{indent}{line}" for line in lines[1:]), f'{indent}"""']


def string_literal(text: str, indent: str) -> list[str]:
    """A string literal, split into implicitly concatenated parts if it is too long."""
    text = plain_text(text)
    width = LINE - len(indent) - 4
    if len(py_string(text)) <= width:
        return [py_string(text)]
    chunks = textwrap.wrap(text, width - 4, drop_whitespace=False, break_on_hyphens=False)
    fitted = [part for chunk in chunks for part in _escaped_fit(chunk, width - 2)]
    return ["(", *(f"    {py_string(c)}" for c in fitted), ")"]


def _escaped_fit(chunk: str, width: int) -> list[str]:
    """``chunk`` in pieces whose literals fit ``width``: quotes and backslashes in the
    documentation take two characters each once escaped."""
    parts: list[str] = []
    while len(py_string(chunk)) > width:
        cut = width - 2
        while len(py_string(chunk[:cut])) > width:
            cut -= 1
        parts.append(chunk[:cut])
        chunk = chunk[cut:]
    return [*parts, chunk]


def _wrap_expression(head: str, expression: str, tail: str, indent: str) -> list[str]:
    """``head + expression + tail`` within the line limit, breaking the type expression
    at its top-level ``|`` (in parentheses) or inside its outermost subscript."""
    line = f"{indent}{head}{expression}{tail}"
    if len(line) <= LINE:
        return [line]
    inner_indent = indent + "    "
    items = _split_top(expression, "|")
    if len(items) > 1:
        body: list[str] = []
        for i, item in enumerate(items):
            body += _wrap_expression("| " if i else "", item.strip(), "", inner_indent)
        return [f"{indent}{head}(", *body, f"{indent}){tail}"]
    if expression.endswith("]") and "[" in expression:
        opener = expression.index("[")
        body = []
        for item in _split_top(expression[opener + 1 : -1], ","):
            body += _wrap_expression("", item.strip(), ",", inner_indent)
        return [f"{indent}{head}{expression[: opener + 1]}", *body, f"{indent}]{tail}"]
    # ruff's E501 skips a line without inner whitespace, and a needless noqa is RUF100
    return [line + "  # noqa: E501" if " " in line.strip() else line]


def _split_top(text: str, separator: str) -> list[str]:
    items, depth, start, quote = [], 0, 0, ""
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote and text[i - 1] != "\\" else quote
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == separator and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item for item in items if item.strip()]


def _field(fp: FieldPlan) -> list[str]:
    lines = _field_lines(fp)
    if fp.sensitive:
        guess = f"    # TODO confirm: sensitive ({fp.sensitive}), guessed from name or docs"
        lines.insert(0, guess)
    return lines


def _field_lines(fp: FieldPlan) -> list[str]:
    annotation = fp.annotation
    if fp.sensitive:
        annotation = f"Annotated[{annotation}, Sensitive({py_string(fp.sensitive)})]"
    args = [] if fp.required else ["default=None"]
    if fp.alias != fp.name:
        args.append(f"alias={py_string(fp.alias)}")
    if fp.min_occurs >= 1 and fp.max_occurs != 1:
        args.append(f"min_length={fp.min_occurs}")
    if fp.max_occurs not in (1, None):
        args.append(f"max_length={fp.max_occurs}")
    if not args and not fp.description:
        return _wrap_expression(f"{fp.name}: ", annotation, "", "    ")
    lines = _wrap_expression(f"{fp.name}: ", annotation, " = Field(", "    ")
    for arg in args:
        lines.append(f"        {arg},")
    if fp.description:
        literal = string_literal(fp.description, " " * 20)  # after `description=`
        if len(literal) == 1:
            lines.append(f"        description={literal[0]},")
        else:
            lines += [
                "        description=(",
                *(f"        {c}" for c in literal[1:-1]),
                "        ),",
            ]
    if len(lines) == 1 + len(args) and len(args) <= 2:
        compact = f"{lines[0]}{', '.join(args)})"
        if len(compact) <= LINE and "\n" not in compact:
            return [compact]
    return [*lines, "    )"]


def _class(plan: ClassPlan, root: str = "WsdlModel") -> list[str]:
    base = plan.base.name if plan.base else root
    doc = plan.documentation or f"The XSD type {plan.xsd_name}."
    if plan.abstract:
        subtypes = ", ".join(s.name for s in plan.subtypes[:12]) or "none generated"
        doc += f" Abstract in the schema: send one of its subtypes ({subtypes})."
    lines = [f"class {plan.name}({base}):", *docstring(doc, "    "), ""]
    for fp in plan.fields:
        lines += _field(fp)
    for n, (branches, required, single) in enumerate(plan.choices, start=1):
        rendered = _tuple_literal(branches)
        lines += ["", '    @model_validator(mode="after")', f"    def _choice_{n}(self) -> Self:"]
        call = f"        check_choice(self, {rendered}, required={required}, single={single})"
        if len(call) <= LINE:
            lines.append(call)
        else:
            lines += [
                "        check_choice(",
                "            self,",
                *_wrap_expression("", rendered, ",", "            "),
                f"            required={required},",
                f"            single={single},",
                "        )",
            ]
        lines.append("        return self")
    if lines[-1] == "":
        lines.pop()
    return lines


def _tuple_literal(branches: tuple[tuple[str, ...], ...]) -> str:
    inner = [
        f"({py_string(b[0])},)" if len(b) == 1 else f"({', '.join(py_string(n) for n in b)})"
        for b in branches
    ]
    return f"({', '.join(inner)})"


def render_classes(classes: list[ClassPlan], root: str) -> list[str]:
    """The class definitions, each base before its subclasses, on ``root``."""
    body: list[str] = []
    for cls in _ordered(classes):
        body += ["", *_class(cls, root), "", ""]
    return body


def _ordered(classes: list[ClassPlan]) -> list[ClassPlan]:
    done: set[int] = set()
    out: list[ClassPlan] = []

    def visit(plan: ClassPlan) -> None:
        if id(plan) in done:
            return
        done.add(id(plan))
        if plan.base is not None:
            visit(plan.base)
        out.append(plan)

    for plan in classes:
        visit(plan)
    return out


def _import_lines(module: str, names: list[str]) -> list[str]:
    """``from module import a, b`` as ruff's isort writes it: one line, or one name a line."""
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= LINE:
        return [line]
    return [f"from {module} import (", *(f"    {name}," for name in names), ")"]


def render_models(plan: ModelPlan, title: str) -> str:
    body: list[str] = []
    for name, expression in plan.aliases.values():
        body += [*_wrap_expression(f"{name} = ", expression, "", ""), ""]
    body += render_classes(plan.classes, "WsdlModel")
    names = plan.imports.names
    choices = any(cls.choices for cls in plan.classes)
    sensitive = any(f.sensitive for cls in plan.classes for f in cls.fields)
    wanted = {*names, *(["Self"] if choices else []), *(["Annotated"] if sensitive else [])}
    dt = sorted(n for n in ("date", "datetime", "time") if n in names)
    typing = sorted(n for n in ("Annotated", "Any", "Literal", "Self") if n in wanted)
    std = [f"from datetime import {', '.join(dt)}"] if dt else []
    std += ["from decimal import Decimal"] if "Decimal" in names else []
    std += [f"from typing import {', '.join(typing)}"] if typing else []
    runtime = [  # pydantic's names through our runtime: see adapters.codegen.runtime
        *(["BeforeValidator"] if "BeforeValidator" in names else []),
        "ConfigDict",
        "Field",
        *(["check_choice"] if choices else []),
        *(["model_validator"] if choices else []),
        *(["xml_text"] if "xml_text" in names else []),
    ]
    head = [
        *docstring(f"Pydantic models generated from the WSDL of {title}.", ""),
        "",
        "# Generated by `lastmile adapter new`; regenerate rather than edit by hand.",
        "from __future__ import annotations",
        "",
        *std,
        *([""] if std else []),
        *_import_lines("adapters.codegen.runtime", runtime),
        f"from schemas.common import CanonicalModel{', Sensitive' if sensitive else ''}",
        "",
        "",
        "class WsdlModel(CanonicalModel):",
        '    """Strict and closed like every canonical model; fields go by XSD name or alias."""',
        "",
        "    model_config = ConfigDict(",
        "        validate_by_name=True,",
        "        validate_by_alias=True,",
        "        serialize_by_alias=True,",
        "        defer_build=True,  # validators built on first use: large WSDLs import fast",
        "    )",
        "",
        "",
    ]
    text = "\n".join(head + body).rstrip() + "\n"
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    return text
