"""Valid, unique Python names for XSD names, whatever the schema calls things.

XSD names may hold dots (``curr11.2``), dashes, leading digits or underscores, Python
keywords (``class``, ``return``) and names pydantic reserves (``model_config``, ``json``);
two XSD names may also fold to the same Python name. Every name the emitters write goes
through here, and the original XSD name is kept as the field's alias.
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata

from pydantic import BaseModel

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_RESERVED_FIELDS = frozenset(dir(BaseModel)) | frozenset(dir(builtins)) | {"l", "O", "I"}


def words(name: str) -> list[str]:
    """``ReadByRecId`` → Read By Rec Id; ``ZBAPI_SALESORDER_CREATE`` → ZBAPI SALESORDER CREATE."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _WORD.findall(ascii_name)


def snake(name: str) -> str:
    return "_".join(w.lower() for w in words(name))


def pascal(name: str) -> str:
    out = ""
    for word in words(name):
        part = word[:1].upper() + (word[1:].lower() if word.isupper() else word[1:])
        out += ("_" + part) if out and part[:1].isdigit() and out[-1:].isdigit() else part
    return out


class Names:
    """Hands out unique names in one scope, with a numeric suffix on collision."""

    def __init__(self, reserved: set[str] | frozenset[str] = frozenset()) -> None:
        self._taken: set[str] = set(reserved)

    def take(self, name: str) -> str:
        candidate, n = name, 2
        while candidate in self._taken:
            candidate = f"{name}{n}" if not name[-1:].isdigit() else f"{name}_{n}"
            n += 1
        self._taken.add(candidate)
        return candidate


def class_name(xsd_name: str, fallback: str = "Model") -> str:
    name = pascal(xsd_name) or fallback
    return f"T{name}" if name[0].isdigit() else name


def field_name(xsd_name: str) -> str:
    name = snake(xsd_name) or "field"
    if name[0].isdigit():
        name = f"f_{name}"
    if name.startswith("model_"):
        return f"xsd_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in _RESERVED_FIELDS:
        name += "_"
    return name


def identifier_words(name: str) -> str:
    """A lower-case name for operation names: ``ReadMultiple`` → ``read_multiple``."""
    name = snake(name) or "operation"
    return f"op_{name}" if name[0].isdigit() else name
